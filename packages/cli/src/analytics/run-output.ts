import type { RunEvent, RunHistory, RunPlan, RunStatus, RunSubmitted } from "@cleanroom/protocol";
import { formatRecord, formatTable } from "../io.js";
import { formatBytes } from "./progress.js";

// People-facing output of `query run|status|runs`: pure functions of the agent's answers.

/** An event's message without the catalogue prefix (`Event_1008 | `, `Event_QUERY_FAILED_3004 | `). */
export function eventText(event: Pick<RunEvent, "message">): string {
  return event.message.replace(/^Event_[A-Za-z_]*\d+ \| /, "");
}

/** `HH:MM:SS` of an ISO timestamp (the full text if it is not one). */
function clock(timestamp: string): string {
  const match = /T(\d{2}:\d{2}:\d{2})/.exec(timestamp);
  return match?.[1] ?? timestamp;
}

function seconds(from: string | undefined, to: string | undefined): string | undefined {
  if (from === undefined || to === undefined) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isNaN(ms) ? undefined : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Follows a run while it is polled: returns the lines to show for a new status — a line when the state changes,
 * and each event not shown yet (audit events of the catalogue repeat the operational ones and go to the audit log;
 * the statistics event's numbers are in the final status).
 */
export class RunProgress {
  private readonly seen = new Set<number>();
  private state: string | undefined;

  lines(status: RunStatus): string[] {
    const lines: string[] = [];
    if (status.state !== this.state) {
      this.state = status.state;
      lines.push(`run ${status.runId}: ${status.state}`);
    }
    for (const event of [...status.events].sort((a, b) => a.seq - b.seq)) {
      if (this.seen.has(event.seq)) continue;
      this.seen.add(event.seq);
      if ((event.category === "audit" && event.eventId >= 3000) || event.category === "statistics") continue;
      lines.push(`  ${clock(event.timestamp)}  ${eventText(event)}`);
    }
    return lines;
  }
}

/** A run's status as record fields. */
export function runStatusRecord(status: RunStatus): Record<string, unknown> {
  return {
    runId: status.runId,
    jobId: status.id,
    query: status.queryId,
    contract: status.contractId,
    state: status.state,
    submittedBy: `${status.submittedBy.kind} ${status.submittedBy.id}`,
    submittedAt: status.submittedAt,
    ...(status.startedAt !== undefined ? { startedAt: status.startedAt } : {}),
    ...(status.endedAt !== undefined ? { endedAt: status.endedAt } : {}),
    ...(seconds(status.startedAt, status.endedAt) !== undefined ? { duration: seconds(status.startedAt, status.endedAt) } : {}),
    ...(status.startDate !== undefined ? { dates: `${status.startDate} to ${status.endDate ?? status.startDate}` } : {}),
    ...(status.stats ? { rowsRead: status.stats.rowsRead, rowsWritten: status.stats.rowsWritten } : {}),
    ...(status.output ? { output: `${status.output.location}/${status.output.path}/ (sink ${status.output.sink}; ${status.output.objects.length} object(s))` } : {}),
    ...(status.error ? { error: `${status.error.code}: ${status.error.message}` } : {}),
  };
}

/** A status for people: the record, then its events. */
export function formatRunStatus(status: RunStatus, withEvents = true): string {
  const record = formatRecord(runStatusRecord(status));
  if (!withEvents || status.events.length === 0) return record;
  const events = [...status.events].sort((a, b) => a.seq - b.seq);
  return `${record}\n${formatTable(events, [
    { header: "TIME", value: (e) => e.timestamp },
    { header: "CATEGORY", value: (e) => e.category },
    { header: "EVENT", value: (e) => (e.eventId === 0 ? e.name : `${e.eventId} ${e.name}`) },
    { header: "MESSAGE", value: (e) => eventText(e) },
  ])}`;
}

/** A dry run's plan: what the run would read and where it would write. */
export function formatPlan(plan: RunPlan): string {
  const inputs = formatTable(plan.inputs, [
    { header: "DATASET", value: (i) => i.dataset },
    { header: "VERSION", value: (i) => i.version },
    { header: "VIEW", value: (i) => i.view },
    { header: "LOCATION", value: (i) => i.location },
    { header: "OBJECTS", value: (i) => i.objects },
    { header: "SIZE", value: (i) => formatBytes(i.bytes) },
  ]);
  return `dry run of contract ${plan.contractId}: every check passed; nothing was run\n\n${inputs}\noutput: sink ${plan.output.sink} (version ${plan.output.version}) at ${plan.output.location}/${plan.output.path}/\n`;
}

/** A run's submission as record fields. */
export function submittedRecord(answer: RunSubmitted): Record<string, unknown> {
  return { runId: answer.runId, jobId: answer.id, query: answer.queryId, state: answer.state ?? "SUBMITTED" };
}

/** A query's run history: the runs, newest first, then the summary. */
export function formatRunHistory(history: RunHistory): string {
  const summary = history.summary;
  const totals = formatRecord({
    totalRuns: summary.totalRuns,
    successful: summary.successfulRuns,
    failed: summary.failedRuns,
    totalRuntime: `${summary.totalRuntimeSeconds.toFixed(1)} s`,
    averageDuration: `${summary.avgDurationSeconds.toFixed(1)} s`,
    rowsRead: summary.totalRowsRead,
    rowsWritten: summary.totalRowsWritten,
  });
  if (history.runs.length === 0) return `no finished runs of query ${history.queryId}\n`;
  const runs = formatTable(history.runs, [
    { header: "RUN ID", value: (r) => r.runId },
    { header: "STARTED", value: (r) => r.startTime },
    { header: "DURATION", value: (r) => `${r.durationSeconds.toFixed(1)} s` },
    { header: "RESULT", value: (r) => (r.isSuccessful ? "succeeded" : `FAILED ${r.error?.code ?? ""}`.trim()) },
    { header: "ROWS READ", value: (r) => r.stats.rowsRead },
    { header: "ROWS WRITTEN", value: (r) => r.stats.rowsWritten },
  ]);
  return `${runs}\n${totals}`;
}
