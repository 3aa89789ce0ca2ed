import { randomBytes } from "node:crypto";
import { constants, realpathSync, type Dirent } from "node:fs";
import { lstat, mkdir, open, opendir, readdir, realpath, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, sep } from "node:path";
import type { Readable } from "node:stream";
import { fileSystemError, StorageError } from "./errors.js";
import { compareKeys, displayKey, isValidKey, validateKey, validatePrefix } from "./object-keys.js";
import type { ObjectStore, StoredObject, WriteOptions } from "./object-store.js";
import { bodyError, lengthMismatch, mapStreamErrors } from "./streams.js";

/**
 * Writes land in a temporary file beside their target and are renamed over it once complete, so readers never see
 * half an object. Listings skip these files, and no key may end in a name that looks like one.
 */
const PARTIAL_PREFIX = ".cleanroom-partial-";

const isNotFound = (error: unknown) => ["ENOENT", "ENOTDIR"].includes((error as { code?: string }).code ?? "");

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * A folder on this machine (`cleanroom up`, tests). Keys map to files under the root; nothing outside it is ever
 * read, written or listed: keys cannot climb (object-keys.ts), listings do not follow symbolic links, and reads,
 * writes and deletes refuse a path whose real location (after symbolic links) is outside the root's.
 */
export class LocalStore implements ObjectStore {
  readonly url: string;

  constructor(private readonly root: string) {
    this.url = root;
  }

  async *list(prefix = ""): AsyncGenerator<StoredObject> {
    validatePrefix(prefix);
    await this.check();
    yield* this.walk("", prefix);
  }

  // Entries are visited in the order of `name` for files and `name/` for folders: exactly the order of the keys
  // below them, so a depth-first walk yields a sorted listing without collecting it first.
  private async *walk(folderKey: string, prefix: string): AsyncGenerator<StoredObject> {
    let entries: Dirent[];
    try {
      entries = await readdir(folderKey === "" ? this.root : join(this.root, folderKey), { withFileTypes: true });
    } catch (error) {
      if (folderKey !== "" && isNotFound(error)) return;
      throw fileSystemError(error, `Listing ${this.url}`);
    }
    const visible = entries
      .filter((entry) => (entry.isFile() && !entry.name.startsWith(PARTIAL_PREFIX)) || entry.isDirectory())
      .map((entry) => ({ name: entry.name, folder: entry.isDirectory(), order: entry.isDirectory() ? `${entry.name}/` : entry.name }))
      .sort((a, b) => compareKeys(a.order, b.order));
    for (const entry of visible) {
      const key = folderKey === "" ? entry.name : `${folderKey}/${entry.name}`;
      if (!isValidKey(key)) continue;
      if (entry.folder) {
        const folder = `${key}/`;
        if (folder.startsWith(prefix) || prefix.startsWith(folder)) yield* this.walk(key, prefix);
      } else if (key.startsWith(prefix)) {
        const stats = await lstat(join(this.root, key)).catch((error: unknown) => {
          if (isNotFound(error)) return undefined;
          throw fileSystemError(error, `Listing ${this.url}`);
        });
        // Deleted or replaced by a link since the directory was read.
        if (stats?.isFile()) yield { key, size: stats.size };
      }
    }
  }

  async read(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    const what = `Object ${displayKey(key)} in ${this.url}`;
    let handle: FileHandle;
    try {
      const real = await this.realPathInside(path, key);
      handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      throw fileSystemError(error, what);
    }
    const stats = await handle.stat();
    if (!stats.isFile()) {
      await handle.close();
      throw new StorageError("StorageNotFound", `${what}: not found (a folder)`);
    }
    return mapStreamErrors(handle.createReadStream(), (error) => fileSystemError(error, `Reading ${what}`));
  }

