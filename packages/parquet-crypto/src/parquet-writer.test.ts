// The encrypted Parquet profile, end to end: pyarrow writes it, DuckDB (the engine's reader) reads it back only with
// the right key, and notices a flipped byte.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { ParquetInputError, PrestartedParquetWriter, writeParquet } from "./parquet-writer.js";
import { readParquetWithDuckDb } from "./read-back.case.js";

const work = mkdtempSync(join(tmpdir(), "cleanroom-parquet-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const FIELDS = [
  { name: "user_hash", type: "string" },
  { name: "day", type: "date" },
  { name: "clicks", type: "long" },
  { name: "spend", type: "number" },
  { name: "converted", type: "boolean" },
] as const;

function csvRows(count: number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`u${i % 997},2026-11-${String(1 + (i % 28)).padStart(2, "0")},${i % 13},${(i % 100) / 4},${i % 7 === 0}`);
  return lines.join("\n") + "\n";
}

const SUMMARY = "count(*)::BIGINT AS n, sum(clicks)::BIGINT AS clicks, count(DISTINCT user_hash)::BIGINT AS users, min(day)::VARCHAR AS first";
const readWithDuckDb = (path: string, key?: Uint8Array) => readParquetWithDuckDb(path, key, SUMMARY);

describe("encrypted Parquet writer", () => {
  const key = randomBytes(32);

  it("streams CSV into many row groups that DuckDB reads back with the key, and only with it", async () => {
    const output = join(work, "impressions.parquet");
    // 250,000 rows: far beyond the 20,000-row page where a multi-page column chunk would break DuckDB's reader.
    const result = await writeParquet({ input: { format: "csv", stream: Readable.from([csvRows(250_000)]) }, fields: FIELDS, outputPath: output, key, rowGroupSize: 100_000 });
    expect(result).toEqual({ rows: 250_000, rowGroups: 3 });
    expect(readFileSync(output).subarray(-4).toString()).toBe("PARE"); // encrypted footer magic
    expect(await readWithDuckDb(output, key)).toEqual([{ n: "250000", clicks: String(expectedClicks(250_000)), users: "997", first: "2026-11-01" }]);
    await expect(readWithDuckDb(output, randomBytes(32))).rejects.toThrow(/AES tag/);
    await expect(readWithDuckDb(output)).rejects.toThrow();
  });

  it("detects a flipped byte anywhere in the ciphertext", async () => {
    const output = join(work, "small.parquet");
    await writeParquet({ input: { format: "csv", stream: Readable.from([csvRows(1000)]) }, fields: FIELDS, outputPath: output, key });
    const bytes = readFileSync(output);
    for (const offset of [200, Math.floor(bytes.length / 2), bytes.length - 40]) {
      const tampered = Buffer.from(bytes);
      tampered[offset] = (tampered[offset] ?? 0) ^ 0x01;
      const path = join(work, `tampered-${offset}.parquet`);
      writeFileSync(path, tampered);
      await expect(readWithDuckDb(path, key), `offset ${offset}`).rejects.toThrow();
    }
  });

  it("converts JSON lines and Parquet input, and writes plaintext when there is no key", async () => {
    const jsonl = Array.from({ length: 500 }, (_, i) => JSON.stringify({ user_hash: `u${i}`, day: "2026-11-03", clicks: i, spend: 1.5, converted: false, extra: "ignored" })).join("\n");
    const fromJson = join(work, "from-json.parquet");
    expect(await writeParquet({ input: { format: "jsonl", stream: Readable.from([jsonl]) }, fields: FIELDS, outputPath: fromJson })).toEqual({ rows: 500, rowGroups: 1 });
    expect(await readWithDuckDb(fromJson)).toEqual([{ n: "500", clicks: String((499 * 500) / 2), users: "500", first: "2026-11-03" }]);
    const reencrypted = join(work, "from-parquet.parquet");
    expect(await writeParquet({ input: { format: "parquet", path: fromJson }, fields: FIELDS, outputPath: reencrypted, key })).toMatchObject({ rows: 500 });
    expect(await readWithDuckDb(reencrypted, key)).toEqual(await readWithDuckDb(fromJson));
  });

  it("refuses input that does not match the schema, leaving no output", async () => {
    const output = join(work, "bad.parquet");
    const bad = writeParquet({ input: { format: "csv", stream: Readable.from(["u1,2026-11-01,not-a-number,1,true\n"]) }, fields: FIELDS, outputPath: output, key });
    await expect(bad).rejects.toBeInstanceOf(ParquetInputError);
    expect(existsSync(output)).toBe(false);
    await expect(writeParquet({ input: { format: "csv", stream: Readable.from(["x\n"]) }, fields: FIELDS, outputPath: output, key: randomBytes(16) })).rejects.toThrow(/32 bytes/);
  });
});

