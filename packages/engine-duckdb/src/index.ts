export { cryptoExtensionPath } from "./crypto-extension.js";
export { runJob, type CommitCheck, type RunOptions, type RunResult } from "./engine.js";
export { EngineError, type EngineErrorCode } from "./errors.js";
export {
  AUDIT_EVENTS,
  OPERATIONAL_EVENTS,
  STATISTICS_EVENTS,
  type AuditEventName,
  type EngineEvent,
  type EventListener,
  type OperationalEventName,
  type QueryStatistics,
} from "./events.js";
export {
  FIELD_TYPES,
  validateJob,
  type DatasetFormat,
  type EngineJob,
  type Field,
  type FieldType,
  type JobInput,
  type JobLimits,
  type JobOutput,
  type PostFilter,
  type PreCondition,
  type Segment,
} from "./job.js";
export type { ResultChunk, ResultColumn, ResultValue, ResultWriter, ResultWriterFactory } from "./result-writer.js";
export { csvFileWriter, type CsvWriterOptions } from "./writers/csv.js";
export { jsonLinesFileWriter } from "./writers/json-lines.js";
export { parquetFileWriter, type ParquetWriterOptions } from "./writers/parquet.js";
export { PrestartedParquetWriter, type ParquetWrite } from "@cleanroom/parquet-crypto";
export { DUCKDB_TYPES } from "./sql.js";
