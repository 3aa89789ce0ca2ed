import { randomBytes } from "node:crypto";
import { mkdir, rename, unlink } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileSystemError, StorageError } from "./errors.js";
import type { ObjectStore } from "./object-store.js";
import { progressCounter } from "./streams.js";

/**
 * Copies an object to a local file, streamed (for engines that read local files). The file appears whole or not at
 * all: the bytes go to a temporary file beside it, renamed once complete. Parent folders are created.
 */
export async function downloadToFile(store: ObjectStore, key: string, path: string, options?: { onProgress?: (bytes: number) => void }): Promise<void> {
  const source = await store.read(key);
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString("hex")}.partial`);
  try {
    await mkdir(dirname(path), { recursive: true });
    await pipeline(source, progressCounter(options?.onProgress), createWriteStream(temporary, { flags: "wx" }));
    await rename(temporary, path);
  } catch (error) {
    source.destroy();
    await unlink(temporary).catch(() => undefined);
    if (error instanceof StorageError) throw error;
    throw fileSystemError(error, `Downloading ${store.url} ${key} to ${path}`);
  }
}