describe("a prestarted writer", () => {
  const key = randomBytes(32);
  const csv = (count: number) => ({ format: "csv" as const, stream: Readable.from([csvRows(count)]) });

  it("writes file after file, each by a writer that was already waiting, and survives bad input", async () => {
    const writer = new PrestartedParquetWriter();
    try {
      for (const rows of [1000, 2000, 3000]) {
        const output = join(work, `prestarted-${rows}.parquet`);
        expect(await writer.write({ input: csv(rows), fields: FIELDS, outputPath: output, key })).toEqual({ rows, rowGroups: 1 });
        expect(await readWithDuckDb(output, key)).toEqual([{ n: String(rows), clicks: String(expectedClicks(rows)), users: String(Math.min(rows, 997)), first: "2026-11-01" }]);
      }
      const bad = join(work, "prestarted-bad.parquet");
      const refused = writer.write({ input: { format: "csv", stream: Readable.from(["u1,2026-11-01,x,1,true\n"]) }, fields: FIELDS, outputPath: bad, key });
      await expect(refused).rejects.toBeInstanceOf(ParquetInputError);
      expect(existsSync(bad)).toBe(false);
      await expect(writer.write({ input: csv(1), fields: FIELDS, outputPath: bad, key: randomBytes(16) })).rejects.toThrow(/32 bytes/);
      const plain = join(work, "prestarted-plain.parquet");
      expect(await writer.write({ input: csv(10), fields: FIELDS, outputPath: plain })).toEqual({ rows: 10, rowGroups: 1 });
      expect(await readWithDuckDb(plain)).toMatchObject([{ n: "10" }]);
    } finally {
      writer.close();
    }
    // Closed, it writes with a writer of its own.
    const after = join(work, "prestarted-after-close.parquet");
    expect(await writer.write({ input: csv(5), fields: FIELDS, outputPath: after, key })).toMatchObject({ rows: 5 });
  });

  // Whether a process carries `marker` in its environment (the waiting writer inherits Node's).
  const writersMarked = (marker: string): number[] =>
    readdirSync("/proc")
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/environ`, "latin1").includes(marker);
        } catch {
          return false; // gone, or not ours
        }
      })
      .map(Number);

  async function until(condition: () => boolean, what: string): Promise<void> {
    for (const deadline = Date.now() + 20_000; !condition(); ) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it.skipIf(!existsSync("/proc/self/environ"))(
    "never keeps Node running, and its waiting writer ends with close() or with Node",
    async () => {
      const module = new URL("../dist/index.js", import.meta.url).href;
      // A Node process that starts a prestarted writer, waits until it is up and the test has looked, then closes it
      // (and lives on a while) or just ends. It lets go of its stdin, so that only the writer could keep it running.
      const script = (close: boolean) => `
        const { PrestartedParquetWriter } = await import(${JSON.stringify(module)});
        const writer = new PrestartedParquetWriter();
        await new Promise((resolve) => setTimeout(resolve, 1500));
        process.stdout.write("started\\n");
        await new Promise((resolve) => process.stdin.once("data", resolve));
        process.stdin.destroy();
        ${close ? "writer.close(); await new Promise((resolve) => setTimeout(resolve, 5000));" : ""}`;
      for (const close of [true, false]) {
        const marker = `CLEANROOM_WRITER_TEST=${randomBytes(8).toString("hex")}`;
        const [name, value] = marker.split("=") as [string, string];
        const node = spawn(process.execPath, ["--input-type=module", "-e", script(close)], { env: { ...process.env, [name]: value }, stdio: ["pipe", "pipe", "inherit"] });
        const exited = new Promise<number | null>((resolve) => node.once("close", resolve));
        await new Promise<void>((resolve) => node.stdout.once("data", () => resolve()));
        // Node itself and the waiting Python writer carry the marker.
        expect(writersMarked(marker).filter((pid) => pid !== node.pid)).toHaveLength(1);
        node.stdin.end("go\n");
        if (close) await until(() => writersMarked(marker).every((pid) => pid === node.pid), "the closed writer exits while Node still runs");
        const outcome = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 20_000))]);
        node.kill();
        expect(outcome, "Node ends by itself").toBe(0);
        await until(() => writersMarked(marker).length === 0, "no writer outlives Node");
      }
    },
    60_000,
  );
});

function expectedClicks(count: number): number {
  let total = 0;
  for (let i = 0; i < count; i++) total += i % 13;
  return total;
}
