import type { Command } from "commander";
import type { AgentClient } from "@cleanroom/agent-client";
import { ANALYTICS_TYPE_LABEL, QuerySpecificationSchema, SegmentSchema, type ApprovalAction, type QuerySpecification, type Segment, type UserDocument } from "@cleanroom/protocol";
import { formatRecord, formatTable } from "../io.js";
import { jsonArgument, type CommandContext } from "../context.js";
import { collect, dateRange, minRows, postFilter, queryInput, resourceId, runId } from "../analytics/arguments.js";
import { analyticsDocument, analyticsDocuments, partyLabel, specOf } from "../analytics/documents.js";
import { describeIssues, guarded, UsageError } from "../analytics/errors.js";
import { formatPlan, formatRunHistory, formatRunStatus, RunProgress, submittedRecord } from "../analytics/run-output.js";
import { approverStatuses, formatApprovers } from "./app-output.js";
import { memberLabels } from "./member-names.js";
import type { Run } from "./types.js";

export interface QueryCreateOptions {
  contractId: string;
  id: string;
  input?: string[];
  sink: string;
  sql?: string;
  minRows?: string[];
  postFilter?: string[];
  segments?: string;
}

/** The flags of a query's fields, so that schema errors name what the user typed. */
const QUERY_FLAGS: ReadonlyArray<[string, string]> = [
  ["inputs", "--input"],
  ["output", "--sink"],
  ["segments", "--sql/--segments"],
];

