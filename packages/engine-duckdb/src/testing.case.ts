import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { EngineEvent } from "./events.js";
import type { EngineJob, JobInput, Segment } from "./job.js";
import type { RunOptions } from "./engine.js";
import { jsonLinesFileWriter } from "./writers/json-lines.js";

export interface Workspace {
  readonly dir: string;
  readonly publisherCsv: string;
  readonly advertiserJson: string;
  readonly outputPath: string;
  cleanup(): Promise<void>;
}

// Six users of a publisher in two campaigns; four of them converted at the advertiser. email is in the schema but
// not in the allowed fields, so no segment may ever see it.
const PUBLISHER_ROWS = [
  "u1,c1,one@example.com,2026-11-01",
  "u2,c1,two@example.com,2026-11-01",
  "u3,c1,three@example.com,2026-11-02",
  "u4,c2,four@example.com,2026-11-02",
  "u5,c2,five@example.com,2026-11-03",
  '"u6","c3","six, with comma@example.com",2026-11-03',
];
const ADVERTISER_ROWS = [
  { user_id: "u1", conversions: 2, revenue: 10.5 },
  { user_id: "u2", conversions: 1, revenue: 3 },
  { user_id: "u3", conversions: 4, revenue: 7.25 },
  { user_id: "u4", conversions: 1, revenue: 1 },
];

export async function createWorkspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), "cleanroom-engine-"));
  const publisherCsv = join(dir, "publisher.csv");
  const advertiserJson = join(dir, "advertiser.json");
  await writeFile(publisherCsv, `${PUBLISHER_ROWS.join("\n")}\n`);
  await writeFile(advertiserJson, ADVERTISER_ROWS.map((row) => JSON.stringify(row)).join("\n") + "\n");
  return { dir, publisherCsv, advertiserJson, outputPath: join(dir, "out.jsonl"), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function publisherInput(ws: Workspace, overrides: Partial<JobInput> = {}): JobInput {
  return {
    view: "publisher_data",
    datasetName: "publisher-impressions",
    format: "csv",
    fields: [
      { name: "user_id", type: "string" },
      { name: "campaign", type: "string" },
      { name: "email", type: "string" },
      { name: "day", type: "date" },
    ],
    allowedFields: ["campaign", "user_id", "day"],
    files: [ws.publisherCsv],
    ...overrides,
  };
}

export function advertiserInput(ws: Workspace, overrides: Partial<JobInput> = {}): JobInput {
  return {
    view: "advertiser_data",
    datasetName: "advertiser-conversions",
    format: "json",
    fields: [
      { name: "user_id", type: "string" },
      { name: "conversions", type: "long" },
      { name: "revenue", type: "number" },
    ],
    allowedFields: ["user_id", "conversions", "revenue"],
    files: [ws.advertiserJson],
    ...overrides,
  };
}

export const JOIN_SEGMENT: Segment = {
  executionSequence: 1,
  statement: `CREATE OR REPLACE TEMP VIEW joined AS
    SELECT p.campaign, p.user_id, a.conversions FROM publisher_data p JOIN advertiser_data a ON p.user_id = a.user_id`,
  preConditions: [
    { viewName: "publisher_data", minRowCount: 3 },
    { viewName: "advertiser_data", minRowCount: 3 },
  ],
};

export const AGGREGATE_SEGMENT: Segment = {
  executionSequence: 2,
  statement: `SELECT campaign, COUNT(DISTINCT user_id) AS users, SUM(conversions) AS conversions
    FROM joined GROUP BY campaign ORDER BY campaign;`,
};

export function joinAggregateJob(ws: Workspace, overrides: Partial<EngineJob> = {}): EngineJob {
  return {
    runId: "run-1",
    contractId: "contract-1",
    inputs: [publisherInput(ws), advertiserInput(ws)],
    segments: [JOIN_SEGMENT, AGGREGATE_SEGMENT],
    output: {
      sinkName: "campaign-results",
      fields: [
        { name: "campaign", type: "string" },
        { name: "users", type: "long" },
        { name: "conversions", type: "long" },
      ],
      allowedFields: ["campaign", "users", "conversions"],
    },
    limits: { memoryLimit: "256MB", tempDirectory: join(ws.dir, "spill"), threads: 2 },
    ...overrides,
  };
}

export interface Recorder {
  readonly events: EngineEvent[];
  readonly options: RunOptions;
}

export function recorder(ws: Workspace, overrides: Partial<RunOptions> = {}): Recorder {
  const events: EngineEvent[] = [];
  return {
    events,
    options: {
      openWriter: jsonLinesFileWriter(ws.outputPath),
      beforeCommit: () => Promise.resolve(true),
      onEvent: (event) => events.push(event),
      ...overrides,
    },
  };
}

export async function readJsonLines(path: string): Promise<unknown[]> {
  return (await readFile(path, "utf8"))
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as unknown);
}

/** Files left in the workspace besides the inputs and the spill directory: what a failed run must not leave. */
export async function outputs(ws: Workspace): Promise<string[]> {
  return (await readdir(ws.dir)).filter((name) => !["publisher.csv", "advertiser.json", "spill"].includes(name) && !name.endsWith(".parquet"));
}

/** Plaintext Parquet fixtures are written by DuckDB in test setup, outside any job. */
export async function writeParquet(path: string, selectSql: string): Promise<void> {
  const instance = await DuckDBInstance.create(":memory:", { autoinstall_known_extensions: "false", autoload_known_extensions: "false" });
  const connection = await instance.connect();
  try {
    await connection.run(`COPY (${selectSql}) TO '${path.replaceAll("'", "''")}' (FORMAT parquet)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