  async write(key: string, body: Readable, options?: WriteOptions): Promise<void> {
    const what = `Writing ${displayKey(key)} to ${this.url}`;
    let path: string;
    let temporary: string;
    let handle: FileHandle;
    try {
      // Checked before mkdir, which would otherwise create folders wherever a linked folder leads.
      path = this.localPath(key);
      if (basename(path).startsWith(PARTIAL_PREFIX)) {
        throw new StorageError("InvalidObjectKey", `Invalid object key ${displayKey(key)}: '${PARTIAL_PREFIX}*' names are the store's temporary files`);
      }
      const folder = dirname(path);
      await mkdir(folder, { recursive: true });
      const realFolder = await this.realPathInside(folder, key);
      temporary = join(realFolder, `${PARTIAL_PREFIX}${randomBytes(12).toString("hex")}`);
      handle = await open(temporary, "wx");
    } catch (error) {
      body.destroy();
      throw writeError(error, what);
    }
    try {
      let written = 0;
      for await (const chunk of body) {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
        await handle.write(bytes);
        written += bytes.length;
        options?.onProgress?.(written);
      }
      if (options?.contentLength !== undefined && written !== options.contentLength) throw lengthMismatch(String(written), options.contentLength);
      // Durable before visible: after a crash the object is either the old one or the whole new one.
      await handle.sync();
      await handle.close();
      await rename(temporary, join(dirname(temporary), basename(path)));
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temporary).catch(() => undefined);
      const failure = bodyError(body) ?? writeError(error, what);
      body.destroy();
      throw failure;
    }
    await syncFolder(dirname(temporary));
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      const realFolder = await this.realPathInside(dirname(path), key);
      await unlink(join(realFolder, basename(path)));
    } catch (error) {
      // Missing, or a folder: either way there is no object to remove.
      if (isNotFound(error) || (error as { code?: string }).code === "EISDIR") return;
      throw fileSystemError(error, `Deleting ${displayKey(key)} from ${this.url}`);
    }
  }

  localPath(key: string): string {
    const path = this.pathOf(key);
    let realRoot: string;
    try {
      realRoot = realpathSync(this.root);
    } catch {
      return path; // no root yet, so nothing under it can lead elsewhere
    }
    // The deepest part of the path that exists must really be under the root.
    for (let probe = path; isInside(this.root, probe); probe = dirname(probe)) {
      let real: string;
      try {
        real = realpathSync(probe);
      } catch (error) {
        if (isNotFound(error)) continue;
        throw fileSystemError(error, `Resolving ${displayKey(key)} in ${this.url}`);
      }
      if (!isInside(realRoot, real)) throw this.escapeError(key);
      break;
    }
    return path;
  }

  async check(): Promise<void> {
    try {
      const folder = await opendir(this.root);
      await folder.close();
    } catch (error) {
      throw fileSystemError(error, `Local store ${this.url}`);
    }
  }

  private pathOf(key: string): string {
    validateKey(key);
    return join(this.root, ...key.split("/"));
  }

  /** The real path of `path`, refused if symbolic links lead it outside the root's real path. */
  private async realPathInside(path: string, key: string): Promise<string> {
    const [realRoot, real] = await Promise.all([realpath(this.root), realpath(path)]);
    if (!isInside(realRoot, real)) throw this.escapeError(key);
    return real;
  }

  private escapeError(key: string): StorageError {
    return new StorageError("StorageAccessDenied", `${displayKey(key)} in ${this.url} leads outside the store's folder (a symbolic link)`);
  }
}

function writeError(error: unknown, what: string): StorageError {
  const code = (error as { code?: string }).code ?? "";
  // Keys "a" and "a/b" can both exist in a bucket, not in a folder.
  if (["EISDIR", "ENOTDIR", "EEXIST"].includes(code)) return new StorageError("StorageFailed", `${what}: a file or folder of that name is in the way (${code})`, { cause: error });
  return fileSystemError(error, what);
}

async function syncFolder(folder: string): Promise<void> {
  // Makes the rename itself durable; some file systems refuse fsync on folders, which costs only durability.
  const handle = await open(folder, "r").catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => undefined);
  await handle.close().catch(() => undefined);
}
