import { cborDecode, cborEncode } from "@cleanroom/crypto";
import { compareKeys, sha256, toHex } from "./bytes.js";

/** One write of a transaction: `value` is null for a deletion. */
export interface Write {
  map: string;
  key: string;
  value: Uint8Array | null;
}

/** A ledger entry: what the `tx` table stores, CBOR-encoded, for every transaction. */
export interface Entry {
  view: number;
  seqno: number;
  /** Service time, ms since the epoch. */
  timestamp: number;
  /** Sorted by (map, key) in code point order, at most one write per key. */
  writes: Write[];
  commitEvidence: string;
  claimsDigest: Uint8Array;
}

/** The three digests CCF hashes into a transaction's Merkle leaf. */
export interface LeafComponents {
  writeSetDigest: Uint8Array;
  commitEvidence: string;
  claimsDigest: Uint8Array;
}

/** Raised when stored entry bytes are not an entry this codec would have written. */
export class EntryFormatError extends Error {
  override readonly name = "EntryFormatError";
}

const NONCE_HEX = /^[0-9a-f]{64}$/;
const COMMIT_EVIDENCE = /^ce:([1-9][0-9]{0,15})\.([1-9][0-9]{0,15}):([0-9a-f]{64})$/;

/** CCF's commit evidence string for a transaction: `ce:<view>.<seqno>:<hex nonce>`. */
export function commitEvidenceFor(view: number, seqno: number, nonceHex: string): string {
  if (!NONCE_HEX.test(nonceHex)) throw new RangeError("The commit evidence nonce must be 32 bytes of lowercase hex.");
  return `ce:${view}.${seqno}:${nonceHex}`;
}

/** The transaction id a commit evidence string names, or undefined when it is not one. */
export function parseCommitEvidence(value: string): { view: number; seqno: number } | undefined {
  const match = COMMIT_EVIDENCE.exec(value);
  if (!match) return undefined;
  const view = Number(match[1]);
  const seqno = Number(match[2]);
  return Number.isSafeInteger(view) && Number.isSafeInteger(seqno) ? { view, seqno } : undefined;
}

// Canonical CBOR wants the shortest integer encoding; cbor-x writes numbers >= 2^32 as float64 and bigints always
// as 8 bytes, so pick per value.
function cborUint(value: number): number | bigint {
  return value < 2 ** 32 ? value : BigInt(value);
}

function writeSetArray(entry: Pick<Entry, "view" | "seqno" | "timestamp" | "writes">): unknown[] {
  return [
    cborUint(entry.view),
    cborUint(entry.seqno),
    cborUint(entry.timestamp),
    entry.writes.map((write) => [write.map, write.key, write.value]),
  ];
}

/** Sorts writes into the canonical (map, key) order. */
export function sortWrites(writes: Write[]): Write[] {
  return writes.sort((a, b) => compareKeys(a.map, b.map) || compareKeys(a.key, b.key));
}

/**
 * Encodes an entry as the CBOR array `[view, seqno, timestamp, writes, commit_evidence, claims_digest]`. Its first
 * four elements are exactly CBOR `[view, seqno, timestamp, writes]`, the bytes whose SHA-256 is the write set
 * digest, so the digest can be recomputed from stored bytes without re-encoding (see `leafComponentsOf`).
 */
export function encodeEntry(entry: Entry): Buffer {
  assertHeader(entry.view, entry.seqno, entry.timestamp);
  if (entry.claimsDigest.length !== 32) throw new RangeError("A claims digest is 32 bytes.");
  return cborEncode([...writeSetArray(entry), entry.commitEvidence, entry.claimsDigest]);
}

/** SHA-256 of CBOR `[view, seqno, timestamp, writes]`: binds the timestamp as well as the writes. */
export function writeSetDigest(entry: Pick<Entry, "view" | "seqno" | "timestamp" | "writes">): Buffer {
  return sha256(cborEncode(writeSetArray(entry)));
}

