import type { Command } from "commander";
import type { AuditEvent } from "@cleanroom/protocol";
import { formatRecord, formatTable } from "../io.js";
import { jsonArgument } from "../context.js";
import { formatData } from "./app-output.js";
import type { Run } from "./types.js";

/** Table cell width for event data, so that one event stays one readable line. */
const EVENT_DATA_WIDTH = 100;

function writerOf(event: AuditEvent): string {
  return event.writer.kind === "service" ? "service" : `${event.writer.kind} ${event.writer.id.length > 16 ? `${event.writer.id.slice(0, 8)}…` : event.writer.id}`;
}

export function registerGovernanceEventCommands(governance: Command, run: Run): void {
  const event = governance.command("event").description("A contract's audit events (scope governance: the service's record of governance decisions).");

  run(
    event
      .command("list")
      .description("List events: by default only the latest matching one; --all lists every matching event, oldest first.")
      .requiredOption("--contract-id <id>", "contract id")
      .option("--id <id>", "only events with this id (default: any)")
      .option("--scope <scope>", "only events in this scope (e.g. governance)")
      .option("--all", "every matching event since the start of the ledger (following pages)")
      .option("--full", "show each event's data in full in the table (JSON output is always complete)"),
    async (ctx, options: { contractId: string; id?: string; scope?: string; all?: boolean; full?: boolean }) => {
      const client = await ctx.client();
      const query = { ...(options.id !== undefined ? { id: options.id } : {}), ...(options.scope !== undefined ? { scope: options.scope } : {}) };
      const events = options.all ? await client.allEvents(options.contractId, { ...query, fromSeqno: 1 }) : (await client.events(options.contractId, query)).value;
      ctx.printer.value(events, () =>
        formatTable(events, [
          { header: "SEQNO", value: (e) => e.seqno },
          { header: "TIME", value: (e) => e.timestamp_iso },
          { header: "SCOPE", value: (e) => e.scope },
          { header: "ID", value: (e) => e.id },
          { header: "WRITER", value: writerOf },
          { header: "DATA", value: (e) => formatData(e.data, options.full ? undefined : EVENT_DATA_WIDTH) },
        ]),
      );
    },
  );

  run(
    event
      .command("put")
      .description("Append an event to a contract's audit log as the selected identity.")
      .requiredOption("--contract-id <id>", "contract id")
      .requiredOption("--data <json>", "the event data (JSON or @file)")
      .option("--id <id>", "event id (default: the contract id)")
      .option("--scope <scope>", "event scope (default: none)"),
    async (ctx, options: { contractId: string; data: string; id?: string; scope?: string }) => {
      const data = jsonArgument(ctx, options.data, "--data");
      const { transactionId } = await (await ctx.client()).putEvent(options.contractId, data, {
        ...(options.id !== undefined ? { id: options.id } : {}),
        ...(options.scope !== undefined ? { scope: options.scope } : {}),
      });
      const result = { contractId: options.contractId, id: options.id ?? options.contractId, scope: options.scope ?? "", transactionId: transactionId ?? "" };
      ctx.printer.note(`event recorded (transaction ${transactionId ?? "?"})`);
      ctx.printer.value(result, () => formatRecord(result));
    },
  );
}
