import { statSync } from "node:fs";
import { basename, extname } from "node:path";
import {
  ApiError,
  DatasetFieldSchema,
  FIELD_TYPES,
  FieldTypeSchema,
  LocationSchema,
  parsePartitionDate,
  parsePartitionRange,
  ResourceIdSchema,
  RunIdSchema,
  type Credentials,
  type DatasetField,
  type DatasetFormat,
  type Location,
  type Segment,
} from "@cleanroom/protocol";
import { jsonArgument, type CommandContext } from "../context.js";
import { describeIssues, UsageError } from "./errors.js";

/** commander's collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A contract or document id, checked before it reaches a URL or a key-store path. */
export function resourceId(value: string, flag: string): string {
  const parsed = ResourceIdSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${flag} '${value}': ${parsed.error.issues[0]?.message ?? "invalid id"}`);
  return value;
}

export function runId(value: string, flag: string): string {
  const parsed = RunIdSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${flag} '${value}': ${parsed.error.issues[0]?.message ?? "invalid run id"}`);
  return value;
}

/** `--fields "user_hash:string,campaign_id:long"`. */
export function parseFields(text: string): DatasetField[] {
  const parts = text.split(",").map((part) => part.trim());
  return parts.map((part) => {
    const index = part.lastIndexOf(":");
    if (index <= 0 || index === part.length - 1) throw new UsageError(`--fields: '${part}' is not <name>:<type> (e.g. user_hash:string)`);
    const name = part.slice(0, index).trim();
    const type = part.slice(index + 1).trim();
    if (!FieldTypeSchema.safeParse(type).success) throw new UsageError(`--fields: field '${name}' has unknown type '${type}' (types: ${FIELD_TYPES.join(", ")})`);
    return { name, type: FieldTypeSchema.parse(type) };
  });
}

/** `--schema @fields.json`: `[{"name", "type"}]`. */
export function parseSchemaArgument(ctx: CommandContext, value: string): DatasetField[] {
  let json: unknown;
  try {
    json = jsonArgument(ctx, value, "--schema");
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!Array.isArray(json)) throw new UsageError('--schema must be a JSON array of {"name", "type"}');
  return json.map((entry: unknown, index) => {
    const parsed = DatasetFieldSchema.safeParse(entry);
    if (!parsed.success) throw new UsageError(`--schema[${index}]: ${describeIssues(parsed.error.issues)} (types: ${FIELD_TYPES.join(", ")})`);
    return parsed.data;
  });
}

/** Exactly one of `--fields` and `--schema`. */
export function fieldsOption(ctx: CommandContext, options: { fields?: string; schema?: string }): DatasetField[] {
  if ((options.fields === undefined) === (options.schema === undefined)) throw new UsageError('give the columns with exactly one of --fields "<name>:<type>,…" and --schema @fields.json');
  return options.fields !== undefined ? parseFields(options.fields) : parseSchemaArgument(ctx, options.schema as string);
}

/** `a,b,c`, without empty names. */
export function nameList(text: string, flag: string): string[] {
  const names = text.split(",").map((name) => name.trim());
  if (names.some((name) => name === "")) throw new UsageError(`${flag}: empty name in '${text}'`);
  return names;
}

const FORMAT_BY_EXTENSION: Record<string, DatasetFormat> = {
  ".csv": "csv",
  ".json": "json",
  ".jsonl": "json",
  ".ndjson": "json",
  ".parquet": "parquet",
  ".parq": "parquet",
};

/** The input's format: `--format`, else its extension. */
export function inputFormat(path: string, explicit: DatasetFormat | undefined): DatasetFormat {
  if (explicit !== undefined) return explicit;
  const format = FORMAT_BY_EXTENSION[extname(path).toLowerCase()];
  if (format === undefined) throw new UsageError(`cannot tell the format of ${basename(path)} from its extension: give --format csv|json|parquet`);
  return format;
}

/** An existing regular file given by `flag`. */
export function existingFile(ctx: CommandContext, file: string, flag: string): string {
  const path = ctx.path(file);
  let stats;
  try {
    stats = statSync(path);
  } catch {
    throw new UsageError(`${flag} ${file}: no such file`);
  }
  if (!stats.isFile()) throw new UsageError(`${flag} ${file}: not a file`);
  return path;
}

/** `--location <json|@file>` or `--local-path <dir>` (exactly one), checked against the protocol's schema. */
export function locationOption(ctx: CommandContext, options: { location?: string; localPath?: string }): Location {
  if ((options.location === undefined) === (options.localPath === undefined)) throw new UsageError("give exactly one of --location <json|@file> and --local-path <dir>");
  let value: unknown;
  if (options.localPath !== undefined) {
    value = { kind: "local", path: ctx.path(options.localPath) };
  } else {
    try {
      value = jsonArgument(ctx, options.location as string, "--location");
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const parsed = LocationSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${options.localPath !== undefined ? "--local-path" : "--location"}: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** `--federation <json|@file>`: the federation fields; `subject` defaults to `<contractId>/<owner id>`. */
export function federationOption(ctx: CommandContext, value: string, contractId: string, ownerId: string): Credentials {
  let json: unknown;
  try {
    json = jsonArgument(ctx, value, "--federation");
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new UsageError('--federation must be a JSON object, e.g. {"audience": "…", "roleArn": "…"}');
  return { subject: `${contractId}/${ownerId}`, ...(json as Record<string, unknown>), kind: "federation" } as Credentials;
}

/** `--partition-date YYYY-MM-DD`. */
export function partitionDate(value: string): string {
  try {
    return parsePartitionDate(value, "--partition-date");
  } catch (error) {
    if (error instanceof ApiError) throw new UsageError(error.message);
    throw error;
  }
}

/** `--start-date`/`--end-date`: both or neither, start ≤ end. */
export function dateRange(startDate: string | undefined, endDate: string | undefined): { startDate: string; endDate: string } | undefined {
  try {
    return parsePartitionRange(startDate, endDate);
  } catch (error) {
    if (error instanceof ApiError) throw new UsageError(`${error.message.replace("startDate", "--start-date").replace("endDate", "--end-date")}`);
    throw error;
  }
}

/** `<a>:<b>` split at the last colon, for `--input <dataset>:<view>` and the like. */
function pair(value: string, flag: string, shape: string): [string, string] {
  const index = value.lastIndexOf(":");
  if (index <= 0 || index === value.length - 1) throw new UsageError(`${flag} '${value}' is not ${shape}`);
  return [value.slice(0, index), value.slice(index + 1)];
}

function integer(text: string, flag: string, value: string): number {
  if (!/^-?\d{1,15}$/.test(text)) throw new UsageError(`${flag} '${value}': '${text}' is not an integer`);
  return Number(text);
}

/** `--input impressions:imp` → `{dataset, view}`. */
export function queryInput(value: string): { dataset: string; view: string } {
  const [dataset, view] = pair(value, "--input", "<dataset document id>:<view name>");
  return { dataset, view };
}

/** `--min-rows joined:100` → a pre-condition. */
export function minRows(value: string): NonNullable<Segment["preConditions"]>[number] {
  const [viewName, count] = pair(value, "--min-rows", "<view>:<rows>");
  return { viewName, minRowCount: integer(count, "--min-rows", value) };
}

/** `--post-filter conversions:10` → a post-filter. */
export function postFilter(value: string): NonNullable<Segment["postFilters"]>[number] {
  const [columnName, threshold] = pair(value, "--post-filter", "<column>:<minimum>");
  return { columnName, value: integer(threshold, "--post-filter", value) };
}
