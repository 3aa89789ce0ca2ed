import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ResourceIdSchema } from "@cleanroom/protocol";
import { UsageError } from "./errors.js";

/** A data key is 256 bits: DuckDB reads only 32-byte keys given as base64 unambiguously (docs/parquet-encryption.md). */
export const DATA_KEY_BYTES = 32;

const PublishedObjectSchema = z.object({
  /** sha256 of the input file the object was made from. */
  sourceDigest: z.string(),
  /** Bytes of the uploaded object, compared with the store's listing. */
  size: z.number().int().nonnegative(),
  /** sha256 of how it was converted (input format, header, fields, encryption): same input + same conversion = same object. */
  conversion: z.string(),
});

/**
 * One published document's local record: its data key (base64 of 32 bytes) and secret id, and what `publish` last
 * uploaded, so that a re-run can tell that nothing changed. `key`/`secretId` are absent for unencrypted datasets.
 */
export const KeyEntrySchema = z.object({
  key: z.string().optional(),
  secretId: z.string().optional(),
  /** sha256 of the last input published (any partition). */
  sourceDigest: z.string().optional(),
  /** sha256 of the storage credentials last stored as the `<id>-storage` secret. */
  storageDigest: z.string().optional(),
  objects: z.record(z.string(), PublishedObjectSchema).optional(),
});
export type KeyEntry = z.infer<typeof KeyEntrySchema>;

function checkedId(value: string, what: string): string {
  if (!ResourceIdSchema.safeParse(value).success) throw new UsageError(`${what} '${value}' is not a valid id (letters, digits, '.', '_' or '-', starting with a letter or digit)`);
  return value;
}

/**
 * The owner's own copy of its data keys: `$CLEANROOM_HOME/keys/<profile>/<contractId>/<documentId>.json`, files
 * 0600 in 0700 folders, each written whole or not at all. Governance releases a key only to attested clean rooms,
 * so this is how a sink's owner decrypts its results, and how `publish` re-encrypts with the same key.
 */
export class KeyStore {
  readonly root: string;

  constructor(home: string, profile: string) {
    this.root = join(home, "keys", profile);
  }

  path(contractId: string, documentId: string): string {
    return join(this.root, checkedId(contractId, "contract id"), `${checkedId(documentId, "document id")}.json`);
  }

  read(contractId: string, documentId: string): KeyEntry | undefined {
    const path = this.path(contractId, documentId);
    if (!existsSync(path)) return undefined;
    let parsed;
    try {
      parsed = KeyEntrySchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
    } catch {
      throw new Error(`The key file ${path} is not valid JSON.`);
    }
    if (!parsed.success) throw new Error(`The key file ${path} is not a valid key file: ${parsed.error.issues[0]?.message ?? ""}`);
    if (parsed.data.key !== undefined) dataKeyOf(parsed.data, path);
    return parsed.data;
  }

  /** Writes the entry: a temporary file beside it (0600), synced, renamed over it; folders 0700. */
  write(contractId: string, documentId: string, entry: KeyEntry): string {
    const path = this.path(contractId, documentId);
    const folder = join(this.root, contractId);
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    for (const dir of [join(this.root, ".."), this.root, folder]) chmodSync(dir, 0o700);
    const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
    const fd = openSync(temporary, "wx", 0o600);
    try {
      writeSync(fd, JSON.stringify(KeyEntrySchema.parse(entry), null, 2) + "\n");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temporary, path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
    return path;
  }
}

/** The entry's data key as bytes; refuses anything but 32 bytes. */
export function dataKeyOf(entry: KeyEntry, path: string): Buffer {
  const key = Buffer.from(entry.key ?? "", "base64");
  if (key.length !== DATA_KEY_BYTES || key.toString("base64") !== entry.key) throw new Error(`The key file ${path} does not hold a base64 32-byte key.`);
  return key;
}

export function newDataKey(): string {
  return randomBytes(DATA_KEY_BYTES).toString("base64");
}
