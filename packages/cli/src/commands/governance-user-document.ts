import { Option, type Command } from "commander";
import {
  ApproverSchema,
  LabelsSchema,
  parseLabelSelector,
  RuntimeOptionActionSchema,
  UserDocumentRuntimeOptionSchema,
  type ApprovalAction,
  type Approver,
  type Labels,
  type RuntimeOptionAction,
  type UserDocument,
  type UserDocumentRuntimeOption,
} from "@cleanroom/protocol";
import { formatRecord, formatTable } from "../io.js";
import { jsonArgument, type CommandContext } from "../context.js";
import { formatApprovers, formatData, formatLabels, runtimeOptionRecord } from "./app-output.js";
import { memberLabels } from "./member-names.js";
import type { Run } from "./types.js";

const CONTRACT_ID = ["--contract-id <id>", "contract id"] as const;
const ID = ["--id <id>", "document id"] as const;

function issues(error: { issues: Array<{ path: PropertyKey[]; message: string }> }): string {
  return error.issues.map((i) => `${i.path.map(String).join(".") || "value"}: ${i.message}`).join("; ");
}

/**
 * `--approvers`: a list of `{"approverId", "approverIdType": "member"|"user"}`; the reference CLI's
 * `{"id", "type"}` form is accepted too.
 */
export function parseApprovers(value: unknown): Approver[] {
  if (!Array.isArray(value)) throw new Error('--approvers must be a JSON array of {"approverId", "approverIdType": "member"|"user"}.');
  return value.map((entry: unknown, index) => {
    const candidate =
      typeof entry === "object" && entry !== null && "id" in entry && !("approverId" in entry)
        ? { approverId: entry.id, approverIdType: (entry as { type?: unknown }).type }
        : entry;
    const parsed = ApproverSchema.safeParse(candidate);
    if (!parsed.success) throw new Error(`--approvers[${index}] is invalid: ${issues(parsed.error)}.`);
    return parsed.data;
  });
}

/** `--labels`: a JSON object of label names to values. */
export function parseLabels(value: unknown): Labels {
  const parsed = LabelsSchema.safeParse(value);
  if (!parsed.success) throw new Error(`--labels must be a JSON object of names to values: ${issues(parsed.error)}.`);
  return parsed.data;
}

/** A user document as record fields: each approver with its action or "pending". */
export function userDocumentRecord(document: UserDocument, label: (id: string) => string): Record<string, unknown> {
  return {
    id: document.id,
    contractId: document.contractId,
    state: document.state,
    version: document.version,
    proposer: `${document.proposerIdType === "member" ? label(document.proposerId) : document.proposerId} (${document.proposerIdType})`,
    labels: formatLabels(document.labels) || "none",
    approvers: formatApprovers(document, label),
    data: formatData(document.data),
  };
}

async function printDocument(ctx: CommandContext, document: UserDocument, label?: (id: string) => string): Promise<void> {
  if (ctx.printer.format === "json") return ctx.printer.value(document);
  const names = label ?? (await memberLabels(await ctx.client()));
  ctx.printer.value(document, () => formatRecord(userDocumentRecord(document, names)));
}

function approvalCommand(documents: Command, run: Run, action: ApprovalAction): void {
  run(
    documents
      .command(action === "accept" ? "approve" : "reject")
      .description(
        action === "accept"
          ? "Accept a version of the document as the selected identity (one of its approvers). All approvers accepting makes it Accepted."
          : "Reject a version of the document as the selected identity (one of its approvers). A rejected document stays Rejected.",
      )
      .requiredOption(...CONTRACT_ID)
      .requiredOption(...ID)
      .requiredOption("--version <version>", "the version acted on (from `user-document show`)"),
    async (ctx, options: { contractId: string; id: string; version: string }) => {
      const client = await ctx.client();
      const { value, transactionId } = await client.approveUserDocument(options.contractId, options.id, options.version, action);
      ctx.printer.note(`${action === "accept" ? "accepted" : "rejected"} document ${options.id} at ${options.version}; it is ${value.state} (transaction ${transactionId ?? "?"})`);
      await printDocument(ctx, value);
    },
  );
}

