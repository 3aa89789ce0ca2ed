import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { datasetObjects, type ObjectStore, type StoreOptions } from "@cleanroom/storage";
import { digestOf, expectStorageError, generatedBody, listed, MiB, memoryMeter, readAll } from "./streams.js";

// One suite every connector must pass (local folder, Azure Blob on Azurite, S3 on MinIO): the behaviour the agent,
// the engines and the CLI rely on, whatever the backend.

export interface ConformanceTarget {
  /** A store over a fresh, empty root (a new folder or key prefix), so tests do not see each other's objects. */
  fresh(options?: StoreOptions): ObjectStore;
  /** Names of anything a failed write left behind outside the store's view (temporary files, multipart uploads). */
  leftovers?(store: ObjectStore): Promise<string[]>;
}

const text = (value: string) => Readable.from([Buffer.from(value)]);
const readText = async (store: ObjectStore, key: string) => (await readAll(await store.read(key))).toString("utf8");

/**
 * Many parts and blocks on every backend, and twice what a write may hold in memory: parts or blocks in flight are
 * bounded (S3: about 4 parts of 8 MiB; Azure: 4 blocks of 4 MiB), the body is not.
 */
const LARGE = 128 * MiB;

export function describeObjectStoreConformance(name: string, target: () => ConformanceTarget): void {
  describe(`${name}: object store conformance`, () => {
    it("writes an object, reads it back, lists it with its size and checks the store", async () => {
      const store = target().fresh();
      await store.write("impressions.csv", text("campaign,impressions\nspring,1200\n"));
      expect(await readText(store, "impressions.csv")).toBe("campaign,impressions\nspring,1200\n");
      expect(await listed(store.list())).toEqual([["impressions.csv", 33]]);
      await expect(store.check()).resolves.toBeUndefined();
    });

    it("writes and reads an empty object", async () => {
      const store = target().fresh();
      await store.write("empty.json", Readable.from([]), { contentLength: 0 });
      expect((await readAll(await store.read("empty.json"))).length).toBe(0);
      expect(await listed(store.list())).toEqual([["empty.json", 0]]);
    });

    it("lists recursively, sorted by key bytes, and only keys starting with the prefix", async () => {
      const store = target().fresh();
      const keys = ["b/2.csv", "a/x.csv", "a.csv", "b/sub/3.csv", "a-c.csv", "c", "b/1.csv", "bb.csv"];
      for (const key of keys) await store.write(key, text(key));
      // '-' < '.' < '/': a depth-first walk that visits folder "a" before file "a-c.csv" would get this wrong.
      const sorted = ["a-c.csv", "a.csv", "a/x.csv", "b/1.csv", "b/2.csv", "b/sub/3.csv", "bb.csv", "c"];
      expect((await listed(store.list())).map(([key]) => key)).toEqual(sorted);
      expect(await listed(store.list("b/"))).toEqual([
        ["b/1.csv", 7],
        ["b/2.csv", 7],
        ["b/sub/3.csv", 11],
      ]);
      expect((await listed(store.list("b"))).map(([key]) => key)).toEqual(["b/1.csv", "b/2.csv", "b/sub/3.csv", "bb.csv"]);
      expect((await listed(store.list("b/s"))).map(([key]) => key)).toEqual(["b/sub/3.csv"]);
      expect((await listed(store.list("a"))).map(([key]) => key)).toEqual(["a-c.csv", "a.csv", "a/x.csv"]);
      expect(await listed(store.list("nothing/"))).toEqual([]);
    });

    it("pages through a listing longer than one page, lazily", async () => {
      const store = target().fresh({ listPageSize: 4 });
      const keys = Array.from({ length: 23 }, (_, index) => `part-${String(index).padStart(3, "0")}.parquet`);
      await Promise.all(keys.map((key) => store.write(key, text(key))));
      expect((await listed(store.list())).map(([key]) => key)).toEqual(keys);
      // Stopping after the first objects is fine: the rest is never fetched.
      const first: string[] = [];
      for await (const object of store.list()) {
        first.push(object.key);
        if (first.length === 2) break;
      }
      expect(first).toEqual(keys.slice(0, 2));
    });

    it("overwrites an existing object", async () => {
      const store = target().fresh();
      await store.write("result.csv", text("first version, longer"));
      await store.write("result.csv", text("second"));
      expect(await readText(store, "result.csv")).toBe("second");
      expect(await listed(store.list())).toEqual([["result.csv", 6]]);
    });

    it("writes atomically: a body that fails midway leaves no object, and an existing one unchanged", async () => {
      const store = target().fresh();
      const failure = new Error("decryption failed in the middle of the body");
      // 20 MiB: past the first multipart part and several Azure blocks before it fails.
      await expect(store.write("new.parquet", generatedBody(40 * MiB, { failAt: 20 * MiB, failure }))).rejects.toBe(failure);
      await expectStorageError(store.read("new.parquet"), "StorageNotFound");
      await store.write("kept.parquet", text("the previous version"));
      await expect(store.write("kept.parquet", generatedBody(40 * MiB, { failAt: 20 * MiB, failure }))).rejects.toBe(failure);
      await expect(store.write("kept.parquet", generatedBody(1024, { failAt: 100, failure }), { contentLength: 1024 })).rejects.toBe(failure);
      expect(await readText(store, "kept.parquet")).toBe("the previous version");
      expect(await listed(store.list())).toEqual([["kept.parquet", 20]]);
      expect((await target().leftovers?.(store)) ?? []).toEqual([]);
    });

    it("fails a body longer or shorter than its announced length, leaving no object", async () => {
      const store = target().fresh();
      const short = await expectStorageError(store.write("short.csv", text("four"), { contentLength: 10 }), "StorageFailed");
      expect(short.message).toContain("not the 10 announced");
      await expectStorageError(store.write("long.csv", text("far too long"), { contentLength: 3 }), "StorageFailed");
      expect(await listed(store.list())).toEqual([]);
    });

    it("deletes an object, and deleting a missing one is no error", async () => {
      const store = target().fresh();
      await store.write("a/b.csv", text("x"));
      await store.delete("a/b.csv");
      await store.delete("a/b.csv");
      await store.delete("never/written.csv");
      expect(await listed(store.list())).toEqual([]);
      await expectStorageError(store.read("a/b.csv"), "StorageNotFound");
    });

    it("reports a missing object as StorageNotFound", async () => {
      const store = target().fresh();
      await store.write("present.csv", text("x"));
      const error = await expectStorageError(store.read("absent.csv"), "StorageNotFound");
      expect(error.message).toContain("absent.csv");
    });

    it("refuses keys that could name another place: InvalidObjectKey, before any I/O", async () => {
      const store = target().fresh();
      const invalid = ["", "/abs.csv", "dir/", "a//b.csv", "../up.csv", "a/../../up.csv", "./a.csv", "a/./b.csv", "..", "a\\b.csv", "a\u0000b", "a\nb.csv", "x".repeat(1025)];
      for (const key of invalid) {
        await expectStorageError(store.read(key), "InvalidObjectKey");
        await expectStorageError(store.write(key, text("x")), "InvalidObjectKey");
        await expectStorageError(store.delete(key), "InvalidObjectKey");
      }
      for (const prefix of ["../", "/a", "a//", "a/../", "a\\"]) await expectStorageError(listed(store.list(prefix)), "InvalidObjectKey");
      // Dots inside a segment are ordinary names.
      await store.write("..data/.hidden/v1..2.csv", text("ok"));
      expect(await readText(store, "..data/.hidden/v1..2.csv")).toBe("ok");
    });

    it("reports cumulative progress up to the whole size, with and without a known length", async () => {
      const store = target().fresh();
      for (const [size, contentLength] of [
        [3 * MiB + 17, undefined],
        [3 * MiB + 17, 3 * MiB + 17],
        [20 * MiB, 20 * MiB],
      ] as const) {
        const progress: number[] = [];
        await store.write("progress.bin", generatedBody(size), { ...(contentLength === undefined ? {} : { contentLength }), onProgress: (bytes) => progress.push(bytes) });
        expect(progress.length).toBeGreaterThan(0);
        expect(progress).toEqual([...progress].sort((a, b) => a - b));
        expect(progress.at(-1)).toBe(size);
        expect(await listed(store.list())).toEqual([["progress.bin", size]]);
      }
    });

    it("streams a large object both ways without holding it in memory", async () => {
      const store = target().fresh();
      const written = createHash("sha256");
      const writing = memoryMeter(8 * MiB);
      await store.write("large.bin", generatedBody(LARGE, { hash: written, onChunk: writing.sample }));
      const reading = memoryMeter(8 * MiB);
      const read = await digestOf(await store.read("large.bin"), reading.sample);
      const [writeGrowth, readGrowth] = [writing.peakGrowth(), reading.peakGrowth()];
      expect(read).toEqual({ size: LARGE, sha256: written.digest("hex") });
      // A store that buffered the body would hold all of it.
      expect(writeGrowth, `write grew memory by ${(writeGrowth / MiB).toFixed(1)} MiB`).toBeLessThan(LARGE / 2);
      expect(readGrowth, `read grew memory by ${(readGrowth / MiB).toFixed(1)} MiB`).toBeLessThan(LARGE / 4);
    });

    it("selects a dataset's date partitions: days in range, skipping missing days, by the format's extension", async () => {
      const store = target().fresh();
      const keys = [
        "2025-08-31/part-0.csv",
        "2025-09-01/part-0.csv",
        "2025-09-01/nested/part-1.csv",
        "2025-09-01/part-0.csv.crc",
        "2025-09-01/_SUCCESS",
        "2025-09-01/_temporary/part-9.csv",
        "2025-09-01/notes.json",
        "2025-09-03/part-0.csv",
        "2025-09-04/part-0.csv",
      ];
      for (const key of keys) await store.write(key, text("x"));
      const keysOf = async (range?: { startDate: string; endDate: string }) => (await datasetObjects(store, "csv", range)).map((object) => object.key);
      expect(await keysOf({ startDate: "2025-09-01", endDate: "2025-09-03" })).toEqual(["2025-09-01/nested/part-1.csv", "2025-09-01/part-0.csv", "2025-09-03/part-0.csv"]);
      expect(await keysOf({ startDate: "2025-09-02", endDate: "2025-09-02" })).toEqual(
        // No folder for that day, nor any other in range: the whole dataset, as the reference falls back.
        ["2025-08-31/part-0.csv", "2025-09-01/nested/part-1.csv", "2025-09-01/part-0.csv", "2025-09-03/part-0.csv", "2025-09-04/part-0.csv"],
      );
      expect(await keysOf()).toHaveLength(5);
      expect((await datasetObjects(store, "json")).map((object) => object.key)).toEqual(["2025-09-01/notes.json"]);
      expect(await datasetObjects(store, "parquet")).toEqual([]);
      await expect(datasetObjects(store, "csv", { startDate: "2025-09-03", endDate: "2025-09-01" })).rejects.toThrow(RangeError);
      await expect(datasetObjects(store, "csv", { startDate: "2025-02-30", endDate: "2025-03-01" })).rejects.toThrow(RangeError);
    });

    it("gives no local path for remote stores and one inside the root for local ones", () => {
      const store = target().fresh();
      const path = store.localPath("a/b.csv");
      if (store.url.startsWith("/")) expect(path).toBe(`${store.url}/a/b.csv`);
      else expect(path).toBeUndefined();
    });
  });
}
