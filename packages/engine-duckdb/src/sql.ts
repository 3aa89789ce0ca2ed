import type { FieldType } from "./job.js";

/** DuckDB's type for each declared field type: the reference's Spark mapping (§2.1), column for column. */
export const DUCKDB_TYPES: Readonly<Record<FieldType, string>> = {
  string: "VARCHAR",
  integer: "INTEGER",
  long: "BIGINT",
  number: "DOUBLE",
  boolean: "BOOLEAN",
  date: "DATE",
  timestamp: "TIMESTAMP",
};

// Names and paths reach SQL text (DuckDB takes no parameters in DDL or table-function options), so they are quoted
// here and only here. NUL would truncate the text in DuckDB's C API, so it is refused rather than quoted.
function refuseNul(text: string): string {
  if (text.includes("\0")) throw new Error("SQL text must not contain NUL");
  return text;
}

export function identifier(name: string): string {
  return `"${refuseNul(name).replaceAll('"', '""')}"`;
}

export function stringLiteral(text: string): string {
  return `'${refuseNul(text).replaceAll("'", "''")}'`;
}

export function stringList(items: readonly string[]): string {
  return `[${items.map(stringLiteral).join(", ")}]`;
}

/** A VARCHAR cell read back from DuckDB; anything else means a query is not what this code expects. */
export function text(value: unknown): string {
  if (typeof value !== "string") throw new Error(`expected text from DuckDB, got ${typeof value}`);
  return value;
}
