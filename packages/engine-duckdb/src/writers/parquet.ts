import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { rename, rm } from "node:fs/promises";
import { PassThrough } from "node:stream";
import { writeParquet, type ParquetWrite } from "@cleanroom/parquet-crypto";
import type { ResultWriter, ResultWriterFactory } from "../result-writer.js";
import { formatJsonLine } from "./json-lines.js";

export interface ParquetWriterOptions {
  /** The sink's 32-byte data key; without it the output is plaintext Parquet. */
  readonly key?: Uint8Array;
  /** What writes the file: default `writeParquet`; a long-running caller passes a `PrestartedParquetWriter`'s `write`. */
  readonly write?: ParquetWrite;
}

/**
 * Parquet output in the encrypted profile (docs/parquet-encryption.md), by pyarrow's encryptor: the engine's DuckDB
 * has no sound one, and cannot reach files anyway. Rows travel to the writer as JSON lines over a pipe, so
 * plaintext never lands on disk; the file is written beside `path` and renamed on commit.
 */
export function parquetFileWriter(path: string, options: ParquetWriterOptions = {}): ResultWriterFactory {
  return (columns): Promise<ResultWriter> => {
    const stagingPath = `${path}.${randomBytes(6).toString("hex")}.partial`;
    const rows = new PassThrough();
    const write = options.write ?? writeParquet;
    const written = write({
      input: { format: "jsonl", stream: rows },
      fields: columns.map((column) => ({ name: column.name, type: column.type })),
      outputPath: stagingPath,
      ...(options.key ? { key: options.key } : {}),
    });
    // Observed here so that an early failure is not unhandled; close() and abort() read the outcome.
    const outcome: Promise<Error | undefined> = written.then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
    return Promise.resolve({
      location: path,
      async write(chunk) {
        if (!rows.write(chunk.rows.map((row) => formatJsonLine(columns, row)).join(""))) {
          const failed = await Promise.race([once(rows, "drain").then(() => undefined), outcome]);
          if (failed !== undefined) throw failed;
        }
      },
      async close() {
        rows.end();
        const error = await outcome;
        if (error !== undefined) throw error;
        await rename(stagingPath, path);
      },
      async abort() {
        rows.destroy();
        await outcome;
        await rm(stagingPath, { force: true });
      },
    });
  };
}
