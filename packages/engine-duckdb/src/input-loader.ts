import { randomBytes } from "node:crypto";
import type { DuckDBConnection } from "@duckdb/node-api";
import { EngineError, asEngineError, integrityFailure } from "./errors.js";
import type { Field, JobInput } from "./job.js";
import { DUCKDB_TYPES, identifier, stringList, stringLiteral } from "./sql.js";


/** allowedFields ∩ schema, in allowed-field order (reference §5), each with its declared type. */
export function projectedFields(input: Pick<JobInput, "fields" | "allowedFields">): Field[] {
  const byName = new Map(input.fields.map((field) => [field.name, field]));
  const chosen = new Map<string, Field>();
  for (const name of input.allowedFields) {
    const field = byName.get(name);
    if (field !== undefined && !chosen.has(name)) chosen.set(name, field);
  }
  return [...chosen.values()];
}

function columnsOption(fields: readonly Field[]): string {
  return `{${fields.map((field) => `${stringLiteral(field.name)}: ${stringLiteral(DUCKDB_TYPES[field.type])}`).join(", ")}}`;
}

function source(input: JobInput, keyName: string | undefined): string {
  const files = stringList(input.files);
  switch (input.format) {
    case "csv":
      // The reference reads CSV with header=false and the declared schema, so columns are matched by position.
      // Sniffing is off: a file must parse as declared, or the load fails rather than guessing.
      return (
        `read_csv(${files}, header = false, auto_detect = false, columns = ${columnsOption(input.fields)}, ` +
        `delim = ',', quote = '"', escape = '"', hive_partitioning = false)`
      );
    case "json":
      return (
        `read_json(${files}, format = 'newline_delimited', columns = ${columnsOption(input.fields)}, ` +
        `hive_partitioning = false)`
      );
    case "parquet": {
      const encryption = keyName === undefined ? "" : `, encryption_config = {footer_key: ${stringLiteral(keyName)}}`;
      return `read_parquet(${files}, hive_partitioning = false${encryption})`;
    }
  }
}

/**
 * Registers each encrypted input's key under a random name, one after another on one connection: DuckDB's key store
 * loses keys added from several connections at once (seen as "No key with name … exists" under load). A random
 * name per input means one input's key can never be picked up by another's read. Returns the names by input.
 */
export async function registerKeys(connection: DuckDBConnection, inputs: readonly JobInput[]): Promise<Map<JobInput, string>> {
  const names = new Map<JobInput, string>();
  for (const input of inputs) {
    if (input.encryptionKey === undefined || input.files.length === 0) continue;
    const keyName = `cleanroom_key_${randomBytes(16).toString("hex")}`;
    // Base64 of exactly 32 bytes: DuckDB would take a 16-, 24- or 32-character string as raw key bytes.
    await connection.run(`PRAGMA add_parquet_key(${stringLiteral(keyName)}, ${stringLiteral(input.encryptionKey.toString("base64"))})`);
    names.set(input, keyName);
  }
  return names;
}

function castOf(field: Field): string {
  return `CAST(${identifier(field.name)} AS ${DUCKDB_TYPES[field.type]})`;
}

/**
 * Keeps filters out of the Parquet scan: DuckDB 1.5 fails the GCM tag check of every page it reads for a filter
 * evaluated inside the scan of a file written to the spec (with its file-unique AAD) — a WHERE on an input column, or
 * the range a join derives from the other side — so every such query would fail as an integrity failure
 * (docs/parquet-encryption.md). DuckDB never moves a filter past a volatile expression: the scan adds one volatile
 * column, the query id, and each column of the view is `CASE WHEN <query id> IS NOT NULL THEN column END`, so every
 * filter on a column depends on the volatile one and stops right above the scan. The query id is one constant per
 * chunk, so the CASE passes the scanned vectors through untouched (dictionaries included); filters run on the
 * decrypted rows in parallel, columns are still pruned and the scan's row counts still reach the planner. The view's
 * own expressions stay non-volatile, which keeps a correlated subquery decorrelated into a join. A query always has
 * an id while it runs; were it ever NULL, every value would read as NULL, which encrypted-filters.test.ts (results
 * against plain DuckDB's) would catch.
 *
 * The other barriers measured worse: a 100% sample runs single-threaded in DuckDB 1.5 (it seeds itself); a `random()`
 * per row copies every vector; a LIMIT keeps insertion order only single-threaded; volatile view columns turn a
 * correlated EXISTS into a nested loop, as does disabling `filter_pushdown`.
 */
