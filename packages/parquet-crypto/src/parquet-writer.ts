import { spawn, type ChildProcessByStdio } from "node:child_process";
import { rmSync } from "node:fs";
import type { Socket } from "node:net";
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

type WriteStatus = number | null;

/** A writer process, its output collected from the start so that an early failure (no Python) is never unhandled. */
interface WriterProcess {
  readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly exited: Promise<WriteStatus>;
  stdout: string;
  stderr: string;
}

function startWriter(args: readonly string[]): WriterProcess {
  const child = spawn(pythonInterpreter(), [WRITER_SCRIPT, ...args], { stdio: ["pipe", "pipe", "pipe", "pipe"] });
  const writer: WriterProcess = {
    child,
    exited: new Promise<WriteStatus>((resolve) => {
      child.once("error", (error) => {
        writer.stderr += error.message;
        resolve(-1);
      });
      child.once("close", resolve);
    }),
    stdout: "",
    stderr: "",
  };
  child.stdout.on("data", (chunk: Buffer) => (writer.stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (writer.stderr += chunk.toString()));
  // The writer may exit early on bad arguments or stop reading bad input; its status says why.
  child.stdin.on("error", () => undefined);
  keyPipeOf(writer).on("error", () => undefined);
  return writer;
}

function keyPipeOf(writer: WriterProcess): Writable {
  return writer.child.stdio[3] as Writable;
}

function writerArguments(options: ParquetWriteOptions): string[] {
  if (options.key !== undefined && options.key.length !== 32) throw new Error("A data key is 32 bytes (AES-256).");
  return [
    "--format", options.input.format,
    "--schema", JSON.stringify(options.fields),
    "--output", options.outputPath,
    "--row-group-size", String(options.rowGroupSize ?? 100_000),
    ...(options.input.format === "parquet" ? ["--input", options.input.path] : []),
    ...(options.input.format === "csv" && options.input.header ? ["--csv-header"] : []),
    ...(options.key ? ["--encrypt"] : []),
  ];
}

/** Hands the key and the input to a started writer and reads its outcome. */
async function finishWrite(writer: WriterProcess, options: ParquetWriteOptions): Promise<ParquetWriteResult> {
  keyPipeOf(writer).end(options.key ? Buffer.from(options.key) : undefined);
  const { stdin } = writer.child;
  const feeding = options.input.format === "parquet" ? Promise.resolve(stdin.end()) : pipeline(options.input.stream, stdin).catch(() => undefined);
  const [status] = await Promise.all([writer.exited, feeding]);
  // The writer removes its partial output itself, unless it was killed.
  if (status !== 0) rmSync(options.outputPath, { force: true });
  if (status === 2) throw new ParquetInputError(writer.stderr.trim() || "The input does not match the declared schema.");
  if (status !== 0) {
    const { stderr } = writer;
    const cause = stderr.includes("No module named 'pyarrow'") ? "pyarrow is not installed: run `npm run setup`" : stderr.trim().split("\n").slice(-3).join(" ");
    throw new Error(`The Parquet writer failed (status ${status}): ${cause}`);
  }
  return JSON.parse(writer.stdout.trim().split("\n").at(-1) ?? "{}") as ParquetWriteResult;
}

/** Writes one Parquet file: `writeParquet`, or a `PrestartedParquetWriter`'s `write`. */
export type ParquetWrite = (options: ParquetWriteOptions) => Promise<ParquetWriteResult>;

/**
 * Converts the input to Parquet in the encrypted profile of docs/parquet-encryption.md, streaming (memory is bounded
 * by a row group, not by the input). Encryption is pyarrow's implementation of Parquet Modular Encryption: DuckDB has
 * no sound encryptor offline. The key goes to the writer over a pipe of its own (fd 3), never through argv, the
 * environment or the disk. On failure the partial output is removed and the promise rejects.
 */
export async function writeParquet(options: ParquetWriteOptions): Promise<ParquetWriteResult> {
  return finishWrite(startWriter(writerArguments(options)), options);
}

// Where the pipes are sockets (always, for a spawned child), whether they keep Node's event loop alive.
function holdEventLoop(writer: WriterProcess, hold: boolean): void {
  if (hold) writer.child.ref();
  else writer.child.unref();
  for (const stream of writer.child.stdio) {
    const socket = stream as Partial<Pick<Socket, "ref" | "unref">> | null;
    if (hold) socket?.ref?.();
    else socket?.unref?.();
  }
}

/**
 * Keeps one writer started ahead of need, with Python up and pyarrow imported (0.15–0.25 s here), so that a write
 * begins at once; each write takes it and starts the next. The waiting writer never keeps Node running, and exits by
 * itself when Node does (its stdin closes). For a process that writes again and again, such as the agent; a one-off
 * write should use `writeParquet`. `close()` ends the waiting writer; writes after it start their own.
 */
export class PrestartedParquetWriter {
  #waiting: WriterProcess | undefined;

  constructor() {
    this.#waiting = this.#prestart();
  }

  #prestart(): WriterProcess {
    const writer = startWriter(["--args-from-stdin"]);
    holdEventLoop(writer, false);
    return writer;
  }

  // Async, so that bad options reject like a failed write; everything up to handing over the writer runs at once.
  readonly write: ParquetWrite = async (options) => {
    const args = writerArguments(options);
    if (this.#waiting === undefined) return writeParquet(options);
    const writer = this.#waiting;
    this.#waiting = this.#prestart();
    if (writer.child.exitCode !== null || writer.child.signalCode !== null) {
      // It died waiting (killed from outside): this write starts a writer of its own.
      return writeParquet(options);
    }
    holdEventLoop(writer, true);
    writer.child.stdin.write(`${JSON.stringify(args)}\n`);
    return finishWrite(writer, options);
  };

  /** Ends the waiting writer (it exits on end of input). */
  close(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.child.stdin.end();
  }
}
