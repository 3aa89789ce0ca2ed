import { Command, CommanderError, Option } from "commander";
import { registerAuditCommands } from "./commands/analytics-audit.js";
import { registerConsentCommands } from "./commands/analytics-consent.js";
import { registerDatasetCommands } from "./commands/analytics-dataset.js";
import { registerQueryCommands } from "./commands/analytics-query.js";
import { registerResultsCommands } from "./commands/analytics-results.js";
import { registerSinkCommands } from "./commands/analytics-sink.js";
import { registerAttestationCommands } from "./commands/attestation.js";
import { registerGovernanceContractCommands } from "./commands/governance-contract.js";
import { registerGovernanceEventCommands } from "./commands/governance-event.js";
import { registerGovernanceMemberCommands } from "./commands/governance-member.js";
import { registerGovernanceOidcIssuerCommands } from "./commands/governance-oidc-issuer.js";
import { registerGovernanceProposalCommands } from "./commands/governance-proposal.js";
import { registerGovernanceServiceCommands } from "./commands/governance-service.js";
import { registerGovernanceUserDocumentCommands } from "./commands/governance-user-document.js";
import { registerGovernanceUserCommands } from "./commands/governance-user.js";
import { registerLedgerCommands } from "./commands/ledger.js";
import { registerProfileCommands } from "./commands/profile.js";
import { registerReceiptCommands } from "./commands/receipt.js";
import { registerDemoCommand, registerStackCommands } from "./commands/stack.js";
import type { Run } from "./commands/types.js";
import { CommandContext } from "./context.js";
import type { CliIo } from "./io.js";

export const CLI_VERSION = "0.1.0";

function describeError(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string; status?: number };
  if (e.name === "ServiceError") return `${e.code ?? "Error"} (HTTP ${e.status ?? "?"}): ${e.message ?? ""}`;
  if (e.name === "ClientCheckError") return `${e.code ?? "Error"}: ${e.message ?? ""}`;
  if (e.name === "ZodError") return `invalid input: ${e.message ?? ""}`;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ECONNREFUSED") return `cannot reach the service (${e.message ?? ""}); is it running?`;
  if (code === "EEXIST") return `${e.message ?? ""} (refusing to overwrite)`;
  return e.message ?? String(error);
}

/** The command tree; `onExitCode` receives each command's verdict exit code. */
export function createProgram(io: CliIo, onExitCode: (code: number) => void = () => undefined): Command {
  const program = new Command("cleanroom")
    .description("Cleanroom: confidential data clean rooms with verifiable governance.")
    .version(CLI_VERSION)
    .addOption(new Option("--profile <name>", "profile to act as (default: $CLEANROOM_PROFILE or the current profile)"))
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"))
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();

  const run: Run = (command, action) =>
    command.action(async (...args: unknown[]) => {
      const ctx = new CommandContext(io, args[args.length - 1] as Command);
      try {
        await (action as (ctx: CommandContext, ...rest: unknown[]) => Promise<void> | void)(ctx, ...args.slice(0, -1));
        onExitCode(ctx.exitCode);
      } finally {
        ctx.close();
      }
    });

  registerStackCommands(program, run);
  registerDemoCommand(program, run);
  registerProfileCommands(program, run);
  const governance = program.command("governance").description("Consortium governance: the service, members, proposals.");
  registerGovernanceServiceCommands(governance, run);
  registerGovernanceMemberCommands(governance, run);
  registerGovernanceProposalCommands(governance, run);
  registerGovernanceContractCommands(governance, run);
  registerGovernanceUserCommands(governance, run);
  registerGovernanceUserDocumentCommands(governance, run);
  registerGovernanceEventCommands(governance, run);
  registerGovernanceOidcIssuerCommands(governance, run);
  registerDatasetCommands(program, run);
  registerSinkCommands(program, run);
  registerQueryCommands(program, run);
  registerConsentCommands(program, run);
  registerResultsCommands(program, run);
  registerAuditCommands(program, run);
  registerLedgerCommands(program, run);
  registerReceiptCommands(program, run);
  registerAttestationCommands(program, run);
  return program;
}

/** Options of the program itself that take a value (so their value is not mistaken for a command). */
const PROGRAM_OPTIONS_WITH_VALUE = new Set(["--profile", "-o", "--output"]);

/**
 * Commander recognises the program's options anywhere on the command line, so `--version 2.14` after a command
 * (`contract create|propose`, `user-document create|approve|reject`) would print the CLI's version instead.
 * After the first command word, `--version <value>` is rewritten to `--version=<value>`, which the program's
 * flag does not take and the command's own `--version <version>` option does. `cleanroom --version` is unchanged.
 */
export function commandVersionArguments(argv: readonly string[]): string[] {
  const out: string[] = [];
  let inCommand = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    if (!inCommand) {
      out.push(arg);
      if (PROGRAM_OPTIONS_WITH_VALUE.has(arg) && next !== undefined) {
        out.push(next);
        i++;
      } else if (!arg.startsWith("-")) {
        inCommand = true;
      }
    } else if (arg === "--version" && next !== undefined && !next.startsWith("-")) {
      out.push(`--version=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/**
 * Runs the CLI with the given arguments (without `node` and the script) and I/O. Returns the exit code:
 * 0 success, 1 a failed operation or verification, 2 a usage error.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const program = createProgram(io, (code) => (exitCode = Math.max(exitCode, code)));
  try {
    await program.parseAsync(commandVersionArguments(argv), { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help" ? 0 : 2;
    }
    io.stderr(`error: ${describeError(error)}\n`);
    return 1;
  }
}
