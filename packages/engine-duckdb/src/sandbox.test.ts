import { readFile, readdir, rm, writeFile } from "node:fs/promises";
import { version } from "@duckdb/node-api";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJob } from "./engine.js";
import { cryptoExtensionPath } from "./crypto-extension.js";
import { EngineError } from "./errors.js";
import { createJobInstance, parquetCryptoOf, sealInstance } from "./sandbox.js";
import { parseCreatePrefix } from "./statement-guard.js";
import { createWorkspace, joinAggregateJob, outputs, recorder, writeParquet, type Workspace } from "./testing.case.js";

let ws: Workspace;
let otherDatasetCsv: string;
let otherDatasetParquet: string;
beforeAll(async () => {
  ws = await createWorkspace();
  // Another dataset's files on the same machine, not mapped by the query.
  otherDatasetCsv = ws.publisherCsv;
  otherDatasetParquet = join(ws.dir, "other.parquet");
  await writeParquet(otherDatasetParquet, "SELECT 'secret' AS s");
});
afterAll(async () => {
  await ws.cleanup();
});

async function runSegment(statement: string): Promise<EngineError> {
  // Only the advertiser's dataset is mapped; the publisher's file is "another dataset's path".
  const job = joinAggregateJob(ws, { inputs: [joinAggregateJob(ws).inputs[1]!], segments: [{ executionSequence: 1, statement }] });
  const { events, options } = recorder(ws);
  const error = await runJob(job, options).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, statement).toBeInstanceOf(EngineError);
  // Refused before any data was loaded, and nothing written.
  expect(events.map((event) => event.name)).not.toContain("DATASET_LOAD_STARTED");
  expect(await outputs(ws)).toEqual([]);
  return error as EngineError;
}

