import type { ResultColumn, ResultValue, ResultWriter, ResultWriterFactory } from "../result-writer.js";
import { StagedFile } from "./staged-file.js";

function jsonValue(value: Exclude<ResultValue, null>): string {
  if (typeof value === "bigint") return value.toString();
  // JSON has no NaN or infinities; writing them as strings keeps the line parseable and the value visible.
  if (typeof value === "number" && !Number.isFinite(value)) return JSON.stringify(String(value));
  return JSON.stringify(value);
}

/** One JSON object per row. Null fields are left out, as Spark's JSON writer does (ignoreNullFields). */
export function formatJsonLine(columns: readonly ResultColumn[], row: readonly ResultValue[]): string {
  const members: string[] = [];
  for (const [index, column] of columns.entries()) {
    const value = row[index] ?? null;
    if (value !== null) members.push(`${JSON.stringify(column.name)}:${jsonValue(value)}`);
  }
  return `{${members.join(",")}}\n`;
}

export function jsonLinesFileWriter(path: string): ResultWriterFactory {
  return async (columns): Promise<ResultWriter> => {
    const file = await StagedFile.create(path);
    return {
      location: path,
      write: (chunk) => file.append(chunk.rows.map((row) => formatJsonLine(columns, row)).join("")),
      close: () => file.commit(),
      abort: () => file.discard(),
    };
  };
}
