import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { EngineError, asEngineError, integrityFailure } from "./errors.js";
import type { EventSink } from "./events.js";
import type { Segment } from "./job.js";
import { identifier, stringLiteral, text } from "./sql.js";
import type { GuardedStatement } from "./statement-guard.js";

export interface PlannedSegment {
  /** 1-based position in the query, for messages. */
  readonly number: number;
  readonly segment: Segment;
  readonly statement: GuardedStatement;
}

export interface Step {
  readonly sequence: number;
  readonly segments: readonly PlannedSegment[];
}

/** The table the final segment's result is materialized in. */
export const RESULT_TABLE = "__cleanroom_result";

/** Groups segments into steps by executionSequence, ascending; the highest step must hold exactly one segment. */
export function planSteps(segments: readonly PlannedSegment[]): Step[] {
  const bySequence = new Map<number, PlannedSegment[]>();
  for (const planned of segments) {
    const step = bySequence.get(planned.segment.executionSequence) ?? [];
    step.push(planned);
    bySequence.set(planned.segment.executionSequence, step);
  }
  const steps = [...bySequence.entries()].sort(([a], [b]) => a - b).map(([sequence, members]) => ({ sequence, segments: members }));
  const last = steps.at(-1);
  if (last === undefined || last.segments.length !== 1) {
    throw new EngineError("SegmentProgramInvalid", `There should be just 1 last segment but there are ${last?.segments.length ?? 0}.`);
  }
  // The output is the last segment's rows; a CREATE has none, and the reference would write an empty frame.
  if (last.segments[0]!.statement.kind !== "query") {
    throw new EngineError("SegmentProgramInvalid", `segment ${last.segments[0]!.number} is the last one, so it must be a query (SELECT), not a CREATE`);
  }
  for (const planned of segments) {
    if (planned.statement.kind === "create" && (planned.segment.postFilters ?? []).length > 0) {
      throw new EngineError("SegmentProgramInvalid", `segment ${planned.number}: postFilters apply to a query's rows, and a CREATE returns none`);
    }
  }
  return steps;
}

async function count(connection: DuckDBConnection, sql: string): Promise<number> {
  const reader = await connection.runAndReadAll(sql);
  return Number(reader.getRowsJS()[0]?.[0] ?? 0);
}

/** The view must exist and hold at least minRowCount rows: the k-min guard, checked before the segment runs. */
async function checkPreConditions(connection: DuckDBConnection, planned: PlannedSegment): Promise<void> {
  for (const { viewName, minRowCount } of planned.segment.preConditions ?? []) {
    const exists = await count(
      connection,
      `SELECT count(*) FROM (SELECT table_name AS name FROM duckdb_tables() WHERE NOT internal
         UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal) WHERE lower(name) = lower(${stringLiteral(viewName)})`,
    );
    if (exists === 0) throw new EngineError("ViewNotFound", `View ${viewName} does not exist in the catalog. Exiting`);
    const rows = await count(connection, `SELECT count(*) FROM ${identifier(viewName)}`);
    if (rows < minRowCount) {
      throw new EngineError(
        "PreConditionFailed",
        `Pre-segment enforcement failed for view ${viewName}: row count ${rows} is less than minRowCount ${minRowCount}`,
      );
    }
  }
}

async function runQuery(connection: DuckDBConnection, planned: PlannedSegment, sql: string, table: string): Promise<number> {
  const filters = planned.segment.postFilters ?? [];
  if (filters.length > 0) {
    const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM (\n${sql}\n) AS segment`);
    const columns = new Set(described.getRowsJS().map((row) => text(row[0])));
    for (const { columnName } of filters) {
      if (!columns.has(columnName)) {
        throw new EngineError("PostFilterColumnMissing", `postFilter column ${columnName} is not in the result of segment ${planned.number}`);
      }
    }
  }
  // `col >= value` keeps no NULLs, as Spark's filter does not.
  const where = filters.length === 0 ? "" : ` WHERE ${filters.map((f) => `${identifier(f.columnName)} >= ${f.value}`).join(" AND ")}`;
  await connection.run(`CREATE TABLE ${identifier(table)} AS SELECT * FROM (\n${sql}\n) AS segment${where}`);
  return count(connection, `SELECT count(*) FROM ${identifier(table)}`);
}

/**
 * Runs one segment on its own connection, so that segments of one step run concurrently. A CREATE runs as the
 * engine's own statement around the checked query: TEMP in the program means "for this job", and since DuckDB's
 * temp objects are private to one connection, they are created in the job's in-memory database instead, where the
 * segments of later steps (on other connections) see them. A query's rows are materialized, post-filtered and
 * counted; the last step's are the output, earlier ones are counted and dropped, as the reference discards them.
 */
async function runSegment(instance: DuckDBInstance, planned: PlannedSegment, isLast: boolean): Promise<number> {
  const connection = await instance.connect();
  try {
    await checkPreConditions(connection, planned);
    const statement = planned.statement;
    if (statement.kind === "create") {
      const replace = statement.orReplace ? "OR REPLACE " : "";
      await connection.run(`CREATE ${replace}${statement.object} ${identifier(statement.name)} AS\n${statement.sql}\n`);
      return 0;
    }
    const table = isLast ? RESULT_TABLE : `${RESULT_TABLE}_segment_${planned.number}`;
    const rows = await runQuery(connection, planned, statement.sql, table);
    if (!isLast) await connection.run(`DROP TABLE ${identifier(table)}`);
    return rows;
  } finally {
    connection.closeSync();
  }
}

/** Runs the steps in order, the segments of a step concurrently; the first failure (in query order) fails the run. */
export async function runSteps(instance: DuckDBInstance, steps: readonly Step[], events: EventSink): Promise<void> {
  for (const [index, step] of steps.entries()) {
    const isLastStep = index === steps.length - 1;
    const outcomes = await Promise.allSettled(
      step.segments.map(async (planned) => {
        events.operational("QUERY_SEGMENT_EXECUTION_STARTED", { step_number: step.sequence });
        try {
          const rows = await runSegment(instance, planned, isLastStep);
          events.operational("QUERY_SEGMENT_EXECUTION_COMPLETED", { step_number: step.sequence, row_count: rows });
        } catch (error) {
          // Encrypted inputs are read lazily, so altered ciphertext surfaces in the first segment that reads it.
          const failure = integrityFailure(error, { segment: planned.number }) ?? asEngineError(error, "SegmentFailed", `segment ${planned.number} (step ${step.sequence}) failed`);
          events.operational("QUERY_SEGMENT_EXECUTION_FAILED", { step_number: step.sequence, error: failure.message });
          throw failure;
        }
      }),
    );
    const failed = outcomes.find((outcome) => outcome.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }
}
