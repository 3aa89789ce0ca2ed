import { createHash, type Hash } from "node:crypto";
import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { expect } from "vitest";
import { StorageError, type StorageErrorCode } from "@cleanroom/storage";

// Bodies generated on the fly and memory measured while they stream, for the connectors' tests.

export const MiB = 1024 * 1024;

/**
 * A body of `size` bytes produced in fresh 1 MiB chunks (fresh, so that a store holding on to them would show in
 * memory), each different. `failAt`: the body fails with `failure` once that many bytes were produced. `hash`
 * receives every byte produced; `onChunk` is called before each chunk is produced.
 */
export function generatedBody(size: number, options: { failAt?: number; failure?: Error; hash?: Hash; onChunk?: (bytes: number) => void } = {}): Readable {
  let produced = 0;
  let index = 0;
  return new Readable({
    highWaterMark: MiB,
    read() {
      if (options.failAt !== undefined && produced >= options.failAt) {
        this.destroy(options.failure ?? new Error("the body failed on purpose"));
        return;
      }
      if (produced >= size) {
        this.push(null);
        return;
      }
      const length = Math.min(MiB, size - produced, (options.failAt ?? Infinity) - produced);
      options.onChunk?.(length);
      const chunk = Buffer.alloc(length, index & 0xff);
      if (length >= 4) chunk.writeUInt32LE(index, 0);
      options.hash?.update(chunk);
      produced += length;
      index++;
      this.push(chunk);
    },
  });
}

export async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Consumes a stream, keeping only its length and SHA-256; `onChunk` is called after each chunk. */
export async function digestOf(stream: AsyncIterable<Buffer>, onChunk?: (bytes: number) => void): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.length;
    onChunk?.(chunk.length);
  }
  return { size, sha256: hash.digest("hex") };
}

let collectGarbage: (() => void) | undefined;
function gc(): void {
  if (!collectGarbage) {
    // Vitest's workers do not run with --expose-gc; V8 still lets a running process create the function.
    setFlagsFromString("--expose-gc");
    collectGarbage = runInNewContext("gc") as () => void;
  }
  collectGarbage();
}

const liveBytes = () => {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
};

/**
 * Live memory (JavaScript heap plus Buffers, after a full collection so that garbage does not count) measured
 * against a baseline taken now. `sample(bytes)` is meant to be called as data flows; it measures once per `every`
 * bytes (a full collection is slow). Sampling by progress rather than by time needs no timing.
 */
export function memoryMeter(every = 4 * MiB): { sample: (bytes: number) => void; peakGrowth: () => number } {
  gc();
  const baseline = liveBytes();
  let peak = baseline;
  let flowed = 0;
  let next = 0;
  return {
    sample(bytes) {
      flowed += bytes;
      if (flowed < next) return;
      next = flowed + every;
      gc();
      peak = Math.max(peak, liveBytes());
    },
    peakGrowth: () => peak - baseline,
  };
}

/** Awaits a promise that must fail with a StorageError of this code; returns the error. */
export async function expectStorageError(promise: Promise<unknown>, code: StorageErrorCode): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected StorageError ${code}`).toBeInstanceOf(StorageError);
  expect({ code: (error as StorageError).code, message: (error as StorageError).message }).toMatchObject({ code });
  return error as StorageError;
}

/** Every object of a listing, as [key, size] pairs. */
export async function listed(objects: AsyncIterable<{ key: string; size: number }>): Promise<Array<[string, number]>> {
  const all: Array<[string, number]> = [];
  for await (const object of objects) all.push([object.key, object.size]);
  return all;
}
