import type { Command } from "commander";
import type { AuditEvent } from "@cleanroom/protocol";
import { formatTable } from "../io.js";
import type { CommandContext } from "../context.js";
import { resourceId, runId } from "../analytics/arguments.js";
import { guarded } from "../analytics/errors.js";
import { formatData } from "./app-output.js";
import { memberLabels } from "./member-names.js";
import type { Run } from "./types.js";

/** Longest value shown per detail of a governance event. */
const DETAIL_WIDTH = 80;

/** Member and user ids, proposal ids and host data are long hex: the first 8 digits identify them in a timeline. */
function shortenHex(text: string): string {
  return text.replace(/[0-9a-f]{40,}/g, (hex) => `${hex.slice(0, 8)}…`);
}

/** A governance event's detail: ids as member names, votes as `name: accept`, long hex shortened. */
function detail(key: string, value: unknown, label: (id: string) => string): string {
  if (typeof value === "string" && /^(proposerId|memberId|approverId)$/.test(key)) return label(value);
  // Final votes: {"<member id>": true|false}.
  const votes = record(value);
  if (key === "finalVotes" && votes !== undefined && Object.values(votes).every((vote) => typeof vote === "boolean")) {
    return Object.entries(votes)
      .map(([id, vote]) => `${label(id)}: ${vote ? "accept" : "reject"}`)
      .join(", ");
  }
  return shortenHex(formatData(value, DETAIL_WIDTH));
}

function short(id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…` : id;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Who wrote an event: the service (governance decisions), a clean room (its audit source), or a member or user. */
export function auditSource(event: AuditEvent, label: (id: string) => string): string {
  const writer = event.writer;
  const source = record(event.data)?.source;
  if (writer.kind === "service") return event.scope || "service";
  if (writer.kind === "cleanroom") return `clean room${typeof source === "string" ? ` ${source}` : ` ${short(writer.id)}`}`;
  return `${writer.kind} ${writer.kind === "member" ? label(writer.id) : short(writer.id)}`;
}

/**
 * One line per event: a clean room's `{source, message}` as its message; a governance decision as its type, who
 * acted, and its details (`userdocument.approved by publisher (…): documentId=impressions version=2.14`).
 */
export function auditMessage(event: AuditEvent, label: (id: string) => string): string {
  const data = record(event.data);
  if (data === undefined) return formatData(event.data, 200);
  if (typeof data.message === "string") return data.message;
  if (typeof data.type !== "string") return formatData(event.data, 200);
  const { type, contractId: _contractId, actor, ...details } = data;
  const by = record(actor);
  const who =
    by === undefined
      ? ""
      : by.kind === "cleanroom"
        ? ` by clean room ${short(typeof by.id === "string" ? by.id : "")}`
        : ` by ${by.kind === "member" ? label(String(by.id)) : `${String(by.kind)} ${short(String(by.id))}`}`;
  const parts = Object.entries(details).map(([key, value]) => `${key}=${detail(key, value, label)}`);
  return `${type}${who}${parts.length > 0 ? `: ${parts.join(" ")}` : ""}`;
}

export function registerAuditCommands(program: Command, run: Run): void {
  const audit = program.command("audit").description("A contract's audit log: every governance decision and every clean-room event.");
  run(
    audit
      .command("list")
      .description("The contract's audit timeline, oldest first: governance decisions (approvals, consent, secrets, key releases) and the clean room's run events.")
      .requiredOption("--contract-id <id>", "contract id")
      .option("--run-id <id>", "only events that mention this run (its job id)")
      .option("--scope <scope>", "only events of this scope (governance: the service's decisions)"),
    guarded(async (ctx: CommandContext, options: { contractId: string; runId?: string; scope?: string }) => {
      const contractId = resourceId(options.contractId, "--contract-id");
      const run = options.runId === undefined ? undefined : runId(options.runId, "--run-id");
      const client = await ctx.client();
      const all = await client.allEvents(contractId, options.scope !== undefined ? { scope: options.scope } : {});
      const events = run === undefined ? all : all.filter((event) => JSON.stringify(event.data).includes(run));
      if (ctx.printer.format === "json") return ctx.printer.value(events);
      const label = await memberLabels(client);
      ctx.printer.value(events, () =>
        events.length === 0
          ? `no events${run !== undefined ? ` mention run ${run}` : ""} in contract ${contractId}'s audit log\n`
          : formatTable(events, [
              { header: "TIME", value: (e) => e.timestamp_iso },
              { header: "SOURCE", value: (e) => auditSource(e, label) },
              { header: "MESSAGE", value: (e) => auditMessage(e, label) },
            ]),
      );
    }),
  );
}
