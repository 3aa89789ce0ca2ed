import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { FieldType } from "@cleanroom/protocol";
import { pythonInterpreter, WRITER_SCRIPT } from "./python.js";


export interface ParquetWriteOptions {
  /** CSV or JSON lines as a stream, or a Parquet file (which must be seekable, hence a path). */
  input: { format: "csv" | "jsonl"; stream: Readable; header?: boolean } | { format: "parquet"; path: string };
  fields: ReadonlyArray<{ name: string; type: FieldType }>;
  outputPath: string;
  /** The dataset's 32-byte data key; without one the output is plaintext Parquet. */
  key?: Uint8Array;
  /** Rows per row group (default 100,000); each column chunk is one data page. */
  rowGroupSize?: number;
}

export interface ParquetWriteResult {
  rows: number;
  rowGroups: number;
}

/** The input did not match the declared schema or format; the message says how. Nothing was written. */
export class ParquetInputError extends Error {
  override readonly name = "ParquetInputError";
}

/**
 * Converts the input to Parquet in the encrypted profile of docs/parquet-encryption.md, streaming (memory is bounded
 * by a row group, not by the input). Encryption is pyarrow's implementation of Parquet Modular Encryption: DuckDB has
 * no sound encryptor offline. The key goes to the writer over a pipe of its own (fd 3), never through argv, the
 * environment or the disk. On failure the partial output is removed and the promise rejects.
 */
export async function writeParquet(options: ParquetWriteOptions): Promise<ParquetWriteResult> {
  if (options.key !== undefined && options.key.length !== 32) throw new Error("A data key is 32 bytes (AES-256).");
  const args = [
    WRITER_SCRIPT,
    "--format", options.input.format,
    "--schema", JSON.stringify(options.fields),
    "--output", options.outputPath,
    "--row-group-size", String(options.rowGroupSize ?? 100_000),
    ...(options.input.format === "parquet" ? ["--input", options.input.path] : []),
    ...(options.input.format === "csv" && options.input.header ? ["--csv-header"] : []),
    ...(options.key ? ["--encrypt"] : []),
  ];
  const child = spawn(pythonInterpreter(), args, { stdio: ["pipe", "pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  const keyPipe = child.stdio[3] as Writable;
  keyPipe.on("error", () => undefined); // the writer may exit early on bad arguments; its status says why
  keyPipe.end(options.key ? Buffer.from(options.key) : undefined);
  child.stdin.on("error", () => undefined); // likewise, when it stops reading bad input
  const feeding = options.input.format === "parquet" ? Promise.resolve(child.stdin.end()) : pipeline(options.input.stream, child.stdin).catch(() => undefined);
  const [status] = await Promise.all([exited, feeding]);
  // The writer removes its partial output itself, unless it was killed.
  if (status !== 0) rmSync(options.outputPath, { force: true });
  if (status === 2) throw new ParquetInputError(stderr.trim() || "The input does not match the declared schema.");
  if (status !== 0) {
    const cause = stderr.includes("No module named 'pyarrow'") ? "pyarrow is not installed: run `npm run setup`" : stderr.trim().split("\n").slice(-3).join(" ");
    throw new Error(`The Parquet writer failed (status ${status}): ${cause}`);
  }
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as ParquetWriteResult;
}
