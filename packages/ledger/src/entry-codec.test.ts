import { createHash, randomBytes } from "node:crypto";
import { cborDecode, cborEncode } from "@cleanroom/crypto";
import { describe, expect, it } from "vitest";
import {
  commitEvidenceFor,
  decodeEntry,
  encodeEntry,
  EntryFormatError,
  leafComponentsOf,
  leafHash,
  leafOfEntry,
  parseCommitEvidence,
  writeSetDigest,
  type Entry,
} from "./entry-codec.js";

const sha = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
};

function sampleEntry(overrides: Partial<Entry> = {}): Entry {
  const view = overrides.view ?? 3;
  const seqno = overrides.seqno ?? 42;
  return {
    view,
    seqno,
    timestamp: 1_732_412_345_678,
    writes: [
      { map: "public:a", key: "k1", value: Buffer.from("v1") },
      { map: "public:a", key: "k2", value: null },
      { map: "public:b", key: "", value: new Uint8Array(300) },
    ],
    commitEvidence: commitEvidenceFor(view, seqno, randomBytes(32).toString("hex")),
    claimsDigest: new Uint8Array(32),
    ...overrides,
  };
}

describe("entry codec", () => {
  it("round-trips an entry", () => {
    const entry = sampleEntry();
    const decoded = decodeEntry(encodeEntry(entry));
    expect(decoded.view).toBe(3);
    expect(decoded.seqno).toBe(42);
    expect(decoded.timestamp).toBe(entry.timestamp);
    expect(decoded.commitEvidence).toBe(entry.commitEvidence);
    expect(decoded.writes.map((w) => [w.map, w.key, w.value === null ? null : Buffer.from(w.value).toString("hex")])).toEqual(
      entry.writes.map((w) => [w.map, w.key, w.value === null ? null : Buffer.from(w.value).toString("hex")]),
    );
  });

  it("encodes integers in their shortest form (timestamps >= 2^32 as uint64, not float)", () => {
    const bytes = encodeEntry(sampleEntry());
    const items = cborDecode(bytes) as unknown[];
    expect(items[2]).toBe(1_732_412_345_678n);
    // 0x86 array(6), view 3, seqno 0x18 0x2a, then 0x1b + 8-byte timestamp
    expect(bytes.subarray(0, 5).toString("hex")).toBe("8603182a1b");
  });

  it("computes the write set digest over CBOR [view, seqno, timestamp, writes], so the timestamp is covered", () => {
    const entry = sampleEntry();
    const expected = sha(
      cborEncode([3, 42, 1_732_412_345_678n, entry.writes.map((w) => [w.map, w.key, w.value])]),
    );
    expect(writeSetDigest(entry).equals(expected)).toBe(true);
    expect(writeSetDigest({ ...entry, timestamp: entry.timestamp + 1 }).equals(expected)).toBe(false);
  });

  it("reads the same leaf components straight from the bytes as from the decoded entry", () => {
    const entry = sampleEntry({ claimsDigest: randomBytes(32) });
    const bytes = encodeEntry(entry);
    const fast = leafComponentsOf(bytes, 3, 42);
    expect(Buffer.from(fast.writeSetDigest).equals(writeSetDigest(entry))).toBe(true);
    expect(fast.commitEvidence).toBe(entry.commitEvidence);
    expect(Buffer.from(fast.claimsDigest).equals(entry.claimsDigest)).toBe(true);
  });

  it("computes the same leaf on the fast path (leafOfEntry) as from decoded components", () => {
    const entry = sampleEntry({ claimsDigest: randomBytes(32) });
    const bytes = encodeEntry(entry);
    const expected = leafHash({ writeSetDigest: writeSetDigest(entry), commitEvidence: entry.commitEvidence, claimsDigest: entry.claimsDigest });
    expect(leafOfEntry(bytes, 3, 42).equals(expected)).toBe(true);
    expect(leafHash(leafComponentsOf(bytes, 3, 42)).equals(expected)).toBe(true);
    const altered = Buffer.from(bytes);
    altered[20]! ^= 1;
    expect(leafOfEntry(altered, 3, 42).equals(expected)).toBe(false);
    const badNonce = Buffer.from(bytes);
    badNonce[badNonce.length - 40] = "G".charCodeAt(0);
    expect(() => leafOfEntry(badNonce, 3, 42)).toThrow(/nonce/);
  });

  it("builds CCF's leaf: sha256(write_set_digest || sha256(commit_evidence) || claims_digest)", () => {
    const components = { writeSetDigest: randomBytes(32), commitEvidence: "ce:2.7:" + "ab".repeat(32), claimsDigest: randomBytes(32) };
    const expected = sha(components.writeSetDigest, sha(Buffer.from(components.commitEvidence)), components.claimsDigest);
    expect(leafHash(components).equals(expected)).toBe(true);
  });

  it("refuses framing that does not match the transaction id", () => {
    const bytes = encodeEntry(sampleEntry());
    expect(() => leafComponentsOf(bytes, 3, 43)).toThrow(EntryFormatError);
    expect(() => leafComponentsOf(bytes, 4, 42)).toThrow(EntryFormatError);
    expect(() => leafComponentsOf(bytes.subarray(0, 40), 3, 42)).toThrow(EntryFormatError);
  });

  it("rejects entries that are not canonical or not well formed", () => {
    const entry = sampleEntry();
    const unsorted = cborEncode([3, 42, 1_732_412_345_678n, [["public:b", "x", null], ["public:a", "y", null]], entry.commitEvidence, entry.claimsDigest]);
    expect(() => decodeEntry(unsorted)).toThrow(/sorted/);
    const floatTimestamp = cborEncode([3, 42, 1_732_412_345_678, [], entry.commitEvidence, entry.claimsDigest]);
    expect(() => decodeEntry(floatTimestamp)).toThrow(/canonical/);
    const otherId = cborEncode([3, 41, 5, [], entry.commitEvidence, entry.claimsDigest]);
    expect(() => decodeEntry(otherId)).toThrow(/names 3.42/);
    expect(() => decodeEntry(Buffer.concat([encodeEntry(entry), Buffer.from([0])]))).toThrow(EntryFormatError);
    expect(() => decodeEntry(cborEncode([3, 42, 5, [], entry.commitEvidence]))).toThrow(/six elements/);
    expect(() => decodeEntry(cborEncode([3, 42, 5, [["m", 1, null]], entry.commitEvidence, entry.claimsDigest]))).toThrow(/strings/);
  });

  it("formats and parses commit evidence", () => {
    const nonce = "0f".repeat(32);
    expect(commitEvidenceFor(2, 9, nonce)).toBe(`ce:2.9:${nonce}`);
    expect(parseCommitEvidence(`ce:2.9:${nonce}`)).toEqual({ view: 2, seqno: 9 });
    expect(parseCommitEvidence(`ce:2.9:${nonce}0`)).toBeUndefined();
    expect(parseCommitEvidence(`ce:0.9:${nonce}`)).toBeUndefined();
    expect(() => commitEvidenceFor(2, 9, "xyz")).toThrow(RangeError);
  });
});