describe("segments reach only the job's views", () => {
  const escapes: [string, () => string, RegExp][] = [
    ["read_csv on another dataset's file", () => `SELECT * FROM read_csv('${otherDatasetCsv}')`, /table function read_csv is not available/],
    ["read_csv_auto", () => `SELECT * FROM read_csv_auto('${otherDatasetCsv}')`, /table function read_csv_auto/],
    ["read_parquet", () => `SELECT * FROM read_parquet('${otherDatasetParquet}')`, /table function read_parquet/],
    ["read_json", () => `SELECT * FROM read_json('${ws.advertiserJson}')`, /table function read_json/],
    ["a file path as a table", () => `SELECT * FROM '${otherDatasetCsv}'`, /looks like a file or URL/],
    ["a URL as a table", () => "SELECT * FROM 'https://example.com/x.parquet'", /looks like a file or URL/],
    ["read_text in a subquery", () => `SELECT (SELECT content FROM read_text('${otherDatasetCsv}')) AS c`, /table function read_text/],
    ["query() running other SQL", () => "SELECT * FROM query('SELECT 1')", /table function query/],
    ["COPY … TO", () => `COPY advertiser_data TO '${join(ws.dir, "leak.csv")}'`, /only be a SELECT/],
    ["COPY (SELECT) TO", () => `COPY (SELECT * FROM advertiser_data) TO '${join(ws.dir, "leak.csv")}'`, /only be a SELECT/],
    ["ATTACH", () => `ATTACH '${join(ws.dir, "other.db")}' AS other`, /only be a SELECT/],
    ["INSTALL", () => "INSTALL httpfs", /only be a SELECT/],
    ["LOAD", () => "LOAD httpfs", /only be a SELECT/],
    ["SET", () => "SET enable_external_access = true", /only be a SELECT/],
    ["RESET", () => "RESET lock_configuration", /only be a SELECT/],
    ["PRAGMA", () => "PRAGMA database_list", /only be a SELECT/],
    ["CALL", () => "CALL pragma_version()", /only be a SELECT/],
    ["EXPORT DATABASE", () => `EXPORT DATABASE '${join(ws.dir, "export")}'`, /only be a SELECT/],
    ["a second statement after ;", () => `SELECT 1 AS x; COPY advertiser_data TO '${join(ws.dir, "leak.csv")}'`, /exactly one SQL statement, found 2/],
    ["duckdb_settings()", () => "SELECT * FROM duckdb_settings()", /table function duckdb_settings/],
    ["a catalog view", () => "SELECT * FROM duckdb_tables", /DuckDB's catalog/],
    ["information_schema", () => "SELECT * FROM information_schema.tables", /qualified names/],
    ["another database", () => "SELECT * FROM other.main.t", /qualified names/],
    ["current_setting()", () => "SELECT current_setting('temp_directory') AS d", /current_setting exposes/],
    ["SHOW", () => "SHOW TABLES", /SHOW_REF/],
    ["DESCRIBE", () => "DESCRIBE advertiser_data", /SHOW_REF/],
    ["CREATE SECRET", () => "CREATE TEMP SECRET s (TYPE s3, KEY_ID 'k')", /only be a SELECT|does not parse/],
    ["CREATE MACRO", () => "CREATE TEMP MACRO m(a) AS a", /only be a SELECT/],
    ["a persistent view", () => "CREATE VIEW v AS SELECT 1", /only be a SELECT/],
    ["a view over a file", () => `CREATE TEMP VIEW v AS SELECT * FROM read_csv('${otherDatasetCsv}')`, /table function read_csv/],
    ["a reserved name", () => "CREATE OR REPLACE TEMP TABLE __cleanroom_output AS SELECT 1 AS x", /reserved for the engine/],
    ["a CREATE whose query is not a query", () => `CREATE TEMP TABLE t AS (SELECT 1) ; SELECT 2`, /exactly one SQL statement/],
    ["INSERT", () => "INSERT INTO advertiser_data VALUES ('u9', 1, 1)", /only be a SELECT/],
    ["EXPLAIN", () => "EXPLAIN SELECT 1", /only be a SELECT/],
  ];

  it.each(escapes)("refuses %s", async (_, statement, reason) => {
    const error = await runSegment(statement());
    expect(error.code).toBe("StatementNotAllowed");
    expect(error.message).toMatch(/^segment 1 is not allowed: /);
    expect(error.message).toMatch(reason);
  });

  it("nothing leaked to disk", async () => {
    expect((await readdir(ws.dir)).sort()).toEqual(["advertiser.json", "other.parquet", "publisher.csv"]);
  });
});

describe("the sandbox beneath the guard", () => {
  // Were a statement ever to slip past the guard, the sealed instance itself must still refuse it.
  it("a sealed instance opens no file, changes no setting and loads no extension", async () => {
    const instance = await createJobInstance({ memoryLimit: "128MB", tempDirectory: join(ws.dir, "spill") });
    const connection = await instance.connect();
    try {
      await connection.run(`CREATE TABLE t AS SELECT * FROM read_csv('${otherDatasetCsv}', header = false)`);
      await sealInstance(connection);
      const other = await instance.connect();
      for (const sql of [
        `SELECT * FROM read_csv('${otherDatasetCsv}')`,
        `SELECT * FROM '${otherDatasetParquet}'`,
        `COPY t TO '${join(ws.dir, "leak.csv")}'`,
        `ATTACH '${join(ws.dir, "other.db")}'`,
        "SET enable_external_access = true",
        "RESET lock_configuration",
        "SET memory_limit = '100GB'",
        `LOAD '${join(ws.dir, "other.duckdb_extension")}'`,
        "INSTALL spatial",
        // httpfs is loaded for its crypto (crypto-extension.ts); its file systems stay shut like the local one.
        "SELECT * FROM read_parquet('http://127.0.0.1:9/x.parquet')",
        "SELECT * FROM read_csv('s3://bucket/x.csv')",
        `EXPORT DATABASE '${join(ws.dir, "export")}'`,
      ]) {
        await expect(other.run(sql), sql).rejects.toThrow(/disabled by configuration|configuration has been locked|not allowed|Permission/i);
      }
      expect(Number((await other.runAndReadAll("SELECT count(*) FROM t")).getRowsJS()[0]![0])).toBe(6);
      other.closeSync();
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});

describe("DuckDB's crypto", () => {
  async function cryptoWith(setting: string | undefined): Promise<string> {
    const saved = process.env.CLEANROOM_DUCKDB_CRYPTO_EXTENSION;
    if (setting === undefined) delete process.env.CLEANROOM_DUCKDB_CRYPTO_EXTENSION;
    else process.env.CLEANROOM_DUCKDB_CRYPTO_EXTENSION = setting;
    try {
      const instance = await createJobInstance({ memoryLimit: "128MB", tempDirectory: join(ws.dir, "spill") });
      const connection = await instance.connect();
      try {
        return await parquetCryptoOf(connection);
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    } finally {
      if (saved === undefined) delete process.env.CLEANROOM_DUCKDB_CRYPTO_EXTENSION;
      else process.env.CLEANROOM_DUCKDB_CRYPTO_EXTENSION = saved;
    }
  }

  it("is OpenSSL's, from DuckDB's signed httpfs that setup installs, found without configuration", async () => {
    expect(cryptoExtensionPath(version(), {})).toMatch(/duckdb_extension_httpfs\/extensions\/v\d+\.\d+\.\d+\/httpfs\.duckdb_extension$/);
    expect(await cryptoWith(undefined)).toBe("openssl");
  });

  it("is the bundled mbedtls when configured as none", async () => {
    expect(await cryptoWith("none")).toBe("mbedtls");
  });

  it("fails closed on an extension file that is not DuckDB's: one flipped byte breaks its signature", async () => {
    const original = await readFile(cryptoExtensionPath(version(), {})!);
    const middle = Math.floor(original.length / 2);
    original[middle] = original[middle]! ^ 1;
    const altered = join(ws.dir, "altered.duckdb_extension");
    await writeFile(altered, original);
    await expect(cryptoWith(altered)).rejects.toMatchObject({ code: "SandboxFailed", message: expect.stringMatching(/signature/) });
    await expect(cryptoWith(join(ws.dir, "missing.duckdb_extension"))).rejects.toMatchObject({ code: "SandboxFailed" });
    await rm(altered);
  });
});

describe("memory", () => {
  it("holds a job to its memory limit and spills to its temp directory beyond it", async () => {
    const spill = join(ws.dir, "spill-limit");
    const instance = await createJobInstance({ memoryLimit: "128MB", tempDirectory: spill, threads: 2 });
    const connection = await instance.connect();
    try {
      const setting = (name: string) => connection.runAndReadAll(`SELECT current_setting('${name}')`).then((r) => r.getRowsJS()[0]![0] as string);
      expect(await setting("memory_limit")).toBe("122.0 MiB");
      expect(await setting("temp_directory")).toBe(spill);
      // About 600 MB of strings, kept and sorted: far beyond the limit, so this completes only by spilling.
      await connection.run("CREATE TABLE big AS SELECT md5(range::VARCHAR) || md5((range + 1)::VARCHAR) AS s FROM range(5000000)");
      await connection.run("CREATE TABLE sorted AS SELECT s FROM big ORDER BY s");
      expect(Number((await connection.runAndReadAll("SELECT count(*) FROM sorted")).getRowsJS()[0]![0])).toBe(5_000_000);
      const [inMemory, spilled] = (await connection.runAndReadAll("SELECT sum(memory_usage_bytes), sum(temporary_storage_bytes) FROM duckdb_memory()")).getRowsJS()[0]!;
      expect(Number(inMemory)).toBeLessThan(128 * 1024 * 1024);
      expect(Number(spilled)).toBeGreaterThan(256 * 1024 * 1024);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  }, 120_000);
});

describe("parseCreatePrefix", () => {
  it("reads the CREATE forms of the reference and nothing else", () => {
    expect(parseCreatePrefix("create or replace temporary view \"My \"\"View\"\" \" as select 1")).toMatchObject({
      orReplace: true,
      object: "VIEW",
      name: 'My "View" ',
    });
    expect(parseCreatePrefix("-- why\nCREATE /* c */ TEMP TABLE t AS SELECT 1")).toMatchObject({ orReplace: false, object: "TABLE", name: "t" });
    for (const sql of [
      "CREATE VIEW v AS SELECT 1",
      "CREATE TEMP VIEW main.v AS SELECT 1",
      "CREATE TEMP VIEW v(a) AS SELECT 1",
      "CREATE TEMP VIEW IF NOT EXISTS v AS SELECT 1",
      "CREATE GLOBAL TEMP VIEW v AS SELECT 1",
      "CREATE TEMP MACRO m AS 1",
    ]) {
      expect(parseCreatePrefix(sql), sql).toBeUndefined();
    }
  });
});
