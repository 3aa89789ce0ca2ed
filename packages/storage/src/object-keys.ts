import { StorageError } from "./errors.js";

// Keys are relative to a store's root and must name exactly one place under it on every backend: a local store
// turns them into paths, so a `..` segment would climb out of the root, and `.`, empty segments or backslashes would
// let two different keys name the same file (or the same key name different objects on S3 and on disk).

/** S3 and Azure both cap names at 1024 (bytes, characters); the root prefix counts against it too. */
export const MAX_KEY_BYTES = 1024;

function isControlCharacter(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code < 0xa0);
}

/** Why `segment` cannot be a key segment, or undefined if it can. */
function segmentProblem(segment: string): string | undefined {
  if (segment === "") return "an empty segment (leading, trailing or double '/')";
  if (segment === "." || segment === "..") return `a '${segment}' segment`;
  for (let index = 0; index < segment.length; index++) {
    const code = segment.charCodeAt(index);
    if (code === 0x5c) return "a backslash";
    if (isControlCharacter(code)) return "a control character";
  }
  return undefined;
}

/** A key for error messages: quoted, control characters escaped, long keys shortened. */
export function displayKey(key: string): string {
  return JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}…` : key);
}

/** Throws InvalidObjectKey unless `key` is '/'-separated segments that each name one file or folder. */
export function validateKey(key: string): string {
  if (typeof key !== "string" || key === "") throw new StorageError("InvalidObjectKey", "Invalid object key: empty");
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) {
    throw new StorageError("InvalidObjectKey", `Invalid object key ${displayKey(key)}: longer than ${MAX_KEY_BYTES} bytes`);
  }
  for (const segment of key.split("/")) {
    const problem = segmentProblem(segment);
    if (problem) throw new StorageError("InvalidObjectKey", `Invalid object key ${displayKey(key)}: ${problem}`);
  }
  return key;
}

/** Whether `key` is a valid key, without throwing (listings skip objects the API could not address). */
export function isValidKey(key: string): boolean {
  try {
    validateKey(key);
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws InvalidObjectKey unless `prefix` is empty or the start of a valid key: whole valid segments, then a
 * partial last segment (possibly empty, so "2025-01-01/" lists a folder and "2025-01-" several).
 */
export function validatePrefix(prefix: string): string {
  if (prefix === "") return prefix;
  if (Buffer.byteLength(prefix, "utf8") > MAX_KEY_BYTES) {
    throw new StorageError("InvalidObjectKey", `Invalid key prefix ${displayKey(prefix)}: longer than ${MAX_KEY_BYTES} bytes`);
  }
  const segments = prefix.split("/");
  const last = segments.pop()!;
  for (const segment of segments) {
    const problem = segmentProblem(segment);
    if (problem) throw new StorageError("InvalidObjectKey", `Invalid key prefix ${displayKey(prefix)}: ${problem}`);
  }
  if (last !== "") {
    const problem = segmentProblem(last);
    if (problem) throw new StorageError("InvalidObjectKey", `Invalid key prefix ${displayKey(prefix)}: ${problem}`);
  }
  return prefix;
}

/** The full object name under a location's prefix: `<prefix>/<key>`, or `key` without a prefix. */
export function rootedKey(rootPrefix: string | undefined, key: string): string {
  return rootPrefix ? `${rootPrefix}/${key}` : key;
}

/**
 * The order listings are sorted in: by the keys' UTF-8 bytes, which is S3's order (JavaScript's `<` compares
 * UTF-16 code units and would disagree with it for characters beyond the BMP).
 */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
