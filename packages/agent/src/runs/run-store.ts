import Database from "better-sqlite3";
import { RUN_HISTORY_LIMIT, type JobRun, type RunEvent, type RunHistory, type RunState, type RunStatus } from "@cleanroom/protocol";

export interface NewRun {
  readonly runId: string;
  readonly queryId: string;
  readonly contractId: string;
  readonly submittedBy: RunStatus["submittedBy"];
  readonly submittedAt: string;
  readonly startDate?: string;
  readonly endDate?: string;
}

export type RunOutcome =
  | { readonly state: "COMPLETED"; readonly stats: NonNullable<RunStatus["stats"]>; readonly output: NonNullable<RunStatus["output"]> }
  | { readonly state: "FAILED"; readonly error: { code: string; message: string }; readonly stats?: RunStatus["stats"] };

interface RunRow {
  run_id: string;
  query_id: string;
  contract_id: string;
  state: RunState;
  submitted_by_kind: "member" | "user";
  submitted_by_id: string;
  submitted_at: string;
  started_at: string | null;
  ended_at: string | null;
  start_date: string | null;
  end_date: string | null;
  error_code: string | null;
  error_message: string | null;
  rows_read: number | null;
  rows_written: number | null;
  duration_sec: number | null;
  output_json: string | null;
}

