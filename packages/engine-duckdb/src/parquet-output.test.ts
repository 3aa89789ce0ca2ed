// Parquet output through the sound encryptor: what the sink owner receives is encrypted with the sink's key, reads
// back with DuckDB only with that key, and nothing is left behind when the run does not commit.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { readParquetWithDuckDb } from "../../parquet-crypto/src/read-back.case.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runJob } from "./engine.js";
import { EngineError } from "./errors.js";
import { joinAggregateJob, outputs, recorder, type Workspace, createWorkspace } from "./testing.case.js";
import { parquetFileWriter } from "./writers/parquet.js";

let ws: Workspace;
beforeEach(async () => {
  ws = await createWorkspace();
});
afterEach(async () => {
  await ws.cleanup();
});

const readParquet = (path: string, key?: Uint8Array) => readParquetWithDuckDb(path, key, "*", "ORDER BY 1");

describe("Parquet output", () => {
  const key = randomBytes(32);

  it("writes the result encrypted under the sink's key, with its schema's types", async () => {
    const path = join(ws.dir, "result.parquet");
    const result = await runJob(joinAggregateJob(ws), { ...recorder(ws).options, openWriter: parquetFileWriter(path, { key }) });
    expect(result.rowsWritten).toBe(2);
    expect(await readParquet(path, key)).toEqual([
      { campaign: "c1", users: "3", conversions: "7" },
      { campaign: "c2", users: "1", conversions: "1" },
    ]);
    await expect(readParquet(path, randomBytes(32))).rejects.toThrow(/AES tag/);
    expect(await outputs(ws)).toEqual([]); // only result.parquet, which outputs() leaves out, and no staging file
  });

  it("writes plaintext Parquet for a sink without encryption", async () => {
    const path = join(ws.dir, "plain.parquet");
    await runJob(joinAggregateJob(ws), { ...recorder(ws).options, openWriter: parquetFileWriter(path) });
    expect(await readParquet(path)).toHaveLength(2);
  });

  it("leaves nothing when consent is withdrawn before the commit", async () => {
    const path = join(ws.dir, "withdrawn.parquet");
    const run = runJob(joinAggregateJob(ws), { ...recorder(ws).options, openWriter: parquetFileWriter(path, { key }), beforeCommit: () => Promise.resolve(false) });
    await expect(run).rejects.toBeInstanceOf(EngineError);
    expect(await outputs(ws)).toEqual([]);
  });

  it("removes everything on abort, even after rows were written", async () => {
    const path = join(ws.dir, "aborted.parquet");
    const writer = await parquetFileWriter(path, { key })([{ name: "campaign", type: "string" }, { name: "users", type: "long" }]);
    await writer.write({ columns: [], rows: [["c1", 3n], ["c2", null]] });
    await writer.abort();
    expect(await outputs(ws)).toEqual([]);
    await expect(readParquet(path, key)).rejects.toThrow();
  });
});
