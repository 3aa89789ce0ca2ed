// The demo's synthetic ad-tech data: deterministic, the declared shape, a realistic overlap between the parties, and
// a demo query that DuckDB (and the engine, with its statement guard and sink type checks) runs as intended.
import { DUCKDB_TYPES } from "@cleanroom/engine-duckdb";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { runJob, type ResultValue } from "@cleanroom/engine-duckdb";
import { FIELD_TYPES } from "@cleanroom/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADTECH_FIELDS,
  ADTECH_VIEWS,
  CONVERSION_FIELDS,
  DEMO_MIN_GROUP_SIZE,
  DEMO_QUERY_SQL,
  DEMO_RESULT_FIELDS,
  DEMO_SEGMENTS,
  IMPRESSION_FIELDS,
  adtechCsvChunks,
  adtechScenario,
  adtechUserId,
  writeAdtechCsv,
  type AdtechDataset,
  type AdtechScenario,
} from "./adtech-data.js";

const work = mkdtempSync(join(tmpdir(), "cleanroom-adtech-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));


function digest(dataset: AdtechDataset, scenario: AdtechScenario, options: Parameters<typeof adtechCsvChunks>[2] = {}): string {
  const hash = createHash("sha256");
  for (const chunk of adtechCsvChunks(dataset, scenario, options)) hash.update(chunk);
  return hash.digest("hex");
}

describe("ad-tech data generator", () => {
  const scenario = adtechScenario({ impressionRows: 20_000, conversionRows: 10_000, seed: 42 });

  it("is deterministic: the same scenario gives the same bytes, another seed other bytes", () => {
    for (const dataset of ["impressions", "conversions"] as const) {
      expect(digest(dataset, scenario)).toBe(digest(dataset, adtechScenario({ impressionRows: 20_000, conversionRows: 10_000, seed: 42 })));
      expect(digest(dataset, scenario)).not.toBe(digest(dataset, { ...scenario, seed: 43 }));
    }
  });

  it("gives the same rows however they are split into ranges and chunks", () => {
    const big = adtechScenario({ impressionRows: 150_000, conversionRows: 10, seed: 9 });
    const whole = Buffer.concat([...adtechCsvChunks("impressions", big)]);
    // 70,000 is mid-block (blocks are 65,536 rows): the second range fast-forwards its block's generator.
    const parts = Buffer.concat([
      ...adtechCsvChunks("impressions", big, { end: 70_000, chunkBytes: 4096 }),
      ...adtechCsvChunks("impressions", big, { start: 70_000 }),
    ]);
    expect(parts.equals(whole)).toBe(true);
    expect(() => [...adtechCsvChunks("impressions", big, { start: 10, end: 150_001 })]).toThrow(RangeError);
  });

  it("writes the requested rows, with or without a header, and reports the bytes", async () => {
    for (const header of [true, false]) {
      for (const dataset of ["impressions", "conversions"] as const) {
        const path = join(work, `${dataset}-${header}.csv`);
        const result = await writeAdtechCsv(dataset, scenario, path, { header });
        const rows = dataset === "impressions" ? 20_000 : 10_000;
        const lines = readFileSync(path, "latin1").split("\n");
        expect(lines.pop()).toBe(""); // ends with a newline
        expect(result).toEqual({ rows, bytes: statSync(path).size });
        expect(lines).toHaveLength(rows + (header ? 1 : 0));
        if (header) expect(lines[0]).toBe(ADTECH_FIELDS[dataset].map((field) => field.name).join(","));
        for (const line of lines.slice(header ? 1 : 0, 50)) expect(line.split(",")).toHaveLength(ADTECH_FIELDS[dataset].length);
      }
    }
  });

  it("declares protocol field types, and every row parses as declared", async () => {
    for (const field of [...IMPRESSION_FIELDS, ...CONVERSION_FIELDS, ...DEMO_RESULT_FIELDS]) expect(FIELD_TYPES).toContain(field.type);
    await withDuckDb(async (connection) => {
      const stats = await rows(
        connection,
        `SELECT count(*)::INTEGER AS n, count(DISTINCT campaign_id)::INTEGER AS campaigns, min(impression_date)::VARCHAR AS first,
           max(impression_date)::VARCHAR AS last, count(DISTINCT site)::INTEGER AS sites, count(DISTINCT device)::INTEGER AS devices,
           min(impressions) AS min_impressions, max(impressions) AS max_impressions,
           bool_and(regexp_full_match(user_id, '[0-9a-f]{16}')) AS hex_ids, count(*) FILTER (WHERE user_id IS NULL)::INTEGER AS nulls
         FROM publisher_impressions`,
      );
      expect(stats).toEqual([
        { n: 20_000, campaigns: expect.any(Number), first: "2026-10-17", last: "2026-11-15", sites: 12, devices: 4, min_impressions: 1, max_impressions: 8, hex_ids: true, nulls: 0 },
      ]);
      expect(stats[0]!.campaigns).toBeGreaterThanOrEqual(38);
      const conversions = await rows(
        connection,
        `SELECT count(*)::INTEGER AS n, min(conversions) AS min_conversions, max(conversions) AS max_conversions,
           min(revenue) >= 4.99 AS positive_revenue, bool_and(round(revenue, 2) = revenue) AS cents,
           min(conversion_date)::VARCHAR AS first, max(conversion_date)::VARCHAR AS last
         FROM advertiser_conversions`,
      );
      expect(conversions).toEqual([{ n: 10_000, min_conversions: 1, max_conversions: 4, positive_revenue: true, cents: true, first: "2026-10-17", last: "2026-11-15" }]);
    });
  });

  it("shares a realistic part of the user population: joining on user_id matches 30–50% of conversions", async () => {
    expect(adtechUserId(42, 7)).toMatch(/^[0-9a-f]{16}$/);
    await withDuckDb(async (connection) => {
      const [overlap] = await rows(
        connection,
        `SELECT avg(CASE WHEN user_id IN (SELECT user_id FROM publisher_impressions) THEN 1 ELSE 0 END) AS matched
         FROM advertiser_conversions`,
      );
      expect(overlap!.matched).toBeGreaterThan(0.3);
      expect(overlap!.matched).toBeLessThan(0.5);
      // adtechUserId is the function the data uses: every publisher id is one of its users', every advertiser id one of
      // the advertiser's, and exactly the shared indexes are both.
      const ids = (from: number, count: number) => new Set(Array.from({ length: count }, (_, index) => adtechUserId(42, from + index)));
      const publisher = ids(0, scenario.publisherUsers);
      const advertiser = ids(scenario.publisherUsers - scenario.sharedUsers, scenario.advertiserUsers);
      const seen = async (view: string) => (await rows(connection, `SELECT DISTINCT user_id FROM ${view}`)).map((row) => String(row.user_id));
      expect((await seen("publisher_impressions")).every((id) => publisher.has(id))).toBe(true);
      expect((await seen("advertiser_conversions")).every((id) => advertiser.has(id))).toBe(true);
      expect([...advertiser].filter((id) => publisher.has(id))).toHaveLength(scenario.sharedUsers);
    });
  });

  it("runs the demo query in DuckDB: one row per campaign, the same as an independent formulation", async () => {
    await withDuckDb(async (connection) => {
      const result = await rows(connection, `SELECT * FROM (${DEMO_QUERY_SQL}) ORDER BY campaign_id`);
      const ids = result.map((row) => row.campaign_id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBeGreaterThanOrEqual(35);
      for (const id of ids) expect(id).toMatch(/^cmp-0(0[1-9]|[1-3]\d|40)$/);
      // Attribution said differently: conversions for which an impression of the campaign exists on or before the day.
      const expected = await rows(
        connection,
        `SELECT campaign_id, count(DISTINCT user_id) AS converting_users, sum(conversions)::BIGINT AS conversions, round(sum(revenue), 2) AS revenue
         FROM advertiser_conversions AS c
         WHERE EXISTS (SELECT 1 FROM publisher_impressions AS p
                       WHERE p.user_id = c.user_id AND p.campaign_id = c.campaign_id AND p.impression_date <= c.conversion_date)
         GROUP BY campaign_id ORDER BY campaign_id`,
      );
      expect(result).toEqual(expected);
      const attributed = result.reduce((sum, row) => sum + Number(row.conversions), 0);
      expect(attributed).toBeGreaterThan(0);
      // Popular campaigns clear the minimum group size even in a sample; the pilots never do.
      expect(result.filter((row) => Number(row.converting_users) >= DEMO_MIN_GROUP_SIZE).length).toBeGreaterThanOrEqual(3);
      expect(result.filter((row) => ["cmp-039", "cmp-040"].includes(String(row.campaign_id))).every((row) => Number(row.converting_users) < DEMO_MIN_GROUP_SIZE)).toBe(true);
    });
  });

  it("runs as the demo's query on the engine: accepted by its statement guard, post-filtered, typed as the sink", async () => {
    const files = await csvFiles();
    const written: ResultValue[][] = [];
    const result = await runJob(
      {
        runId: "adtech-test",
        contractId: "demo",
        inputs: (["impressions", "conversions"] as const).map((dataset) => ({
          view: ADTECH_VIEWS[dataset],
          datasetName: dataset,
          format: "csv" as const,
          fields: ADTECH_FIELDS[dataset],
          allowedFields: ADTECH_FIELDS[dataset].map((field) => field.name),
          files: [files[dataset]],
        })),
        segments: DEMO_SEGMENTS,
        output: { sinkName: "results", fields: DEMO_RESULT_FIELDS, allowedFields: DEMO_RESULT_FIELDS.map((field) => field.name) },
        limits: { memoryLimit: "1GB", tempDirectory: join(work, "spill"), threads: 2 },
      },
      {
        beforeCommit: () => Promise.resolve(true),
        openWriter: (columns) => {
          expect(columns).toEqual(DEMO_RESULT_FIELDS);
          return Promise.resolve({
            location: "memory",
            write: (chunk) => Promise.resolve(void written.push(...chunk.rows.map((row) => [...row]))),
            close: () => Promise.resolve(),
            abort: () => Promise.resolve(),
          });
        },
      },
    );
    expect(result.rowsRead).toBe(30_000);
    expect(result.rowsWritten).toBe(written.length);
    expect(written.length).toBeGreaterThanOrEqual(3);
    for (const [campaign, users, conversions, revenue] of written) {
      expect(campaign).toMatch(/^cmp-\d{3}$/);
      expect(Number(users)).toBeGreaterThanOrEqual(DEMO_MIN_GROUP_SIZE);
      expect(typeof conversions).toBe("bigint");
      expect(typeof revenue).toBe("number");
    }
  });

  // Sample files (no header: the engine reads CSV by position) and DuckDB views over them, typed as declared.
  let sample: Promise<Record<AdtechDataset, string>> | undefined;
  function csvFiles(): Promise<Record<AdtechDataset, string>> {
    sample ??= (async () => {
      const paths = { impressions: join(work, "sample-impressions.csv"), conversions: join(work, "sample-conversions.csv") };
      await writeAdtechCsv("impressions", scenario, paths.impressions);
      await writeAdtechCsv("conversions", scenario, paths.conversions);
      return paths;
    })();
    return sample;
  }

  let instance: DuckDBInstance;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(":memory:", { autoinstall_known_extensions: "false", autoload_known_extensions: "false" });
    const files = await csvFiles();
    const connection = await instance.connect();
    try {
      for (const dataset of ["impressions", "conversions"] as const) {
        const columns = ADTECH_FIELDS[dataset].map((field) => `'${field.name}': '${DUCKDB_TYPES[field.type]}'`).join(", ");
        await connection.run(
          `CREATE VIEW ${ADTECH_VIEWS[dataset]} AS SELECT * FROM read_csv('${files[dataset]}', header = false, auto_detect = false, columns = {${columns}})`,
        );
      }
    } finally {
      connection.closeSync();
    }
  });
  afterAll(() => instance.closeSync());

  async function withDuckDb(body: (connection: DuckDBConnection) => Promise<void>): Promise<void> {
    const connection = await instance.connect();
    try {
      await body(connection);
    } finally {
      connection.closeSync();
    }
  }
});

async function rows(connection: DuckDBConnection, sql: string): Promise<Array<Record<string, unknown>>> {
  const result = (await connection.runAndReadAll(sql)).getRowObjectsJS();
  // BIGINTs come back as bigint; numbers compare more readably.
  return result.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === "bigint" ? Number(value) : value])));
}
