// Analytics benchmark: the demo's two-party join-aggregate (conversions and revenue per campaign, attributed to
// impressions; packages/cli/src/demo/adtech-data.ts) over encrypted Parquet in local storage.
//
//   (a) overhead: a clean-room run, from `run` to committed output, over 10M impressions + 5M conversions, divided
//       by plain DuckDB running the same SQL on the same data unencrypted, measured in the same run (target ≤ 1.3);
//       DuckDB reading the encrypted files itself is shown too, so that the cost of decryption is visible apart;
//   (b) latency: `run` → completed for a 100k-row two-party query, p50/p95 over 20 runs, against the same baselines;
//   (c) the agent's peak memory during (a), against the baselines' (each baseline runs in a process of its own).
//
// Run: npm run bench:analytics            (tsc -p bench && node .cache/bench-build/bench/analytics/run.js)
// Env: BENCH_ROWS_SCALE   rows of (a) as a multiple of 10M + 5M (default 1; 0.01 for a quick check)
//      BENCH_SEED         generator seed (default 1)
//      BENCH_REPEATS      measured runs of (a) per variant (default 3), after one unmeasured warm-up each
//      BENCH_LATENCY_RUNS runs of (b) (default 20); BENCH_LATENCY_ROWS impressions of (b) (default 100000, half as
//                         many conversions); 0 skips (b)
//      BENCH_TRACE=1      prints each clean-room run's event timeline (where its time went)
//      BENCH_THREADS, BENCH_MEMORY_LIMIT  DuckDB's threads (default: all cores) and memory limit (default 4GB, the
//                         agent's default per run), for every variant alike
// Data is generated once into .cache/bench-data/analytics/ and reused (see data.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { cryptoExtensionPath } from "@cleanroom/engine-duckdb";
import type { DatasetField, Segment } from "@cleanroom/protocol";
import { version as duckdbVersion } from "@duckdb/node-api";
import { DEMO_POST_FILTERS, DEMO_QUERY_SQL, DEMO_RESULT_FIELDS, DEMO_SEGMENTS } from "../../packages/cli/src/demo/adtech-data.js";
import { readResult, runDuckDb, type DuckDbRun, type DuckDbRunResult } from "./baseline.js";
import { DATASETS, prepareAnalyticsData, type AnalyticsData } from "./data.js";

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, not ${raw}`);
  return value;
}

const SCALE = envNumber("BENCH_ROWS_SCALE", 1);
const SEED = envNumber("BENCH_SEED", 1);
const REPEATS = Math.max(1, Math.round(envNumber("BENCH_REPEATS", 3)));
const LATENCY_RUNS = Math.round(envNumber("BENCH_LATENCY_RUNS", 20));
const LATENCY_ROWS = Math.round(envNumber("BENCH_LATENCY_ROWS", 100_000));
const THREADS = Math.max(1, Math.round(envNumber("BENCH_THREADS", availableParallelism())));
const MEMORY_LIMIT = process.env.BENCH_MEMORY_LIMIT || "4GB";
const OVERHEAD_TARGET = 1.3;
// What the engine decrypts with (packages/engine-duckdb/src/crypto-extension.ts), so the encrypted baselines do too.
const CRYPTO_EXTENSION = cryptoExtensionPath(duckdbVersion());

// The clean-room half (clean-room.ts): a real local stack set up as the demo does, over the encrypted folders with
// `data.key` as the owners' secrets; each run timed from `POST /queries/{id}/run` to COMPLETED (output committed),
// with the same `threads` and `memoryLimit` as the baselines, and its result checked against the baseline's.

export interface CleanRoomInput {
  readonly data: AnalyticsData;
  readonly views: Readonly<Record<string, string>>;
  readonly segments: readonly Segment[];
  readonly resultFields: readonly DatasetField[];
  readonly runs: number;
  readonly threads: number;
  readonly memoryLimit: string;
  /** A scratch folder for the session (sink, governance, agent work directories); removed afterwards. */
  readonly workDir: string;
  readonly log: (line: string) => void;
}

export interface CleanRoomRun {
  readonly seconds: number;
  readonly rows: number;
  /** The committed result (a Parquet file) and the sink's key as base64, to check it against the baseline. */
  readonly outputPath?: string;
  readonly outputKeyBase64?: string;
}

export interface CleanRoomResult {
  readonly runs: readonly CleanRoomRun[];
  /** The agent process's peak resident memory (VmHWM) over the session, bytes. */
  readonly agentPeakRssBytes?: number;
}

export async function runCleanRoom(input: CleanRoomInput): Promise<CleanRoomResult> {
  const { runCleanRoomSession } = await import("./clean-room.js");
  return runCleanRoomSession(input);
}

const log = (line: string) => process.stdout.write(`${line}\n`);

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const median = (values: readonly number[]) => percentile(values, 50);
const mib = (bytes: number | undefined) => (bytes === undefined || bytes === 0 ? "n/a" : `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`);
const secs = (value: number) => (Number.isNaN(value) ? "n/a" : value < 1 ? `${(value * 1000).toFixed(0)} ms` : `${value.toFixed(2)} s`);

const VARIANTS = ["plain", "encrypted", "materialized"] as const;
type Variant = (typeof VARIANTS)[number];
const VARIANT_LABELS: Record<Variant, string> = {
  plain: "plain DuckDB, plain Parquet (baseline)",
  encrypted: "DuckDB reading the encrypted Parquet",
  materialized: "  … inputs loaded into tables first",
};

function duckDbRun(data: AnalyticsData, variant: Variant, outputPath: string): DuckDbRun {
  return {
    views: Object.fromEntries(DATASETS.map((dataset) => [data.datasets[dataset].view, [data.datasets[dataset][variant === "plain" ? "plain" : "encrypted"].file]])),
    sql: DEMO_QUERY_SQL,
    postFilters: DEMO_POST_FILTERS,
    outputPath,
    ...(variant === "plain" ? {} : { keyBase64: data.key.toString("base64"), ...(CRYPTO_EXTENSION ? { cryptoExtension: CRYPTO_EXTENSION } : {}) }),
    materialize: variant === "materialized",
    threads: THREADS,
    memoryLimit: MEMORY_LIMIT,
  };
}

type Series = Record<Variant, DuckDbRunResult[]>;

async function measureBaselines(data: AnalyticsData, work: string, runs: number, label: string): Promise<Series> {
  const series: Series = { plain: [], encrypted: [], materialized: [] };
  for (let index = 0; index < runs; index++) {
    // Interleaved, so that a slow minute of the machine hits every variant alike.
    for (const variant of VARIANTS) {
      const result = await runDuckDb(duckDbRun(data, variant, join(work, `${label}-${variant}-${index}.parquet`)));
      series[variant].push(result);
    }
  }
  return series;
}

async function cleanRoom(data: AnalyticsData, runs: number, work: string): Promise<CleanRoomResult | string> {
  const workDir = mkdtempSync(join(work, "clean-room-"));
  try {
    return await runCleanRoom({
      data,
      views: Object.fromEntries(DATASETS.map((dataset) => [dataset, data.datasets[dataset].view])),
      segments: DEMO_SEGMENTS,
      resultFields: DEMO_RESULT_FIELDS,
      runs,
      threads: THREADS,
      memoryLimit: MEMORY_LIMIT,
      workDir,
      log,
    });
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function sameRows(label: string, expected: unknown, path: string, keyBase64?: string): Promise<void> {
  const actual = await readResult(path, keyBase64);
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${label}: the result differs from plain DuckDB's`);
}