/** CCF's Merkle leaf: SHA-256(write_set_digest ‖ SHA-256(commit_evidence) ‖ claims_digest). */
export function leafHash(components: LeafComponents): Buffer {
  return sha256(
    components.writeSetDigest,
    sha256(Buffer.from(components.commitEvidence, "utf8")),
    components.claimsDigest,
  );
}

function assertHeader(view: number, seqno: number, timestamp: number): void {
  if (!Number.isSafeInteger(view) || view < 1) throw new RangeError(`Invalid view ${view}.`);
  if (!Number.isSafeInteger(seqno) || seqno < 1) throw new RangeError(`Invalid seqno ${seqno}.`);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError(`Invalid timestamp ${timestamp}: the clock must return whole milliseconds.`);
  }
}

const CLAIMS_TAIL = 2 + 32; // byte string header (0x58 0x20) + 32 bytes
const WRITE_SET_HEADER = Uint8Array.of(0x84); // CBOR array of four elements

/** Where the parts of a stored entry sit, as `encodeEntry` lays them out. */
interface Frame {
  /** End (exclusive) of the write set elements, which start at offset 1. */
  writeSetEnd: number;
  evidenceStart: number;
  evidenceEnd: number;
}

function isLowerHexByte(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66));
}

/**
 * Locates the parts of the stored entry of transaction `view.seqno` from the id alone: the commit evidence and
 * claims digest sit at the end with lengths fixed by the id, and everything between the array header and them is
 * the write set. Throws EntryFormatError when the framing does not match the id.
 */
function frameOf(bytes: Uint8Array, view: number, seqno: number): Frame {
  const prefix = `ce:${view}.${seqno}:`;
  const evidenceLength = prefix.length + 64;
  const tail = 2 + evidenceLength + CLAIMS_TAIL; // text string header (0x78 length) + evidence + claims
  const end = bytes.length;
  const writeSetEnd = end - tail;
  const evidenceStart = writeSetEnd + 2;
  const evidenceEnd = evidenceStart + evidenceLength;
  if (
    writeSetEnd <= 1 ||
    bytes[0] !== 0x86 ||
    bytes[writeSetEnd] !== 0x78 ||
    bytes[writeSetEnd + 1] !== evidenceLength ||
    bytes[end - CLAIMS_TAIL] !== 0x58 ||
    bytes[end - CLAIMS_TAIL + 1] !== 0x20
  ) {
    throw new EntryFormatError(`The entry at seqno ${seqno} is not framed as an entry of transaction ${view}.${seqno}.`);
  }
  for (let i = 0; i < prefix.length; i++) {
    if (bytes[evidenceStart + i] !== prefix.charCodeAt(i)) {
      throw new EntryFormatError(`The entry at seqno ${seqno} does not carry the commit evidence of ${view}.${seqno}.`);
    }
  }
  for (let i = evidenceStart + prefix.length; i < evidenceEnd; i++) {
    if (!isLowerHexByte(bytes[i])) throw new EntryFormatError(`The entry at seqno ${seqno} has a malformed commit evidence nonce.`);
  }
  return { writeSetEnd, evidenceStart, evidenceEnd };
}

/**
 * Leaf components of the stored entry for transaction `view.seqno`, read straight from its bytes (see `frameOf`):
 * the write set digest is computed over the entry's own first four elements, without decoding or re-encoding.
 */
export function leafComponentsOf(bytes: Uint8Array, view: number, seqno: number): LeafComponents {
  const frame = frameOf(bytes, view, seqno);
  return {
    writeSetDigest: sha256(WRITE_SET_HEADER, bytes.subarray(1, frame.writeSetEnd)),
    commitEvidence: Buffer.from(bytes.buffer, bytes.byteOffset + frame.evidenceStart, frame.evidenceEnd - frame.evidenceStart).toString("latin1"),
    claimsDigest: bytes.slice(bytes.length - 32),
  };
}