function registerRuntimeOptionCommands(documents: Command, run: Run): void {
  const runtimeOption = documents.command("runtime-option").description("An accepted document's runtime options (execution, telemetry): per-approver consent.");
  const option = () => new Option("--option <option>", "runtime option").choices(UserDocumentRuntimeOptionSchema.options).makeOptionMandatory();

  run(
    runtimeOption.command("get").description("Show whether a runtime option is enabled, and why not.").requiredOption(...CONTRACT_ID).requiredOption(...ID).addOption(option()),
    async (ctx, options: { contractId: string; id: string; option: UserDocumentRuntimeOption }) => {
      const status = await (await ctx.client()).userDocumentRuntimeOption(options.contractId, options.id, options.option);
      ctx.printer.value(status, () => formatRecord(runtimeOptionRecord(options.option, status)));
    },
  );

  run(
    runtimeOption
      .command("set")
      .description("Enable or disable a runtime option as the selected approver (effective only while no approver has it disabled).")
      .requiredOption(...CONTRACT_ID)
      .requiredOption(...ID)
      .addOption(option())
      .addOption(new Option("--action <action>", "enable or disable").choices(RuntimeOptionActionSchema.options).makeOptionMandatory()),
    async (ctx, options: { contractId: string; id: string; option: UserDocumentRuntimeOption; action: RuntimeOptionAction }) => {
      const client = await ctx.client();
      const { value, transactionId } = await client.setUserDocumentRuntimeOption(options.contractId, options.id, options.option, options.action);
      ctx.printer.note(`${options.option} ${options.action}d for document ${options.id} by this approver; now ${value.status} (transaction ${transactionId ?? "?"})`);
      ctx.printer.value(value, () => formatRecord(runtimeOptionRecord(options.option, value)));
    },
  );
}

interface CreateOptions {
  contractId: string;
  id: string;
  data: string;
  labels?: string;
  approvers?: string;
  version?: string;
}

export function registerGovernanceUserDocumentCommands(governance: Command, run: Run): void {
  const documents = governance.command("user-document").description("User documents of a contract, accepted by their approvers.");

  run(
    documents
      .command("create")
      .description("Create a user document, or update it while Draft (give its current --version). Approvers default to every counted Active member; for datasets and sinks (label type=dataset|datasink) to the owner, for queries (type=query) to the owners of its inputs and sink, computed by the service.")
      .requiredOption(...CONTRACT_ID)
      .requiredOption(...ID)
      .requiredOption("--data <json>", "the document data (JSON or @file)")
      .option("--labels <json>", 'labels as a JSON object, e.g. {"kind":"dataset"} (or @file)')
      .option("--approvers <json>", 'approvers as JSON: [{"approverId": "<id>", "approverIdType": "member"|"user"}] (or @file)')
      .option("--version <version>", "the current version, to update a Draft document"),
    async (ctx, options: CreateOptions) => {
      const data = jsonArgument(ctx, options.data, "--data");
      const labels = options.labels === undefined ? undefined : parseLabels(jsonArgument(ctx, options.labels, "--labels"));
      const approvers = options.approvers === undefined ? undefined : parseApprovers(jsonArgument(ctx, options.approvers, "--approvers"));
      const client = await ctx.client();
      const { value, transactionId } = await client.putUserDocument(options.contractId, options.id, {
        data,
        ...(labels !== undefined ? { labels } : {}),
        ...(approvers !== undefined ? { approvers } : {}),
        ...(options.version !== undefined ? { version: options.version } : {}),
      });
      ctx.printer.note(`document ${value.id} ${options.version === undefined ? "created" : "updated"} at version ${value.version} (transaction ${transactionId ?? "?"})`);
      ctx.printer.value(value, () => formatRecord(value));
    },
  );

  run(
    documents.command("show").description("Show a user document: state, version, and each approver's action or pending.").requiredOption(...CONTRACT_ID).requiredOption(...ID),
    async (ctx, options: { contractId: string; id: string }) => {
      const client = await ctx.client();
      await printDocument(ctx, await client.userDocument(options.contractId, options.id));
    },
  );

  run(
    documents
      .command("list")
      .description("List a contract's user documents.")
      .requiredOption(...CONTRACT_ID)
      .option("--label-selector <selector>", "only documents with all these labels: name:value,name2:value2"),
    async (ctx, options: { contractId: string; labelSelector?: string }) => {
      if (options.labelSelector !== undefined && parseLabelSelector(options.labelSelector) === undefined) {
        throw new Error(`Invalid --label-selector '${options.labelSelector}': expected name:value pairs separated by commas.`);
      }
      const list = await (await ctx.client()).userDocuments(options.contractId, options.labelSelector);
      ctx.printer.value(list, () =>
        formatTable(list, [
          { header: "DOCUMENT ID", value: (d) => d.id },
          { header: "STATE", value: (d) => d.state },
          { header: "LABELS", value: (d) => formatLabels(d.labels) },
        ]),
      );
    },
  );

  approvalCommand(documents, run, "accept");
  approvalCommand(documents, run, "reject");
  registerRuntimeOptionCommands(documents, run);
}