const BARRIER_COLUMN = identifier("cleanroom scan barrier"); // not an SQL identifier, so no dataset field can be named so

function barrierSelect(fields: readonly Field[], from: string): string {
  const columns = fields.map((field) => `CASE WHEN ${BARRIER_COLUMN} IS NOT NULL THEN ${castOf(field)} END AS ${identifier(field.name)}`);
  const scanned = [...fields.map((field) => identifier(field.name)), `current_query_id() AS ${BARRIER_COLUMN}`];
  return `SELECT ${columns.join(", ")} FROM (SELECT ${scanned.join(", ")} FROM ${from})`;
}

/** Columns a Parquet input's files actually have (DuckDB unifies the files' schemas by name). */
async function parquetColumns(connection: DuckDBConnection, from: string): Promise<Set<string>> {
  const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`);
  return new Set(reader.getRowObjectsJS().map((row) => row.column_name as string));
}

/**
 * Registers one input under its view name: only the allowed fields, cast to their declared types.
 *
 * Parquet inputs become views over their files, read when a segment runs: only the columns and row groups a query
 * needs are decrypted and scanned, and nothing is copied (the engine's cost over plain DuckDB is mostly this). The
 * sealed instance may open exactly these files (sandbox.ts, `allowed_paths`) and the statement guard refuses every
 * table function, so segments reach them only through the projected views. A missing allowed column fails the load;
 * altered ciphertext fails the segment that reads it, as DatasetIntegrityCheckFailed.
 *
 * CSV and JSON inputs are materialized as tables: they must be parsed whole anyway, and a value that does not convert
 * to its declared type then fails the load rather than some later segment.
 */
export async function loadInput(connection: DuckDBConnection, input: JobInput, keyName: string | undefined): Promise<number> {
  const fields = projectedFields(input);
  const table = identifier(input.view);
  try {
    if (input.files.length === 0) {
      // No files is an empty dataset, not an error: the preconditions decide whether that is enough to run on.
      const columns = fields.map((field) => `${identifier(field.name)} ${DUCKDB_TYPES[field.type]}`);
      await connection.run(`CREATE TABLE ${table} (${columns.join(", ")})`);
    } else {
      const from = source(input, keyName);
      if (input.format === "parquet") {
        const present = await parquetColumns(connection, from);
        const missing = fields.filter((field) => !present.has(field.name)).map((field) => field.name);
        if (missing.length > 0) throw new EngineError("DatasetLoadFailed", `dataset ${input.datasetName} has no column ${missing.join(", ")}`);
        await connection.run(`CREATE VIEW ${table} AS ${barrierSelect(fields, from)}`);
      } else {
        const select = fields.map((field) => `${castOf(field)} AS ${identifier(field.name)}`);
        await connection.run(`CREATE TABLE ${table} AS SELECT ${select.join(", ")} FROM ${from}`);
      }
    }
    const reader = await connection.runAndReadAll(`SELECT count(*) FROM ${table}`);
    return Number(reader.getRowsJS()[0]?.[0] ?? 0);
  } catch (error) {
    throw integrityFailure(error, { dataset: input.datasetName }) ?? asEngineError(error, "DatasetLoadFailed", `dataset ${input.datasetName} could not be loaded`);
  }
}
