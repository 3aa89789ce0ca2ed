import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { EngineError, asEngineError, messageOf } from "./errors.js";
import { EventSink, type EventListener } from "./events.js";
import { loadInput, registerKeys } from "./input-loader.js";
import { validateJob, type EngineJob, type JobInput } from "./job.js";
import { prepareOutput, streamOutput } from "./output.js";
import type { ResultColumn, ResultWriter, ResultWriterFactory } from "./result-writer.js";
import { createJobInstance, sealInstance } from "./sandbox.js";
import { RESULT_TABLE, planSteps, runSteps, type PlannedSegment } from "./segment-runner.js";
import { StatementGuard } from "./statement-guard.js";

export interface CommitCheck {
  readonly rowCount: number;
  readonly columns: readonly ResultColumn[];
}

export interface RunOptions {
  readonly openWriter: ResultWriterFactory;
  /**
   * Asked after the result is computed and checked, before anything is written — the place to re-check execution
   * consent. false (or a throw) fails the run and nothing is written. Required, so that no caller forgets it.
   */
  readonly beforeCommit: (check: CommitCheck) => Promise<boolean>;
  readonly onEvent?: EventListener;
  /** Milliseconds, for durations; injectable so that tests need no real time. */
  readonly now?: () => number;
}

export interface RunResult {
  readonly rowsRead: number;
  readonly rowsWritten: number;
  readonly durationSec: number;
  readonly outputLocation: string;
}

function inputLocation(input: JobInput): string {
  return input.location ?? `${input.files.length} file(s)`;
}

/** Loads the inputs concurrently, each on its own connection, as the reference does; returns the rows read. */
async function loadInputs(instance: DuckDBInstance, control: DuckDBConnection, job: EngineJob, events: EventSink): Promise<number> {
  const { inputs } = job;
  const keyNames = await registerKeys(control, inputs);
  const range = { start_date: job.partitionRange?.startDate ?? "NA", end_date: job.partitionRange?.endDate ?? "NA" };
  const outcomes = await Promise.allSettled(
    inputs.map(async (input) => {
      const path = inputLocation(input);
      events.operational("DATASET_LOAD_STARTED", { dataset_name: input.datasetName, dataset_path: path, ...range });
      const connection = await instance.connect();
      try {
        const rows = await loadInput(connection, input, keyNames.get(input));
        events.operational("DATASET_LOAD_COMPLETED", { dataset_name: input.datasetName, dataset_path: path, row_count: rows });
        events.audit("DATASET_LOAD_COMPLETED", { dataset_name: input.datasetName });
        return rows;
      } catch (error) {
        events.operational("DATASET_LOAD_FAILED", { dataset_name: input.datasetName, dataset_path: path, error: messageOf(error) });
        events.audit("DATASET_LOAD_FAILED", { dataset_name: input.datasetName, reason: messageOf(error) });
        throw error;
      } finally {
        connection.closeSync();
      }
    }),
  );
  let rows = 0;
  for (const outcome of outcomes) {
    if (outcome.status === "rejected") throw outcome.reason;
    rows += outcome.value;
  }
  return rows;
}

async function writeOutput(
  connection: DuckDBConnection,
  job: EngineJob,
  options: RunOptions,
  events: EventSink,
): Promise<{ rowsWritten: number; location: string }> {
  const sink = job.output.sinkName;
  events.operational("DATASET_WRITE_STARTED", { dataset_name: sink });
  let writer: ResultWriter | undefined;
  try {
    const { columns, rowCount } = await prepareOutput(connection, RESULT_TABLE, job.output);
    let consented: boolean;
    try {
      consented = await options.beforeCommit({ rowCount, columns });
    } catch (error) {
      throw new EngineError("ConsentRevoked", `the consent check before commit failed, so nothing was written: ${messageOf(error)}`, {
        cause: error,
      });
    }
    if (consented !== true) {
      throw new EngineError("ConsentRevoked", "execution consent was withdrawn before the result was committed; nothing was written");
    }
    writer = await options.openWriter(columns);
    const location = writer.location;
    const rowsWritten = await streamOutput(connection, columns, writer);
    if (rowsWritten !== rowCount) {
      throw new EngineError("DatasetWriteFailed", `streamed ${rowsWritten} rows of a result of ${rowCount}`);
    }
    await writer.close();
    writer = undefined;
    events.operational("DATASET_WRITE_COMPLETED", { dataset_name: sink, output_path: location, row_count: rowsWritten });
    events.audit("DATASET_WRITE_COMPLETED", { destination: location, dataset_name: sink, row_count: rowsWritten });
    return { rowsWritten, location };
  } catch (error) {
    await writer?.abort().catch(() => undefined);
    const failure = asEngineError(error, "DatasetWriteFailed", `output to sink ${sink} could not be written`);
    events.operational("DATASET_WRITE_FAILED", { dataset_name: sink, error: failure.message });
    events.audit("DATASET_WRITE_FAILED", { dataset_name: sink, reason: failure.message });
    throw failure;
  }
}

/**
 * Runs one resolved job with the reference's semantics (upstream-spark-analytics.md §5): check the program, load
 * the inputs, seal the instance, run the steps, then project, check, re-confirm consent and stream the output.
 * Any failure fails the whole run, and nothing is written unless every stage succeeded.
 */
export async function runJob(job: EngineJob, options: RunOptions): Promise<RunResult> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  const events = new EventSink(options.onEvent, job.runId);
  let instance: DuckDBInstance | undefined;
  let control: DuckDBConnection | undefined;
  try {
    validateJob(job);
    instance = await createJobInstance(job.limits);
    control = await instance.connect();
    // The program is checked before any data is loaded, so a refused statement never sees a row.
    const guard = await StatementGuard.create(control);
    const planned: PlannedSegment[] = [];
    for (const [index, segment] of job.segments.entries()) {
      planned.push({ number: index + 1, segment, statement: await guard.check(segment.statement, `segment ${index + 1}`) });
    }
    const steps = planSteps(planned);
    const rowsRead = await loadInputs(instance, control, job, events);
    await sealInstance(control, job.inputs.filter((input) => input.format === "parquet").flatMap((input) => input.files));
    await runSteps(instance, steps, events);
    const { rowsWritten, location } = await writeOutput(control, job, options, events);
    const durationSec = (now() - started) / 1000;
    events.operational("QUERY_EXECUTION_COMPLETED", { duration_sec: durationSec });
    events.audit("QUERY_COMPLETED");
    events.statistics({ duration_sec: durationSec, num_rows_read: rowsRead, num_rows_written: rowsWritten });
    return { rowsRead, rowsWritten, durationSec, outputLocation: location };
  } catch (error) {
    const failure = asEngineError(error, "RunFailed", "the run failed");
    events.operational("QUERY_EXECUTION_FAILED", { error: failure.message });
    events.audit("QUERY_FAILED", { reason: failure.message });
    throw failure;
  } finally {
    control?.closeSync();
    instance?.closeSync();
  }
}
