import type { ResultValue, ResultWriter, ResultWriterFactory } from "../result-writer.js";
import { StagedFile } from "./staged-file.js";

/** RFC 4180 quoting; NULL is an empty field, as Spark writes it. */
export function csvField(value: ResultValue): string {
  if (value === null) return "";
  const text = String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export interface CsvWriterOptions {
  /** The reference writes its outputs with a header (§2.6) while reading CSV inputs without one (§5). */
  readonly header?: boolean;
}

export function csvFileWriter(path: string, options: CsvWriterOptions = {}): ResultWriterFactory {
  return async (columns): Promise<ResultWriter> => {
    const file = await StagedFile.create(path);
    if (options.header ?? true) {
      await file.append(`${columns.map((column) => csvField(column.name)).join(",")}\n`).catch(async (error: unknown) => {
        await file.discard();
        throw error;
      });
    }
    return {
      location: path,
      write: (chunk) => file.append(chunk.rows.map((row) => `${row.map(csvField).join(",")}\n`).join("")),
      close: () => file.commit(),
      abort: () => file.discard(),
    };
  };
}
