import { Agent } from "node:https";
import { PassThrough, Transform, type Readable } from "node:stream";
import { rootCertificates } from "node:tls";
import { StorageError } from "./errors.js";
import type { ConnectionOptions } from "./object-store.js";

/** The error of a body that is not as long as its announced contentLength. */
export function lengthMismatch(actual: string, expected: number): StorageError {
  return new StorageError("StorageFailed", `The body was ${actual} bytes, not the ${expected} announced`);
}

/**
 * Counts the bytes flowing through, reporting the running total (for stores whose SDK reports no progress). With
 * `expectedLength`, a body longer or shorter than announced fails instead of being stored as if it were complete.
 */
export function progressCounter(onProgress: ((bytes: number) => void) | undefined, expectedLength?: number): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      if (expectedLength !== undefined && total > expectedLength) return callback(lengthMismatch(`more than ${expectedLength}`, expectedLength));
      onProgress?.(total);
      callback(null, chunk);
    },
    flush(callback) {
      if (expectedLength !== undefined && total !== expectedLength) return callback(lengthMismatch(String(total), expectedLength));
      callback();
    },
  });
}

/**
 * `body` through a length check (and progress counter), with errors flowing forward only: the body's own failure
 * fails the result, but a failure downstream never makes the body look as if it had failed (see bodyError).
 */
export function checkedLength(body: Readable, length: number, onProgress?: (bytes: number) => void): Readable {
  const counter = progressCounter(onProgress, length);
  body.once("error", (error) => counter.destroy(error));
  counter.once("error", () => body.unpipe(counter));
  return body.pipe(counter);
}

/**
 * The same bytes as `source`, with a failure in mid-stream turned into a StorageError: a reader that iterates a
 * download sees the store's error codes, not an SDK's. Destroying the result destroys the source (the connection).
 */
export function mapStreamErrors(source: NodeJS.ReadableStream | Readable, map: (error: unknown) => Error): Readable {
  const output = new PassThrough();
  const readable = source as Readable;
  readable.on("error", (error) => output.destroy(map(error)));
  output.on("close", () => {
    if (!readable.destroyed) readable.destroy();
  });
  readable.pipe(output);
  return output;
}

/** An https agent trusting the system's roots and `trustedCaPems` (passing `ca` alone would replace the system's). */
export function httpsAgentFor(options: ConnectionOptions | undefined): Agent | undefined {
  const extra = options?.trustedCaPems ?? [];
  if (extra.length === 0) return undefined;
  return new Agent({ keepAlive: true, ca: [...rootCertificates, ...extra] });
}

/**
 * The error `body` failed with, if it did. A write whose body fails rejects with the body's own error, so that a
 * caller recognises its own failure (a decryption error, say) rather than a storage one.
 */
export function bodyError(body: Readable): Error | undefined {
  return body.errored ?? undefined;
}
