// The local-folder connector: the conformance suite, plus what only a file system can get wrong — symbolic links
// that lead out of the folder, temporary files of interrupted writes, folders that do not exist yet.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downloadToFile, openStore, StorageError, type ObjectStore } from "@cleanroom/storage";
import { describeObjectStoreConformance } from "./conformance.case.js";
import { expectStorageError, generatedBody, listed, memoryMeter, MiB, readAll } from "./streams.js";

let base: string;
let count = 0;
const local = (path: string): ObjectStore => openStore({ kind: "local", path }, { kind: "none" });
const freshRoot = () => join(base, `store-${++count}`);

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), "cleanroom-local-store-"));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Files anywhere under `dir` whose name marks a write in progress. */
function partialFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((name) => name.split("/").at(-1)!.startsWith(".cleanroom-partial-"));
}

describeObjectStoreConformance("local folder", () => ({
  fresh: (options) => openStore({ kind: "local", path: freshRoot() }, { kind: "none" }, options),
  leftovers: (store) => Promise.resolve(partialFiles(store.url)),
}));

describe("local folder: its root", () => {
  it("is created by the first write; listing or checking it before is StorageNotFound", async () => {
    const root = join(freshRoot(), "not", "yet");
    const store = local(root);
    await expectStorageError(store.check(), "StorageNotFound");
    await expectStorageError(listed(store.list()), "StorageNotFound");
    await store.write("2025-09-01/part-0.csv", Readable.from([Buffer.from("a,b\n")]));
    expect(readFileSync(join(root, "2025-09-01", "part-0.csv"), "utf8")).toBe("a,b\n");
    await expect(store.check()).resolves.toBeUndefined();
  });

  it("gives the absolute path of a key inside the root, and refuses keys that would leave it", () => {
    const root = freshRoot();
    const store = local(root);
    expect(store.url).toBe(root);
    expect(store.localPath("2025-09-01/part-0.parquet")).toBe(join(root, "2025-09-01", "part-0.parquet"));
    for (const key of ["../outside.csv", "a/../../outside.csv", "/etc/passwd", "a\\..\\b"]) {
      expect(() => store.localPath(key)).toThrow(expect.objectContaining({ code: "InvalidObjectKey" }));
    }
  });

  it("refuses a key that is also a folder, or below a file, as StorageFailed", async () => {
    const store = local(freshRoot());
    await store.write("a/b.csv", Readable.from([Buffer.from("x")]));
    await expectStorageError(store.write("a", Readable.from([Buffer.from("y")])), "StorageFailed");
    await expectStorageError(store.write("a/b.csv/c.csv", Readable.from([Buffer.from("z")])), "StorageFailed");
    await expectStorageError(store.read("a"), "StorageNotFound");
    expect(await listed(store.list())).toEqual([["a/b.csv", 1]]);
  });

  it("removes the temporary file of a write whose body fails, and never lists one in progress", async () => {
    const root = freshRoot();
    const store = local(root);
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    // A body that stops after its first chunk until told to go on: the write is in progress meanwhile.
    const body = Readable.from(
      (async function* () {
        yield Buffer.alloc(MiB, 1);
        await paused;
        yield Buffer.alloc(MiB, 2);
      })(),
    );
    const writing = store.write("slow.bin", body);
    for (let attempt = 0; partialFiles(root).length === 0 && attempt < 100; attempt++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(partialFiles(root)).toHaveLength(1);
    expect(await listed(store.list())).toEqual([]);
    await expectStorageError(store.read("slow.bin"), "StorageNotFound");
    resume();
    await writing;
    expect(await listed(store.list())).toEqual([["slow.bin", 2 * MiB]]);
    expect(partialFiles(root)).toEqual([]);
    await expectStorageError(store.write(".cleanroom-partial-abc", Readable.from([])), "InvalidObjectKey");
  });
});

describe("local folder: symbolic links never lead outside the root", () => {
  let root: string;
  let outside: string;
  let store: ObjectStore;

  beforeAll(() => {
    root = freshRoot();
    outside = join(base, `outside-${++count}`);
    mkdirSync(join(root, "inside"), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, "secret.csv"), "another party's data\n");
    writeFileSync(join(root, "inside", "own.csv"), "own data\n");
    symlinkSync(outside, join(root, "escape"));
    symlinkSync(join(outside, "secret.csv"), join(root, "secret-link.csv"));
    symlinkSync(join(root, "inside"), join(root, "inner-link"));
    store = local(root);
  });

  it("lists neither linked folders nor linked files", async () => {
    expect(await listed(store.list())).toEqual([["inside/own.csv", 9]]);
    expect(await listed(store.list("escape/"))).toEqual([]);
  });

  it("refuses to read, write or delete through a link that leaves the root", async () => {
    await expectStorageError(store.read("secret-link.csv"), "StorageAccessDenied");
    await expectStorageError(store.read("escape/secret.csv"), "StorageAccessDenied");
    await expectStorageError(store.write("escape/planted.csv", Readable.from([Buffer.from("x")])), "StorageAccessDenied");
    await expectStorageError(store.write("escape/new-folder/planted.csv", Readable.from([Buffer.from("x")])), "StorageAccessDenied");
    await expectStorageError(store.delete("escape/secret.csv"), "StorageAccessDenied");
    expect(() => store.localPath("escape/secret.csv")).toThrow(StorageError);
    expect(() => store.localPath("secret-link.csv")).toThrow(StorageError);
    expect(() => store.localPath("escape/not-there-yet.csv")).toThrow(StorageError);
    expect(readdirSync(outside)).toEqual(["secret.csv"]);
    expect(readFileSync(join(outside, "secret.csv"), "utf8")).toBe("another party's data\n");
  });

  it("follows a link that stays inside the root", async () => {
    expect((await readAll(await store.read("inner-link/own.csv"))).toString()).toBe("own data\n");
    expect(store.localPath("inner-link/own.csv")).toBe(join(root, "inner-link", "own.csv"));
  });
});

describe("the conformance suite's memory meter", () => {
  it("notices a body held whole, so that its streaming checks mean something", async () => {
    const meter = memoryMeter();
    const held: Buffer[] = [];
    for await (const chunk of generatedBody(64 * MiB, { onChunk: meter.sample })) held.push(chunk as Buffer);
    meter.sample(4 * MiB);
    expect(held).toHaveLength(64);
    expect(meter.peakGrowth()).toBeGreaterThan(32 * MiB);
  });
});

describe("downloadToFile", () => {
  it("copies an object to a file, streamed, with progress, creating folders", async () => {
    const store = local(freshRoot());
    await store.write("data/part-0.bin", generatedBody(5 * MiB + 3));
    const target = join(freshRoot(), "downloads", "part-0.bin");
    const progress: number[] = [];
    await downloadToFile(store, "data/part-0.bin", target, { onProgress: (bytes) => progress.push(bytes) });
    expect(readFileSync(target).equals(await readAll(await store.read("data/part-0.bin")))).toBe(true);
    expect(progress.at(-1)).toBe(5 * MiB + 3);
    expect(readdirSync(join(target, ".."))).toEqual(["part-0.bin"]);
  });

  it("creates no file for a missing object", async () => {
    const store = local(freshRoot());
    await store.write("present.csv", Readable.from([Buffer.from("x")]));
    const target = join(freshRoot(), "absent.csv");
    await expectStorageError(downloadToFile(store, "absent.csv", target), "StorageNotFound");
    expect(existsSync(target)).toBe(false);
  });
});