/** Builds the query document's data from the flags and checks it with the protocol's schema. */
export function querySpecification(ctx: CommandContext, options: QueryCreateOptions): QuerySpecification {
  const inputs = options.input ?? [];
  const preConditions = options.minRows ?? [];
  const postFilters = options.postFilter ?? [];
  if (inputs.length === 0) throw new UsageError("give at least one --input <dataset document id>:<view name>");
  if ((options.sql === undefined) === (options.segments === undefined)) throw new UsageError('give exactly one of --sql "<statement>" (one segment) and --segments @segments.json');
  let segments: unknown;
  if (options.sql !== undefined) {
    const segment: Segment = {
      executionSequence: 1,
      statement: options.sql,
      ...(preConditions.length > 0 ? { preConditions: preConditions.map(minRows) } : {}),
      ...(postFilters.length > 0 ? { postFilters: postFilters.map(postFilter) } : {}),
    };
    segments = [segment];
  } else {
    if (preConditions.length > 0 || postFilters.length > 0) throw new UsageError("--min-rows and --post-filter go with --sql; put them in the segments of --segments");
    try {
      segments = jsonArgument(ctx, options.segments as string, "--segments");
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (!Array.isArray(segments)) throw new UsageError('--segments must be a JSON array of {"executionSequence", "statement", "preConditions"?, "postFilters"?}');
    segments.forEach((segment: unknown, index) => {
      const parsed = SegmentSchema.safeParse(segment);
      if (!parsed.success) throw new UsageError(`--segments[${index}]: ${describeIssues(parsed.error.issues)}`);
    });
  }
  const parsed = QuerySpecificationSchema.safeParse({ inputs: inputs.map(queryInput), output: { sink: options.sink }, segments });
  if (!parsed.success) throw new UsageError(`invalid query: ${describeIssues(parsed.error.issues, QUERY_FLAGS)}`);
  return parsed.data;
}

/** Segments for people: one block per segment, in execution order. */
export function formatSegments(segments: readonly Segment[]): string {
  return [...segments]
    .sort((a, b) => a.executionSequence - b.executionSequence)
    .map((segment, index) => {
      const lines = [`  ${index + 1}. [sequence ${segment.executionSequence}] ${segment.statement.trim().split("\n").join("\n       ")}`];
      if (segment.preConditions?.length) lines.push(`     pre-conditions: ${segment.preConditions.map((p) => `${p.viewName} has >= ${p.minRowCount} rows`).join(", ")}`);
      if (segment.postFilters?.length) lines.push(`     post-filters: keep rows with ${segment.postFilters.map((f) => `${f.columnName} >= ${f.value}`).join(", ")}`);
      return lines.join("\n");
    })
    .join("\n");
}

/** A query as record fields: each approver with its action or pending, inputs with their bound versions. */
export function queryRecord(document: UserDocument, spec: QuerySpecification, label: (id: string) => string): Record<string, unknown> {
  return {
    id: document.id,
    contractId: document.contractId,
    state: document.state,
    version: document.version,
    author: partyLabel(document.proposerId, document.proposerIdType, label),
    approvers: formatApprovers(document, label),
    inputs: spec.inputs.map((input) => `${input.dataset} as ${input.view}${input.version ? ` (version ${input.version})` : ""}`).join(", "),
    output: `sink ${spec.output.sink}${spec.output.version ? ` (version ${spec.output.version})` : ""}`,
  };
}

export function formatQuery(document: UserDocument, spec: QuerySpecification, label: (id: string) => string): string {
  return `${formatRecord(queryRecord(document, spec, label))}segments:\n${formatSegments(spec.segments)}\n`;
}

/** `label (member), …` of the approvers who have not acted yet. */
function pendingText(document: UserDocument, label: (id: string) => string): string {
  return document.pendingApprovers.map((approver) => partyLabel(approver.approverId, approver.approverIdType, label)).join(", ") || "none";
}

/** Checks that the profile's agent runs queries of this contract (an agent serves one contract). */
async function agentFor(ctx: CommandContext, contractId: string): Promise<AgentClient> {
  const agent = await ctx.agentClient();
  const info = await agent.info();
  if (info.contractId !== contractId) {
    throw new Error(`The agent of profile '${ctx.profile().name}' (${ctx.profile().profile.agentUrl ?? ""}) runs queries of contract ${info.contractId}, not ${contractId}.`);
  }
  return agent;
}

function approvalCommand(query: Command, run: Run, action: ApprovalAction): void {
  run(
    query
      .command(action === "accept" ? "approve" : "reject")
      .description(
        action === "accept"
          ? "Approve the query as the selected profile (an owner of one of its datasets or of its sink). Accepted once every owner approved."
          : "Reject the query as the selected profile (an owner of one of its datasets or of its sink). A rejected query never runs.",
      )
      .requiredOption("--contract-id <id>", "contract id")
      .requiredOption("--id <id>", "the query's document id")
      .option("--version <version>", "the version you reviewed (default: the current one; from `query show`)"),
    guarded(async (ctx: CommandContext, options: { contractId: string; id: string; version?: string }) => {
      const client = await ctx.client();
      const contractId = resourceId(options.contractId, "--contract-id");
      const { document: current } = await analyticsDocument(client, contractId, resourceId(options.id, "--id"), "query");
      const version = options.version ?? current.version;
      const { value } = await client.approveUserDocument(contractId, current.id, version, action);
      const label = await memberLabels(client);
      ctx.printer.note(
        `${action === "accept" ? "approved" : "rejected"} query ${value.id} at version ${version}: it is ${value.state}${value.state === "Proposed" ? `; still pending: ${pendingText(value, label)}` : ""}`,
      );
      ctx.printer.value(value, () => formatQuery(value, specOf(value, "query"), label));
    }),
  );
}

function registerRunCommands(query: Command, run: Run): void {
  run(
    query
      .command("run")
      .description(
        "Run an accepted query on the profile's agent. Follows the run (its events on stderr) until it completes, then prints its status; exit code 1 if it failed.",
      )
      .requiredOption("--contract-id <id>", "contract id")
      .requiredOption("--id <id>", "the query's document id")
      .option("--run-id <id>", "the run's id (default: a fresh one); re-sending one returns that run")
      .option("--start-date <date>", "first date partition to read (YYYY-MM-DD), with --end-date")
      .option("--end-date <date>", "last date partition to read (YYYY-MM-DD), with --start-date")
      .option("--dry-run", "check everything and show what the run would read and write, without running it")
      .option("--no-wait", "return once the run is submitted"),
    guarded(async (ctx: CommandContext, options: { contractId: string; id: string; runId?: string; startDate?: string; endDate?: string; dryRun?: boolean; wait: boolean }) => {
      const contractId = resourceId(options.contractId, "--contract-id");
      const queryId = resourceId(options.id, "--id");
      const id = options.runId === undefined ? undefined : runId(options.runId, "--run-id");
      const range = dateRange(options.startDate, options.endDate);
      const agent = await agentFor(ctx, contractId);
      const answer = await agent.run(queryId, { ...(id !== undefined ? { runId: id } : {}), ...(range ?? {}), ...(options.dryRun ? { dryRun: true } : {}) });
      if (options.dryRun) {
        const plan = "plan" in answer ? answer.plan : undefined;
        return ctx.printer.value(answer, () => (plan ? formatPlan(plan) : formatRecord({ dryRun: "every check passed; nothing was run", query: answer.queryId })));
      }
      if (!options.wait) {
        ctx.printer.note(`run ${answer.runId} of query ${queryId} submitted; follow it with: cleanroom query status --job-id ${answer.id}`);
        return ctx.printer.value(answer, () => ("events" in answer ? formatRunStatus(answer) : formatRecord(submittedRecord(answer))));
      }
      const progress = new RunProgress();
      const status = await agent.waitForRun(answer.id, { onStatus: (polled) => progress.lines(polled).forEach((line) => ctx.io.stderr(`${line}\n`)) });
      ctx.printer.value(status, () => formatRunStatus(status, false));
      if (status.state === "FAILED") {
        ctx.io.stderr(`error: run ${status.runId} FAILED: ${status.error ? `${status.error.code}: ${status.error.message}` : "no reason given"}\n`);
        ctx.exitCode = 1;
      }
    }),
  );

  run(
    query
      .command("status")
      .description("Show a run: state, timings, rows, where its output is, error, and every event.")
      .option("--job-id <id>", "the run's job id (= its run id)")
      .option("--run-id <id>", "same as --job-id"),
    guarded(async (ctx: CommandContext, options: { jobId?: string; runId?: string }) => {
      if ((options.jobId === undefined) === (options.runId === undefined)) throw new UsageError("give the run with --job-id <id> (or --run-id <id>)");
      const jobId = runId((options.jobId ?? options.runId) as string, options.jobId !== undefined ? "--job-id" : "--run-id");
      const status = await (await ctx.agentClient()).status(jobId);
      ctx.printer.value(status, () => formatRunStatus(status));
    }),
  );

  run(
    query
      .command("runs")
      .description("A query's run history on the profile's agent: the latest runs, newest first, and a summary of all.")
      .requiredOption("--contract-id <id>", "contract id")
      .requiredOption("--id <id>", "the query's document id"),
    guarded(async (ctx: CommandContext, options: { contractId: string; id: string }) => {
      const agent = await agentFor(ctx, resourceId(options.contractId, "--contract-id"));
      const history = await agent.runs(resourceId(options.id, "--id"));
      ctx.printer.value(history, () => formatRunHistory(history));
    }),
  );
}

export function registerQueryCommands(program: Command, run: Run): void {
  const query = program.command("query").description("Queries over the contract's datasets into a sink: created by anyone, approved by the owners of what they read and write, run by the agent.");

  run(
    query
      .command("create")
      .description(
        "Create a query document (type: query). The service makes the owners of its datasets and sink its approvers; it is not approved here: each of them runs `query approve`.",
      )
      .requiredOption("--contract-id <id>", "contract id")
      .requiredOption("--id <id>", "the query's document id")
      .option("--input <dataset:view>", "an input: a dataset's document id and the view name the SQL uses (repeatable)", collect)
      .requiredOption("--sink <id>", "the sink's document id, where the result is written (the global --output is the output format)")
      .option("--sql <statement>", "the statement of a one-segment query; its result is the output")
      .option("--min-rows <view:rows>", "with --sql: run only if the view has at least this many rows (repeatable)", collect)
      .option("--post-filter <column:min>", "with --sql: keep result rows whose column is at least min (repeatable)", collect)
      .option("--segments <json>", 'several segments instead of --sql: [{"executionSequence", "statement", "preConditions"?, "postFilters"?}] (JSON or @file)'),
    guarded(async (ctx: CommandContext, options: QueryCreateOptions) => {
      const contractId = resourceId(options.contractId, "--contract-id");
      const id = resourceId(options.id, "--id");
      const spec = querySpecification(ctx, options);
      const client = await ctx.client();
      const { value } = await client.putUserDocument(contractId, id, { data: spec, labels: { [ANALYTICS_TYPE_LABEL]: "query" } });
      const document = await client.userDocument(contractId, id);
      const label = await memberLabels(client);
      ctx.printer.note(
        `query ${id} created at version ${value.version} (${document.state}); it must be approved by: ${pendingText(document, label)}` +
          `\neach of them runs: cleanroom query approve --contract-id ${contractId} --id ${id} --version ${document.version}`,
      );
      ctx.printer.value(document, () => formatQuery(document, specOf(document, "query"), label));
    }),
  );

  run(
    query
      .command("show")
      .description("Show a query: state, each approver's action or pending, inputs and output with their bound versions, segments.")
      .requiredOption("--contract-id <id>", "contract id")
      .requiredOption("--id <id>", "the query's document id"),
    guarded(async (ctx: CommandContext, options: { contractId: string; id: string }) => {
      const client = await ctx.client();
      const { document, spec } = await analyticsDocument(client, resourceId(options.contractId, "--contract-id"), resourceId(options.id, "--id"), "query");
      if (ctx.printer.format === "json") return ctx.printer.value(document);
      const label = await memberLabels(client);
      ctx.printer.value(document, () => formatQuery(document, spec, label));
    }),
  );

  run(
    query.command("list").description("List the contract's queries with their approvals.").requiredOption("--contract-id <id>", "contract id"),
    guarded(async (ctx: CommandContext, options: { contractId: string }) => {
      const client = await ctx.client();
      const documents = await analyticsDocuments(client, resourceId(options.contractId, "--contract-id"), "query");
      if (ctx.printer.format === "json") return ctx.printer.value(documents);
      const label = await memberLabels(client);
      const rows = documents.map((document) => ({ document, spec: specOf(document, "query") }));
      ctx.printer.value(documents, () =>
        rows.length === 0
          ? `no queries in contract ${options.contractId}\n`
          : formatTable(rows, [
              { header: "ID", value: (r) => r.document.id },
              { header: "STATE", value: (r) => r.document.state },
              { header: "INPUTS", value: (r) => r.spec.inputs.map((input) => input.dataset).join(", ") },
              { header: "SINK", value: (r) => r.spec.output.sink },
              { header: "APPROVED", value: (r) => `${approverStatuses(r.document).filter((s) => s.action.startsWith("accepted")).length}/${r.document.approvers.length}` },
              { header: "PENDING", value: (r) => (r.document.state === "Rejected" ? "" : pendingText(r.document, label)) },
            ]),
      );
    }),
  );

  approvalCommand(query, run, "accept");
  approvalCommand(query, run, "reject");
  registerRunCommands(query, run);
}
