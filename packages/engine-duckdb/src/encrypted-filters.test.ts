import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { writeParquet as writeEncryptedParquet } from "@cleanroom/parquet-crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJob } from "./engine.js";
import type { EngineJob, Field, JobInput } from "./job.js";
import { createWorkspace, readJsonLines, recorder, writeParquet, type Workspace } from "./testing.case.js";
import { jsonLinesFileWriter } from "./writers/json-lines.js";

// Segments that filter their inputs, over two datasets encrypted under two keys, each in several row groups: the
// shapes DuckDB would push into the Parquet scan (a WHERE on an input column, the filter a join derives from the
// other side, IN lists, top-N), each of which made DuckDB 1.5 fail the GCM tag check of the pages it read
// (docs/parquet-encryption.md). Every result must equal plain DuckDB's over the same rows unencrypted, with all of
// its optimizers on.

const ROWS = 120_000;
const ROW_GROUP = 25_000;
const IMPRESSIONS: readonly Field[] = [
  { name: "user_id", type: "long" },
  { name: "campaign", type: "string" },
  { name: "day", type: "date" },
  { name: "cost", type: "number" },
];
const CONVERSIONS: readonly Field[] = [
  { name: "user_id", type: "long" },
  { name: "campaign", type: "string" },
  { name: "revenue", type: "number" },
];
const IMPRESSIONS_SQL = `SELECT range AS user_id, 'c' || (range % 13) AS campaign,
  DATE '2026-10-01' + CAST(range % 30 AS INTEGER) AS day, (range % 97) / 4.0 AS cost FROM range(${ROWS})`;
// Half of the users overlap: conversions start in the middle of the impressions' ids.
const CONVERSIONS_SQL = `SELECT range + ${ROWS / 2} AS user_id, 'c' || (range % 7) AS campaign, (range % 89) / 2.0 AS revenue
  FROM range(${ROWS})`;

const QUERIES: readonly [string, string][] = [
  ["a range on one input", "SELECT count(*) AS n, sum(cost) AS total FROM impressions WHERE user_id >= 30000 AND user_id < 70000"],
  ["an equality on a string column", "SELECT count(*) AS n FROM impressions WHERE campaign = 'c5'"],
  ["a date range", "SELECT day, count(*) AS n FROM impressions WHERE day BETWEEN DATE '2026-10-10' AND DATE '2026-10-12' GROUP BY day ORDER BY day"],
  ["an IN list", "SELECT campaign, count(*) AS n FROM conversions WHERE campaign IN ('c1', 'c4') GROUP BY campaign ORDER BY campaign"],
  ["an OR of two columns", "SELECT count(*) AS n FROM conversions WHERE revenue > 40 OR campaign = 'c0'"],
  [
    "a join (the filter it derives from the other side) with filters on both sides",
    `SELECT i.campaign, count(*) AS n, sum(c.revenue) AS revenue
     FROM impressions i JOIN conversions c ON i.user_id = c.user_id
     WHERE i.day >= DATE '2026-10-15' AND c.revenue < 20 GROUP BY i.campaign ORDER BY i.campaign`,
  ],
  ["a semi-join", "SELECT count(*) AS n FROM impressions WHERE user_id IN (SELECT user_id FROM conversions WHERE campaign = 'c3')"],
  ["top-N", "SELECT user_id, revenue FROM conversions ORDER BY revenue DESC, user_id LIMIT 5"],
  ["a LIKE prefix and IS NOT NULL", "SELECT count(*) AS n FROM impressions WHERE campaign LIKE 'c1%' AND cost IS NOT NULL"],
  ["a correlated EXISTS", "SELECT count(*) AS n FROM conversions c WHERE EXISTS (SELECT 1 FROM impressions i WHERE i.user_id = c.user_id AND i.cost > 20)"],
  [
    "a constant in the join condition, and a CTE",
    `WITH late AS (SELECT * FROM impressions WHERE day > DATE '2026-10-25')
     SELECT c.campaign, count(*) AS n FROM late l JOIN conversions c ON l.user_id = c.user_id AND c.campaign = 'c2'
     GROUP BY c.campaign`,
  ],
];

let ws: Workspace;
const plain = { impressions: "", conversions: "" };
const encrypted: Record<"impressions" | "conversions", { file: string; key: Buffer }> = {
  impressions: { file: "", key: randomBytes(32) },
  conversions: { file: "", key: randomBytes(32) },
};

beforeAll(async () => {
  ws = await createWorkspace();
  for (const [name, sql, fields] of [
    ["impressions", IMPRESSIONS_SQL, IMPRESSIONS],
    ["conversions", CONVERSIONS_SQL, CONVERSIONS],
  ] as const) {
    plain[name] = join(ws.dir, `${name}.plain.parquet`);
    await writeParquet(plain[name], sql);
    encrypted[name].file = join(ws.dir, `${name}.encrypted.parquet`);
    await writeEncryptedParquet({ input: { format: "parquet", path: plain[name] }, fields, outputPath: encrypted[name].file, key: encrypted[name].key, rowGroupSize: ROW_GROUP });
  }
}, 60_000);
afterAll(async () => {
  await ws.cleanup();
});

/** Plain DuckDB, default settings, over the unencrypted files: the expected rows, and their column types. */
async function expected(sql: string): Promise<{ rows: unknown[]; fields: Field[] }> {
  const instance = await DuckDBInstance.create(":memory:", { autoinstall_known_extensions: "false", autoload_known_extensions: "false" });
  const connection = await instance.connect();
  try {
    for (const name of ["impressions", "conversions"] as const) {
      await connection.run(`CREATE VIEW ${name} AS SELECT * FROM read_parquet('${plain[name]}')`);
    }
    const reader = await connection.runAndReadAll(sql);
    const fields = reader.columnNames().map((name, index): Field => {
      const type = reader.columnTypes()[index]!.toString();
      return { name, type: type === "VARCHAR" ? "string" : type === "DATE" ? "date" : type === "DOUBLE" || type.startsWith("DECIMAL") ? "number" : "long" };
    });
    // DuckDB renders BIGINT and DECIMAL values as strings in JSON; the sink's "long" and "number" make them numbers.
    const rows = reader.getRowObjectsJson().map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value])));
    return { rows, fields };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function input(name: "impressions" | "conversions", fields: readonly Field[]): JobInput {
  return {
    view: name,
    datasetName: name,
    format: "parquet",
    fields,
    allowedFields: fields.map((field) => field.name),
    files: [encrypted[name].file],
    encryptionKey: encrypted[name].key,
  };
}

describe("filters over encrypted Parquet inputs", () => {
  it.each(QUERIES)("%s", async (label, sql) => {
    const { rows, fields } = await expected(sql);
    expect(rows.length, label).toBeGreaterThan(0);
    const outputPath = join(ws.dir, `${label.replaceAll(/\W+/g, "-")}.jsonl`);
    const job: EngineJob = {
      runId: "run-filters",
      contractId: "contract-1",
      inputs: [input("impressions", IMPRESSIONS), input("conversions", CONVERSIONS)],
      segments: [{ executionSequence: 1, statement: sql }],
      output: { sinkName: "results", fields, allowedFields: fields.map((field) => field.name) },
      limits: { memoryLimit: "256MB", tempDirectory: join(ws.dir, "spill"), threads: 2 },
    };
    await runJob(job, recorder(ws, { openWriter: jsonLinesFileWriter(outputPath) }).options);
    expect(await readJsonLines(outputPath)).toEqual(rows);
  });
});