async function main(): Promise<void> {
  const impressionRows = Math.round(10_000_000 * SCALE);
  const conversionRows = Math.round(5_000_000 * SCALE);
  const work = mkdtempSync(join(tmpdir(), "cleanroom-bench-analytics-"));
  try {
    const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
    log(`\nAnalytics: conversions and revenue per campaign, attributed to impressions (two-party join-aggregate)`);
    log(`machine: ${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
    log(`DuckDB ${duckdbVersion()} settings for every variant: threads=${THREADS}, memory_limit=${MEMORY_LIMIT}`);
    log(`decryption: ${CRYPTO_EXTENSION ? `OpenSSL (${CRYPTO_EXTENSION})` : "DuckDB's bundled mbedtls"}\n`);

    const data = await prepareAnalyticsData({ impressionRows, conversionRows, seed: SEED, log });
    log(`data: ${data.dir} (${data.cached ? "cached" : `generated in ${data.prepareSeconds.toFixed(1)} s`})`);
    for (const dataset of DATASETS) {
      const info = data.datasets[dataset];
      log(`  ${info.view}: ${info.rows.toLocaleString("en")} rows, ${info.rowGroups} row groups, plain ${mib(info.plain.bytes)}, encrypted ${mib(info.encrypted.bytes)}`);
    }

    // (a) overhead
    log(`\n(a) ${impressionRows.toLocaleString("en")} + ${conversionRows.toLocaleString("en")} rows: warm-up, then ${REPEATS} run(s) of each baseline before and after the clean room`);
    await measureBaselines(data, work, 1, "warmup");
    const before = await measureBaselines(data, work, REPEATS, "before");
    const reference = await readResult(join(work, "before-plain-0.parquet"));
    await sameRows("DuckDB over the encrypted files", reference, join(work, "before-encrypted-0.parquet"));
    await sameRows("DuckDB over the encrypted files, materialized", reference, join(work, "before-materialized-0.parquet"));
    const room = await cleanRoom(data, REPEATS, work);
    const after = await measureBaselines(data, work, REPEATS, "after");
    const all = (variant: Variant) => [...before[variant], ...after[variant]];
    const plain = all("plain");
    const base = median(plain.map((r) => r.seconds));
    const medians = {} as Record<Variant, number>;
    const rows: Array<[string, number, number, number, number | undefined, string]> = [];
    for (const variant of VARIANTS) {
      const times = all(variant).map((r) => r.seconds);
      medians[variant] = median(times);
      rows.push([VARIANT_LABELS[variant], medians[variant], Math.min(...times), Math.max(...times), Math.max(...all(variant).map((r) => r.peakRssBytes)), (medians[variant] / base).toFixed(2)]);
    }
    let roomSeconds = NaN;
    if (typeof room === "string") {
      rows.push([`clean room, run → committed (${room})`, NaN, NaN, NaN, undefined, "n/a"]);
    } else {
      const times = room.runs.map((r) => r.seconds);
      roomSeconds = median(times);
      rows.push(["clean room, run → committed output", roomSeconds, Math.min(...times), Math.max(...times), room.agentPeakRssBytes, (roomSeconds / base).toFixed(2)]);
      for (const [index, run] of room.runs.entries()) if (run.outputPath) await sameRows(`clean-room run ${index + 1}`, reference, run.outputPath, run.outputKeyBase64);
    }
    log("");
    log(`${"".padEnd(50)}${"median".padStart(10)}${"min".padStart(10)}${"max".padStart(10)}${"peak RSS".padStart(11)}${"÷ baseline".padStart(12)}`);
    for (const [label, median, min, max, peak, ratio] of rows) {
      log(`${label.padEnd(50)}${secs(median).padStart(10)}${secs(min).padStart(10)}${secs(max).padStart(10)}${mib(peak).padStart(11)}${ratio.padStart(12)}`);
    }
    log(`result: ${reference.length} campaigns (of ${data.scenario.campaigns}) with at least ${DEMO_POST_FILTERS[0]?.value ?? 0} converting users; target clean room ÷ baseline ≤ ${OVERHEAD_TARGET}`);
    log(`baseline drift: plain median ${secs(median(before.plain.map((r) => r.seconds)))} before, ${secs(median(after.plain.map((r) => r.seconds)))} after`);

    // (b) latency
    let latency: Record<string, { p50: number; p95: number }> | undefined;
    if (LATENCY_RUNS > 0 && LATENCY_ROWS > 0) {
      const small = await prepareAnalyticsData({ impressionRows: LATENCY_ROWS, conversionRows: Math.round(LATENCY_ROWS / 2), seed: SEED, log });
      log(`\n(b) latency, ${LATENCY_ROWS.toLocaleString("en")} + ${Math.round(LATENCY_ROWS / 2).toLocaleString("en")} rows, ${LATENCY_RUNS} runs each (each baseline run is a fresh DuckDB in a fresh process)`);
      await measureBaselines(small, work, 1, "latency-warmup");
      const series = await measureBaselines(small, work, LATENCY_RUNS, "latency");
      const smallRoom = await cleanRoom(small, LATENCY_RUNS, work);
      const latencies: Record<string, { p50: number; p95: number }> = {};
      latency = latencies;
      const line = (label: string, times: readonly number[] | string) => {
        if (typeof times === "string") {
          log(`${label.padEnd(50)}${"n/a".padStart(10)}${"n/a".padStart(10)}   (${times})`);
          return;
        }
        const p50 = percentile(times, 50);
        const p95 = percentile(times, 95);
        latencies[label.trim()] = { p50, p95 };
        log(`${label.padEnd(50)}${secs(p50).padStart(10)}${secs(p95).padStart(10)}`);
      };
      log(`${"".padEnd(50)}${"p50".padStart(10)}${"p95".padStart(10)}`);
      for (const variant of VARIANTS) line(VARIANT_LABELS[variant], series[variant].map((r) => r.seconds));
      line("clean room, run → completed", typeof smallRoom === "string" ? smallRoom : smallRoom.runs.map((r) => r.seconds));
    }

    log(
      `\n${JSON.stringify({
        impressionRows,
        conversionRows,
        threads: THREADS,
        memoryLimit: MEMORY_LIMIT,
        baselineSeconds: base,
        encryptedReadSeconds: medians.encrypted,
        encryptedReadRatio: medians.encrypted / base,
        encryptedMaterializedSeconds: medians.materialized,
        encryptedMaterializedRatio: medians.materialized / base,
        cleanRoomSeconds: Number.isNaN(roomSeconds) ? null : roomSeconds,
        cleanRoomRatio: Number.isNaN(roomSeconds) ? null : roomSeconds / base,
        baselinePeakRssBytes: Math.max(...plain.map((r) => r.peakRssBytes)),
        encryptedPeakRssBytes: Math.max(...all("encrypted").map((r) => r.peakRssBytes)),
        materializedPeakRssBytes: Math.max(...all("materialized").map((r) => r.peakRssBytes)),
        agentPeakRssBytes: typeof room === "string" ? null : (room.agentPeakRssBytes ?? null),
        latency: latency ?? null,
        plainRuns: plain.map((r) => r.seconds),
        encryptedRuns: all("encrypted").map((r) => r.seconds),
        materializedRuns: all("materialized").map((r) => r.seconds),
      })}`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
