import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runJob } from "./engine.js";
import type { JobInput } from "./job.js";
import { advertiserInput, createWorkspace, joinAggregateJob, outputs, publisherInput, readJsonLines, recorder, type Workspace } from "./testing.case.js";

// Fixtures written by pyarrow's direct-key encryptor (testdata/generate.py, testdata/README.md).
const testdata = (name: string): string => fileURLToPath(new URL(`../testdata/${name}`, import.meta.url));
const KEY = Buffer.from(readFileSync(testdata("test-key.b64"), "utf8").trim(), "base64");

let ws: Workspace;
beforeEach(async () => {
  ws = await createWorkspace();
});
afterEach(async () => {
  await ws.cleanup();
});

function encryptedAdvertiser(overrides: Partial<JobInput>): JobInput {
  return advertiserInput(ws, { format: "parquet", files: [testdata("advertiser.encrypted.parquet")], encryptionKey: KEY, ...overrides });
}

describe("encrypted Parquet inputs", () => {
  it("are decrypted with the released key and joined", async () => {
    const job = joinAggregateJob(ws, { inputs: [publisherInput(ws), encryptedAdvertiser({})] });
    const result = await runJob(job, recorder(ws).options);
    expect(result.rowsRead).toBe(10);
    expect(await readJsonLines(ws.outputPath)).toEqual([
      { campaign: "c1", users: 3, conversions: 7 },
      { campaign: "c2", users: 1, conversions: 1 },
    ]);
  });

  it("fail the run as an integrity failure of that dataset on the wrong key, before any segment, writing nothing", async () => {
    const { events, options } = recorder(ws);
    const job = joinAggregateJob(ws, { inputs: [publisherInput(ws), encryptedAdvertiser({ encryptionKey: randomBytes(32) })] });
    const error = await runJob(job, options).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({
      code: "DatasetIntegrityCheckFailed",
      message: "integrity check failed for dataset advertiser-conversions: its encrypted data was altered or does not match the key",
    });
    expect(events).toEqual(expect.arrayContaining([expect.objectContaining({ category: "audit", name: "DATASET_LOAD_FAILED", id: 3002 })]));
    expect(events.map((event) => event.name)).not.toContain("QUERY_SEGMENT_EXECUTION_STARTED");
    expect(await outputs(ws)).toEqual([]);
  });

  it("fail the run as an integrity failure on a flipped byte of ciphertext, in the segment that reads it, writing nothing", async () => {
    // Parquet inputs are read lazily (input-loader.ts), so a data page is authenticated when a segment decrypts it.
    const { events, options } = recorder(ws);
    const job = joinAggregateJob(ws, { inputs: [publisherInput(ws), encryptedAdvertiser({ files: [testdata("advertiser.tampered.parquet")] })] });
    const error = await runJob(job, options).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: "DatasetIntegrityCheckFailed", message: expect.stringMatching(/^integrity check failed in segment \d: the encrypted data of an input was altered/) });
    expect(events).toEqual(expect.arrayContaining([expect.objectContaining({ category: "operational", name: "QUERY_SEGMENT_EXECUTION_FAILED" })]));
    expect(events.map((event) => event.name)).not.toContain("DATASET_WRITE_STARTED");
    expect(await outputs(ws)).toEqual([]);
  });

  it("in data pages V2 (outside the profile) fail the run as an integrity failure, not with DuckDB's internal error", async () => {
    const job = joinAggregateJob(ws, { inputs: [publisherInput(ws), encryptedAdvertiser({ files: [testdata("advertiser.page-v2.parquet")] })] });
    const error = await runJob(job, recorder(ws).options).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({
      code: "DatasetIntegrityCheckFailed",
      message: expect.stringMatching(/^integrity check failed in segment \d: the encrypted pages of an input could not be decrypted; they were altered or are outside the supported profile \(such as Parquet data pages V2/),
    });
    expect((error as Error).message).not.toMatch(/Error:|Stack Trace/);
    expect(await outputs(ws)).toEqual([]);
  });

  it("cannot be read without the key", async () => {
    const job = joinAggregateJob(ws, { inputs: [publisherInput(ws), encryptedAdvertiser({ encryptionKey: undefined })] });
    const error = await runJob(job, recorder(ws).options).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: "DatasetLoadFailed", message: expect.stringMatching(/^dataset advertiser-conversions could not be loaded: /) });
    expect(await outputs(ws)).toEqual([]);
  });
});
