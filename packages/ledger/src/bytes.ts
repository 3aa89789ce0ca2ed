import { createHash, hash } from "node:crypto";

/** 32 zero bytes: the claims digest of a transaction that set none (CCF's convention). */
export const ZERO_DIGEST: Uint8Array = new Uint8Array(32);

// Opening a ledger hashes every entry about five times, so per-call overhead matters: one-shot `crypto.hash` over a
// reused buffer is markedly cheaper than a Hash object per digest for the short inputs involved.
const SCRATCH_LIMIT = 4096;
const scratch = Buffer.allocUnsafe(SCRATCH_LIMIT);

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Buffer {
  if (parts.length === 1) return hash("sha256", parts[0] as Uint8Array, "buffer");
  let length = 0;
  for (const part of parts) length += part.length;
  if (length > SCRATCH_LIMIT) {
    const incremental = createHash("sha256");
    for (const part of parts) incremental.update(part);
    return incremental.digest();
  }
  let offset = 0;
  for (const part of parts) {
    scratch.set(part, offset);
    offset += part.length;
  }
  return hash("sha256", scratch.subarray(0, length), "buffer");
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

const HEX_32 = /^[0-9a-f]{64}$/;

/** True for a lowercase hex SHA-256 digest, the only digest spelling CCF receipts use. */
export function isHexDigest(value: unknown): value is string {
  return typeof value === "string" && HEX_32.test(value);
}

/**
 * Orders strings by Unicode code point, which is the order of their UTF-8 bytes and therefore the order SQLite's
 * BINARY collation gives. Plain `<` compares UTF-16 code units, which disagrees for characters above U+FFFF versus
 * U+E000..U+FFFF; the ledger must sort write sets and merge SQLite pages in one consistent order.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixUp(x) - fixUp(y);
  }
  return a.length - b.length;
}

// Moves surrogates (which encode code points >= U+10000) above U+E000..U+FFFF, keeping everything else in place.
function fixUp(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

const LONE_SURROGATE = /\p{Surrogate}/u;

/** Map names and keys are stored as UTF-8 text: a lone surrogate would silently become U+FFFD, so refuse it. */
export function assertStorableString(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string") throw new TypeError(`The ${what} must be a string.`);
  if (LONE_SURROGATE.test(value)) throw new TypeError(`The ${what} contains a lone UTF-16 surrogate.`);
  if (value.includes("\u0000")) throw new TypeError(`The ${what} contains a NUL character.`);
}
