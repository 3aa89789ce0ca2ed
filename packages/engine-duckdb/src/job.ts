import { FIELD_TYPES, type DatasetField, type DatasetFormat, type Segment as ProtocolSegment } from "@cleanroom/protocol";
import { EngineError } from "./errors.js";

// The schema and program types are the documents' own (packages/protocol/src/analytics.ts), defined once.
export { FIELD_TYPES };
export type { DatasetFormat, FieldType } from "@cleanroom/protocol";
export type Field = DatasetField;
export type Segment = ProtocolSegment;
export type PreCondition = NonNullable<Segment["preConditions"]>[number];
export type PostFilter = NonNullable<Segment["postFilters"]>[number];

/** One input dataset, already resolved: local files and, for encrypted Parquet, the released data key. */
export interface JobInput {
  /** The view name the segment program reads the dataset by. */
  readonly view: string;
  readonly datasetName: string;
  readonly format: DatasetFormat;
  /** The declared schema; CSV columns are matched to it by position, JSON and Parquet by name. */
  readonly fields: readonly Field[];
  readonly allowedFields: readonly string[];
  readonly files: readonly string[];
  /** 32 bytes; Parquet Modular Encryption, uniform, AES_GCM_V1 (docs/parquet-encryption.md). */
  readonly encryptionKey?: Buffer;
  /** Where the files came from, for events only (e.g. the storage URL); never opened by the engine. */
  readonly location?: string;
}

export interface JobOutput {
  readonly sinkName: string;
  readonly fields: readonly Field[];
  readonly allowedFields: readonly string[];
}

export interface JobLimits {
  /** DuckDB's memory limit, e.g. "2GB"; beyond it DuckDB spills to tempDirectory. */
  readonly memoryLimit: string;
  readonly tempDirectory: string;
  readonly threads?: number;
}

export interface EngineJob {
  readonly runId: string;
  readonly contractId: string;
  readonly inputs: readonly JobInput[];
  readonly segments: readonly Segment[];
  readonly output: JobOutput;
  readonly limits: JobLimits;
  /** The run's partition range, for the load events only: the caller already chose each input's files by it. */
  readonly partitionRange?: { readonly startDate: string; readonly endDate: string };
}

/** Names the engine uses for its own tables; a job may not claim them. */
export const RESERVED_PREFIX = "__cleanroom";

// Views are what the segment SQL names, unquoted in practice; a plain identifier cannot be mistaken for a path.
const VIEW_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MEMORY_LIMIT = /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i;

function invalid(message: string): never {
  throw new EngineError("InvalidJob", message);
}

function checkName(what: string, name: string): void {
  if (typeof name !== "string" || name.trim() === "" || name.includes("\0")) invalid(`${what} must be a non-empty name`);
}

function checkFields(owner: string, fields: readonly Field[], allowedFields: readonly string[]): void {
  if (fields.length === 0) invalid(`${owner} has no fields`);
  const seen = new Set<string>();
  for (const field of fields) {
    checkName(`a field of ${owner}`, field.name);
    if (!FIELD_TYPES.includes(field.type)) invalid(`${owner}: field ${field.name} has unknown type ${String(field.type)}`);
    // DuckDB resolves column names case-insensitively, so two fields differing only in case would collide.
    const key = field.name.toLowerCase();
    if (seen.has(key)) invalid(`${owner}: field ${field.name} is declared twice`);
    seen.add(key);
  }
  for (const name of allowedFields) checkName(`an allowed field of ${owner}`, name);
  if (!allowedFields.some((name) => fields.some((field) => field.name === name))) {
    invalid(`${owner}: none of its allowed fields is in its schema`);
  }
}

/** Rejects a malformed job before anything is loaded, so that failures never leave half a run behind. */
export function validateJob(job: EngineJob): void {
  checkName("runId", job.runId);
  checkName("contractId", job.contractId);
  if (job.inputs.length === 0) invalid("Atleast one dataset must be specified.");
  const views = new Set<string>();
  for (const input of job.inputs) {
    checkName("an input's view", input.view);
    checkName("an input's datasetName", input.datasetName);
    const owner = `dataset ${input.datasetName}`;
    if (!VIEW_NAME.test(input.view)) invalid(`${owner}: view ${input.view} must be a plain identifier (letters, digits, _)`);
    const view = input.view.toLowerCase();
    if (view.startsWith(RESERVED_PREFIX)) invalid(`${owner}: view names starting with ${RESERVED_PREFIX} are reserved`);
    if (views.has(view)) invalid(`view ${input.view} is mapped to more than one dataset`);
    views.add(view);
    if (!["csv", "json", "parquet"].includes(input.format)) invalid(`${owner}: unknown format ${String(input.format)}`);
    checkFields(owner, input.fields, input.allowedFields);
    for (const file of input.files) checkName(`a file of ${owner}`, file);
    if (input.encryptionKey !== undefined) {
      if (input.format !== "parquet") invalid(`${owner}: only Parquet inputs can be encrypted`);
      if (input.encryptionKey.length !== 32) invalid(`${owner}: the data key must be 32 bytes`);
    }
  }
  if (job.segments.length === 0) invalid("the query has no segments");
  for (const [index, segment] of job.segments.entries()) {
    const owner = `segment ${index + 1}`;
    if (!Number.isSafeInteger(segment.executionSequence)) invalid(`${owner}: executionSequence must be an integer`);
    if (typeof segment.statement !== "string" || segment.statement.trim() === "") invalid(`${owner} has no statement`);
    for (const condition of segment.preConditions ?? []) {
      checkName(`a preCondition view of ${owner}`, condition.viewName);
      if (!Number.isSafeInteger(condition.minRowCount) || condition.minRowCount < 0) {
        invalid(`${owner}: minRowCount must be a non-negative integer`);
      }
    }
    for (const filter of segment.postFilters ?? []) {
      checkName(`a postFilter column of ${owner}`, filter.columnName);
      if (!Number.isSafeInteger(filter.value)) invalid(`${owner}: a postFilter value must be an integer`);
    }
  }
  checkName("the sink's name", job.output.sinkName);
  checkFields(`sink ${job.output.sinkName}`, job.output.fields, job.output.allowedFields);
  if (!MEMORY_LIMIT.test(job.limits.memoryLimit)) invalid(`memoryLimit ${job.limits.memoryLimit} is not a size like "2GB"`);
  checkName("tempDirectory", job.limits.tempDirectory);
  if (job.limits.threads !== undefined && (!Number.isSafeInteger(job.limits.threads) || job.limits.threads < 1)) {
    invalid("threads must be a positive integer");
  }
}
