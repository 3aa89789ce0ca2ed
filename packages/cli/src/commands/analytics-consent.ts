import type { Command } from "commander";
import type { RuntimeOptionAction, RuntimeOptionStatus } from "@cleanroom/protocol";
import { formatRecord } from "../io.js";
import type { CommandContext } from "../context.js";
import { resourceId } from "../analytics/arguments.js";
import { guarded, UsageError } from "../analytics/errors.js";
import { runtimeOptionRecord } from "./app-output.js";
import { memberLabels } from "./member-names.js";
import type { Run } from "./types.js";

interface ConsentOptions {
  contractId: string;
  documentId?: string;
  contract?: boolean;
}

/** What consent is about: a document (its approvers' switch) or the contract (its members'). */
function target(options: ConsentOptions): { contractId: string; documentId?: string; text: string } {
  if ((options.documentId === undefined) === (options.contract !== true)) throw new UsageError("give exactly one of --document-id <id> (a dataset, sink or query) and --contract");
  const contractId = resourceId(options.contractId, "--contract-id");
  if (options.documentId === undefined) return { contractId, text: `contract ${contractId}` };
  return { contractId, documentId: resourceId(options.documentId, "--document-id"), text: `document ${options.documentId} of contract ${contractId}` };
}

async function printStatus(ctx: CommandContext, about: string, status: RuntimeOptionStatus): Promise<void> {
  if (ctx.printer.format === "json") return ctx.printer.value(status);
  const label = await memberLabels(await ctx.client());
  ctx.printer.value(status, () => formatRecord({ target: about, ...runtimeOptionRecord("execution", status, label) }));
}

function withTarget(command: Command): Command {
  return command
    .requiredOption("--contract-id <id>", "contract id")
    .option("--document-id <id>", "a dataset, sink or query document: your switch as one of its approvers")
    .option("--contract", "the contract itself: your switch as a member");
}

function setCommand(consent: Command, run: Run, action: RuntimeOptionAction): void {
  run(
    withTarget(
      consent
        .command(action)
        .description(
          action === "disable"
            ? "Stop runs at once: disable execution of a document (as its approver) or of the contract (as a member). Nothing runs while anyone has it disabled."
            : "Enable execution again (your own switch: it runs only once nobody has it disabled).",
        ),
    ),
    guarded(async (ctx: CommandContext, options: ConsentOptions) => {
      const about = target(options);
      const client = await ctx.client();
      const { value } =
        about.documentId === undefined
          ? await client.setContractRuntimeOption(about.contractId, "execution", action)
          : await client.setUserDocumentRuntimeOption(about.contractId, about.documentId, "execution", action);
      ctx.printer.note(`execution ${action}d for ${about.text} by this profile; it is now ${value.status}`);
      await printStatus(ctx, about.text, value);
    }),
  );
}

export function registerConsentCommands(program: Command, run: Run): void {
  const consent = program.command("consent").description("Execution consent: any approver of a document, or any member for the contract, can stop runs at any time.");
  setCommand(consent, run, "disable");
  setCommand(consent, run, "enable");
  run(
    withTarget(consent.command("show").description("Show whether execution is enabled, and if not why and who disabled it.")),
    guarded(async (ctx: CommandContext, options: ConsentOptions) => {
      const about = target(options);
      const client = await ctx.client();
      const status =
        about.documentId === undefined
          ? await client.contractRuntimeOption(about.contractId, "execution")
          : await client.userDocumentRuntimeOption(about.contractId, about.documentId, "execution");
      await printStatus(ctx, about.text, status);
    }),
  );
}
