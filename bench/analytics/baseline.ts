// The analytics benchmark's baselines: plain DuckDB running the demo's SQL over the same data, without a clean room.
// (1) over the plain Parquet files, (2) over the encrypted files, which DuckDB decrypts itself (the engine's own
// reader), so that the cost of decryption shows on its own, (3) the same with the inputs loaded into tables first,
// as the engine loaded them before it read Parquet inputs through views, so that this cost shows too. Each run is what a user without a clean room would do:
// open DuckDB, create the two views over read_parquet, run the same one-segment program with the same post-filter
// (the engine's wrapping: `SELECT * FROM (<sql>) WHERE <column> >= <value>`) and COPY the result to a Parquet file.
//
// Each measurement runs in a child process of its own (this file, run as a script), so that its peak memory (the
// kernel's VmHWM of that process) is its own and no allocator state carries over from one run to the next.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";

export interface PostFilter {
  readonly columnName: string;
  readonly value: number;
}

export interface DuckDbRun {
  /** View name → Parquet files. */
  readonly views: Readonly<Record<string, readonly string[]>>;
  readonly sql: string;
  readonly postFilters: readonly PostFilter[];
  readonly outputPath: string;
  /** Base64 of the 32-byte key the encrypted files were written with; absent for plain files. */
  readonly keyBase64?: string;
  /** DuckDB's httpfs extension file, loaded for its OpenSSL AES-GCM as the engine loads it; absent: mbedtls. */
  readonly cryptoExtension?: string;
  /**
   * Load each input into a table first (every column), then query the tables: what the clean room's engine does,
   * since it seals DuckDB before the query runs (input-loader.ts). Default: views, which read only the columns and
   * row groups the query needs.
   */
  readonly materialize?: boolean;
  /** DuckDB settings, the same as the clean room's engine gets: threads and memory_limit. */
  readonly threads?: number;
  readonly memoryLimit?: string;
  readonly tempDirectory?: string;
}

export interface DuckDbRunResult {
  /** From opening DuckDB to the result file written and DuckDB closed. */
  readonly seconds: number;
  readonly rows: number;
  /** Peak resident memory of the process that ran it (VmHWM), bytes; includes Node itself (≈ 50 MB). */
  readonly peakRssBytes: number;
}

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The statement the engine runs for a one-segment program with post-filters (segment-runner.ts). */
export function postFiltered(sql: string, postFilters: readonly PostFilter[]): string {
  const where = postFilters.length === 0 ? "" : ` WHERE ${postFilters.map((f) => `${ident(f.columnName)} >= ${f.value}`).join(" AND ")}`;
  return `SELECT * FROM (\n${sql}\n) AS segment${where}`;
}

/** Runs one measurement in this process. */
export async function runDuckDbHere(run: DuckDbRun): Promise<Omit<DuckDbRunResult, "peakRssBytes">> {
  const started = performance.now();
  const options: Record<string, string> = { autoinstall_known_extensions: "false", autoload_known_extensions: "false" };
  if (run.threads !== undefined) options.threads = String(run.threads);
  if (run.memoryLimit !== undefined) options.memory_limit = run.memoryLimit;
  if (run.tempDirectory !== undefined) options.temp_directory = run.tempDirectory;
  const instance = await DuckDBInstance.create(":memory:", options);
  const connection = await instance.connect();
  let rows: number;
  try {
    const encryption = run.keyBase64 === undefined ? "" : ", encryption_config = {footer_key: 'bench'}";
    if (run.cryptoExtension !== undefined) await connection.run(`LOAD ${quote(run.cryptoExtension)}`);
    if (run.keyBase64 !== undefined) await connection.run(`PRAGMA add_parquet_key('bench', ${quote(run.keyBase64)})`);
    for (const [view, files] of Object.entries(run.views)) {
      const kind = run.materialize === true ? "TABLE" : "VIEW";
      await connection.run(`CREATE ${kind} ${ident(view)} AS SELECT * FROM read_parquet([${files.map(quote).join(", ")}]${encryption})`);
    }
    await connection.run(`COPY (${postFiltered(run.sql, run.postFilters)}) TO ${quote(run.outputPath)} (FORMAT parquet)`);
    const reader = await connection.runAndReadAll(`SELECT count(*) FROM read_parquet(${quote(run.outputPath)})`);
    rows = Number(reader.getRowsJS()[0]?.[0] ?? 0);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return { seconds: (performance.now() - started) / 1000, rows };
}

/** Peak resident memory (VmHWM) of a process, in bytes, from /proc; undefined where there is no /proc. */
export function peakRssOf(pid: number | "self"): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs one measurement in a fresh child process (see the top of this file). */
export function runDuckDb(run: DuckDbRun): Promise<DuckDbRunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--child"], { stdio: ["pipe", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (status) => {
      const line = output.trim().split("\n").at(-1) ?? "";
      if (status !== 0 || !line.startsWith("{")) reject(new Error(`the DuckDB baseline process failed (status ${status}): ${output.trim()}`));
      else resolve(JSON.parse(line) as DuckDbRunResult);
    });
    child.stdin.end(JSON.stringify(run));
  });
}

async function childMain(): Promise<void> {
  let input = "";
  for await (const chunk of process.stdin) input += (chunk as Buffer).toString();
  const result = await runDuckDbHere(JSON.parse(input) as DuckDbRun);
  process.stdout.write(`${JSON.stringify({ ...result, peakRssBytes: peakRssOf("self") ?? 0 })}\n`);
}

/** The rows of a result file (decrypted with the key if given), sorted by every column, for comparing results. */
export async function readResult(path: string, keyBase64?: string): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(":memory:", { autoinstall_known_extensions: "false", autoload_known_extensions: "false" });
  const connection = await instance.connect();
  try {
    if (keyBase64 !== undefined) await connection.run(`PRAGMA add_parquet_key('result', ${quote(keyBase64)})`);
    const encryption = keyBase64 === undefined ? "" : ", encryption_config = {footer_key: 'result'}";
    const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet(${quote(path)}${encryption}) ORDER BY ALL`);
    return reader.getRowObjectsJson();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

if (process.argv[2] === "--child" && import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  childMain().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
