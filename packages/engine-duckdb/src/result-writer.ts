import type { FieldType } from "./job.js";

export interface ResultColumn {
  readonly name: string;
  readonly type: FieldType;
}

/**
 * One value of the output. long is a bigint (no precision lost); date is `YYYY-MM-DD` and timestamp
 * `YYYY-MM-DD HH:MM:SS[.ffffff]`, as DuckDB renders them.
 */
export type ResultValue = string | number | bigint | boolean | null;

export interface ResultChunk {
  readonly columns: readonly ResultColumn[];
  readonly rows: readonly (readonly ResultValue[])[];
}

/**
 * Where the output goes. The engine writes no file itself (its DuckDB cannot reach any); it streams chunks here.
 * close() commits; abort() must leave nothing behind, because a failed run must not leave partial output.
 */
export interface ResultWriter {
  /** Where the output is committed, for the DATASET_WRITE_COMPLETED events. */
  readonly location: string;
  write(chunk: ResultChunk): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** Opened only after the result is computed, checked and consent re-confirmed: before that nothing exists. */
export type ResultWriterFactory = (columns: readonly ResultColumn[]) => Promise<ResultWriter>;