/**
 * The Merkle leaf of a stored entry: what opening a ledger computes for every transaction, so it skips building
 * the commit evidence string. Any altered byte of the entry changes the leaf.
 */
export function leafOfEntry(bytes: Uint8Array, view: number, seqno: number): Buffer {
  const frame = frameOf(bytes, view, seqno);
  return sha256(
    sha256(WRITE_SET_HEADER, bytes.subarray(1, frame.writeSetEnd)),
    sha256(bytes.subarray(frame.evidenceStart, frame.evidenceEnd)),
    bytes.subarray(bytes.length - 32),
  );
}

/**
 * Decodes and validates an entry: exact shape and types, writes strictly sorted, and canonical encoding (re-encoding
 * yields the same bytes, so the fast leaf computation of `leafComponentsOf` agrees with the decoded content).
 */
export function decodeEntry(bytes: Uint8Array): Entry {
  let decoded: unknown;
  try {
    decoded = cborDecode(bytes);
  } catch (error) {
    throw new EntryFormatError(`Not valid CBOR: ${(error as Error).message}`);
  }
  if (!Array.isArray(decoded) || decoded.length !== 6) throw new EntryFormatError("An entry is a CBOR array of six elements.");
  const [view, seqno, timestamp, rawWrites, commitEvidence, claimsDigest] = decoded as unknown[];
  const entry: Entry = {
    view: integer(view, "view"),
    seqno: integer(seqno, "seqno"),
    timestamp: integer(timestamp, "timestamp"),
    writes: decodeWrites(rawWrites),
    commitEvidence: typeof commitEvidence === "string" ? commitEvidence : fail("The commit evidence must be a string."),
    claimsDigest: claimsDigest instanceof Uint8Array && claimsDigest.length === 32
      ? claimsDigest
      : fail("The claims digest must be a 32-byte string."),
  };
  const id = parseCommitEvidence(entry.commitEvidence);
  if (!id) throw new EntryFormatError("Malformed commit evidence.");
  if (id.view !== entry.view || id.seqno !== entry.seqno) {
    throw new EntryFormatError(`The commit evidence names ${id.view}.${id.seqno} in an entry of ${entry.view}.${entry.seqno}.`);
  }
  let reencoded: Buffer;
  try {
    reencoded = encodeEntry(entry);
  } catch (error) {
    throw new EntryFormatError((error as Error).message);
  }
  if (!reencoded.equals(bytes)) throw new EntryFormatError("The entry is not canonically encoded.");
  return entry;
}

function decodeWrites(value: unknown): Write[] {
  if (!Array.isArray(value)) fail("The writes must be an array.");
  const writes: Write[] = [];
  for (const item of value as unknown[]) {
    if (!Array.isArray(item) || item.length !== 3) fail("A write is an array [map, key, value].");
    const [map, key, written] = item as unknown[];
    if (typeof map !== "string" || typeof key !== "string") fail("A write's map and key must be strings.");
    if (written !== null && !(written instanceof Uint8Array)) fail("A written value must be a byte string or null.");
    const write: Write = { map, key, value: written };
    const previous = writes[writes.length - 1];
    if (previous && (compareKeys(previous.map, write.map) || compareKeys(previous.key, write.key)) >= 0) {
      fail("The writes are not strictly sorted by (map, key).");
    }
    writes.push(write);
  }
  return writes;
}

function integer(value: unknown, what: string): number {
  const number = typeof value === "bigint" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 0) fail(`The ${what} must be an unsigned integer.`);
  return number;
}

function fail(message: string): never {
  throw new EntryFormatError(message);
}

/** Hex leaf components as they appear in a receipt. */
export function receiptLeafComponents(components: LeafComponents): {
  claims_digest: string;
  commit_evidence: string;
  write_set_digest: string;
} {
  return {
    claims_digest: toHex(components.claimsDigest),
    commit_evidence: components.commitEvidence,
    write_set_digest: toHex(components.writeSetDigest),
  };
}