interface EventRow {
  seq: number;
  timestamp: string;
  category: RunEvent["category"];
  name: string;
  event_id: number;
  message: string;
  data_json: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY, query_id TEXT NOT NULL, contract_id TEXT NOT NULL, state TEXT NOT NULL,
  submitted_by_kind TEXT NOT NULL, submitted_by_id TEXT NOT NULL, submitted_at TEXT NOT NULL,
  started_at TEXT, ended_at TEXT, start_date TEXT, end_date TEXT, error_code TEXT, error_message TEXT,
  rows_read INTEGER, rows_written INTEGER, duration_sec REAL, output_json TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_query ON runs (query_id, ended_at);
CREATE TABLE IF NOT EXISTS run_events (
  run_id TEXT NOT NULL REFERENCES runs (run_id), seq INTEGER NOT NULL, timestamp TEXT NOT NULL, category TEXT NOT NULL,
  name TEXT NOT NULL, event_id INTEGER NOT NULL, message TEXT NOT NULL, data_json TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);
`;

/**
 * Runs and their events, durable in SQLite. A run's history entry is written when the run ends, by the agent itself,
 * so it exists whether or not anybody polls (the reference records it lazily on a status poll, §8.9).
 */
export class RunStore {
  readonly #db: Database.Database;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = NORMAL");
    this.#db.exec(SCHEMA);
  }

  /**
   * Runs that were in flight when the agent last stopped can never finish: they are failed, so that their history
   * is honest and a client polling them is not left waiting forever.
   */
  failInterrupted(now: string): number {
    const result = this.#db
      .prepare(
        "UPDATE runs SET state = 'FAILED', ended_at = ?, error_code = 'RunInterrupted', error_message = 'The agent stopped while the run was in progress; nothing was committed.' WHERE state IN ('SUBMITTED', 'RUNNING')",
      )
      .run(now);
    return result.changes;
  }

  /** Records a new run; false if the run id exists already (the caller then answers with that run). */
  insert(run: NewRun): boolean {
    const result = this.#db
      .prepare(
        `INSERT OR IGNORE INTO runs (run_id, query_id, contract_id, state, submitted_by_kind, submitted_by_id, submitted_at, start_date, end_date)
         VALUES (?, ?, ?, 'SUBMITTED', ?, ?, ?, ?, ?)`,
      )
      .run(run.runId, run.queryId, run.contractId, run.submittedBy.kind, run.submittedBy.id, run.submittedAt, run.startDate ?? null, run.endDate ?? null);
    return result.changes === 1;
  }

  queryOf(runId: string): string | undefined {
    const row = this.#db.prepare("SELECT query_id FROM runs WHERE run_id = ?").get(runId) as { query_id: string } | undefined;
    return row?.query_id;
  }

  markRunning(runId: string, now: string): void {
    this.#db.prepare("UPDATE runs SET state = 'RUNNING', started_at = ? WHERE run_id = ? AND state = 'SUBMITTED'").run(now, runId);
  }

  finish(runId: string, now: string, outcome: RunOutcome): void {
    const stats = outcome.stats;
    this.#db
      .prepare(
        `UPDATE runs SET state = ?, ended_at = ?, started_at = COALESCE(started_at, ?), error_code = ?, error_message = ?,
         rows_read = ?, rows_written = ?, duration_sec = ?, output_json = ? WHERE run_id = ?`,
      )
      .run(
        outcome.state,
        now,
        now,
        outcome.state === "FAILED" ? outcome.error.code : null,
        outcome.state === "FAILED" ? outcome.error.message : null,
        stats?.rowsRead ?? null,
        stats?.rowsWritten ?? null,
        stats?.durationSec ?? null,
        outcome.state === "COMPLETED" ? JSON.stringify(outcome.output) : null,
        runId,
      );
  }

  appendEvent(runId: string, event: Omit<RunEvent, "seq">): void {
    this.#db
      .prepare(
        `INSERT INTO run_events (run_id, seq, timestamp, category, name, event_id, message, data_json)
         VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM run_events WHERE run_id = ?), ?, ?, ?, ?, ?, ?)`,
      )
      .run(runId, runId, event.timestamp, event.category, event.name, event.eventId, event.message, JSON.stringify(event.data));
  }

  status(runId: string): RunStatus | undefined {
    const row = this.#db.prepare("SELECT * FROM runs WHERE run_id = ?").get(runId) as RunRow | undefined;
    if (!row) return undefined;
    const events = (this.#db.prepare("SELECT * FROM run_events WHERE run_id = ? ORDER BY seq").all(runId) as EventRow[]).map(
      (event): RunEvent => ({
        seq: event.seq,
        timestamp: event.timestamp,
        category: event.category,
        name: event.name,
        eventId: event.event_id,
        message: event.message,
        data: JSON.parse(event.data_json) as RunEvent["data"],
      }),
    );
    return {
      id: row.run_id,
      runId: row.run_id,
      queryId: row.query_id,
      contractId: row.contract_id,
      state: row.state,
      submittedBy: { kind: row.submitted_by_kind, id: row.submitted_by_id },
      submittedAt: row.submitted_at,
      ...(row.started_at !== null ? { startedAt: row.started_at } : {}),
      ...(row.ended_at !== null ? { endedAt: row.ended_at } : {}),
      ...(row.start_date !== null ? { startDate: row.start_date } : {}),
      ...(row.end_date !== null ? { endDate: row.end_date } : {}),
      ...(row.error_code !== null ? { error: { code: row.error_code, message: row.error_message ?? "" } } : {}),
      ...(row.rows_read !== null ? { stats: { rowsRead: row.rows_read, rowsWritten: row.rows_written ?? 0, durationSec: row.duration_sec ?? 0 } } : {}),
      ...(row.output_json !== null ? { output: JSON.parse(row.output_json) as NonNullable<RunStatus["output"]> } : {}),
      events,
    };
  }

  /** A query's finished runs: the latest RUN_HISTORY_LIMIT, newest first, and a summary over all of them. */
  history(queryId: string): RunHistory | undefined {
    const rows = this.#db
      .prepare("SELECT * FROM runs WHERE query_id = ? AND state IN ('COMPLETED', 'FAILED') ORDER BY ended_at DESC, rowid DESC")
      .all(queryId) as RunRow[];
    if (rows.length === 0) return undefined;
    const runs = rows.map((row): JobRun => {
      const start = row.started_at ?? row.submitted_at;
      const end = row.ended_at ?? start;
      return {
        runId: row.run_id,
        startTime: start,
        endTime: end,
        durationSeconds: Math.max(0, (Date.parse(end) - Date.parse(start)) / 1000),
        isSuccessful: row.state === "COMPLETED",
        error: row.error_code !== null ? { code: row.error_code, message: row.error_message ?? "" } : null,
        stats: { rowsRead: row.rows_read ?? 0, rowsWritten: row.rows_written ?? 0 },
      };
    });
    const total = runs.reduce((sum, run) => sum + run.durationSeconds, 0);
    return {
      queryId,
      latestRun: runs[0] ?? null,
      runs: runs.slice(0, RUN_HISTORY_LIMIT),
      summary: {
        totalRuns: runs.length,
        successfulRuns: runs.filter((run) => run.isSuccessful).length,
        failedRuns: runs.filter((run) => !run.isSuccessful).length,
        totalRuntimeSeconds: Math.round(total * 1000) / 1000,
        avgDurationSeconds: Math.round((total / runs.length) * 100) / 100,
        totalRowsRead: runs.reduce((sum, run) => sum + run.stats.rowsRead, 0),
        totalRowsWritten: runs.reduce((sum, run) => sum + run.stats.rowsWritten, 0),
      },
    };
  }

  close(): void {
    this.#db.close();
  }
}
