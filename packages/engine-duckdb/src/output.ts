import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { EngineError } from "./errors.js";
import type { JobOutput } from "./job.js";
import type { ResultColumn, ResultValue, ResultWriter } from "./result-writer.js";
import { DUCKDB_TYPES, identifier, stringLiteral, text } from "./sql.js";

/** The output exactly as it will be written: projected, type-checked and materialized before anything commits. */
export const OUTPUT_TABLE = "__cleanroom_output";

const MISMATCH = "DataFrame schema does not match expected dataset schema.";

/**
 * Projects the final result to the sink's allowed fields (in the sink's order, skipping those the result lacks) and
 * checks every remaining column against the sink schema (reference §2.6). One bridge between dialects: DuckDB sums
 * integers into HUGEINT where Spark gives long, so HUGEINT is accepted for long and cast, and a value that does not
 * fit fails the run here rather than in the middle of writing.
 */
export async function prepareOutput(
  connection: DuckDBConnection,
  resultTable: string,
  output: JobOutput,
): Promise<{ columns: ResultColumn[]; rowCount: number }> {
  const reader = await connection.runAndReadAll(
    `SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ${stringLiteral(resultTable)} ORDER BY column_index`,
  );
  const resultTypes = new Map(reader.getRowsJS().map((row) => [text(row[0]), text(row[1])]));
  const columns: ResultColumn[] = [];
  const select: string[] = [];
  for (const name of new Set(output.allowedFields)) {
    const actual = resultTypes.get(name);
    if (actual === undefined) continue;
    const field = output.fields.find((candidate) => candidate.name === name);
    if (field === undefined) throw new EngineError("SinkSchemaMismatch", `${MISMATCH} Column ${name} is not in the schema of sink ${output.sinkName}.`);
    const expected = DUCKDB_TYPES[field.type];
    if (actual === expected) select.push(identifier(name));
    else if (actual === "HUGEINT" && expected === "BIGINT") select.push(`CAST(${identifier(name)} AS BIGINT) AS ${identifier(name)}`);
    else {
      throw new EngineError(
        "SinkSchemaMismatch",
        `${MISMATCH} Column ${name} is ${actual}, but sink ${output.sinkName} declares it ${field.type} (${expected}).`,
      );
    }
    columns.push({ name, type: field.type });
  }
  if (columns.length === 0) {
    throw new EngineError(
      "SinkSchemaMismatch",
      `${MISMATCH} None of the allowed fields of sink ${output.sinkName} is in the result (its columns: ${[...resultTypes.keys()].join(", ")}).`,
    );
  }
  await connection.run(`CREATE TABLE ${identifier(OUTPUT_TABLE)} AS SELECT ${select.join(", ")} FROM ${identifier(resultTable)}`);
  const counted = await connection.runAndReadAll(`SELECT count(*) FROM ${identifier(OUTPUT_TABLE)}`);
  return { columns, rowCount: Number(counted.getRowsJS()[0]?.[0] ?? 0) };
}

function resultValue(value: DuckDBValue): ResultValue {
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return value;
  }
  // DATE and TIMESTAMP arrive as DuckDB value objects; the output types are checked above, so nothing else does.
  return String(value);
}

/** Streams the output table to the writer chunk by chunk (DuckDB's vector size), never holding the whole result. */
export async function streamOutput(connection: DuckDBConnection, columns: readonly ResultColumn[], writer: ResultWriter): Promise<number> {
  const result = await connection.stream(`SELECT * FROM ${identifier(OUTPUT_TABLE)}`);
  let written = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    const rows = chunk.getRows().map((row) => row.map(resultValue));
    await writer.write({ columns, rows });
    written += rows.length;
  }
  return written;
}
