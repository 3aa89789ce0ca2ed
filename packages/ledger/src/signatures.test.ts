import { join } from "node:path";
import Database from "better-sqlite3";
import { verifyDigest, parseCertificate } from "@cleanroom/crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { decodeEntry, encodeEntry, leafComponentsOf, leafHash } from "./entry-codec.js";
import { LedgerTamperedError } from "./errors.js";
import { MerkleTree } from "./merkle-tree.js";
import { parseSignatureRecord, parseTreeRecord, SIGNATURES_MAP, TREE_MAP } from "./signature-records.js";
import { createTestIdentity, ledgerOpener, manualClock, removeTempDirs, tempDir, utf8, type TestIdentity } from "./test-support.case.js";
import type { Ledger } from "./types.js";

let identity: TestIdentity;

beforeAll(async () => {
  identity = await createTestIdentity();
});

afterAll(removeTempDirs);

const openAt = ledgerOpener(() => identity.signer);

function write(ledger: Ledger, key: string): void {
  ledger.transact((tx) => tx.set("public:m", key, utf8(key)));
}

interface StoredTx {
  seqno: number;
  view: number;
  entry: Buffer;
}

function readEntries(dir: string): StoredTx[] {
  const db = new Database(join(dir, "ledger.sqlite"), { readonly: true });
  try {
    return db.prepare("SELECT seqno, view, entry FROM tx ORDER BY seqno").all() as StoredTx[];
  } finally {
    db.close();
  }
}

describe("signature transactions", () => {
  it("are appended after signatureEveryTx transactions, in the same batch", async () => {
    const ledger = openAt(tempDir(), { signatureEveryTx: 3 });
    write(ledger, "a");
    write(ledger, "b");
    expect(ledger.stats().signatures).toBe(0);
    write(ledger, "c");
    expect(ledger.stats().signatures).toBe(1);
    expect(ledger.lastTxId()).toEqual({ view: 2, seqno: 4 });
    write(ledger, "d");
    await ledger.whenDurable();
    expect(ledger.stats().commits).toBe(1);
    expect(ledger.has(SIGNATURES_MAP, "0")).toBe(true);
  });

  it("record the signed root over all earlier leaves, a verifying signature, and the leaves since the last one", async () => {
    const dir = tempDir();
    const ledger = openAt(dir, { signatureEveryTx: 2 });
    for (const key of ["a", "b", "c", "d"]) write(ledger, key); // signatures at 3 and 6
    await ledger.close();

    const rows = readEntries(dir);
    expect(rows.map((row) => row.seqno)).toEqual([1, 2, 3, 4, 5, 6]);
    const tree = new MerkleTree();
    const certificate = parseCertificate(identity.nodeCertificatePem);
    let previousSignature = 0;
    for (const row of rows) {
      const entry = decodeEntry(row.entry);
      const signature = entry.writes.find((w) => w.map === SIGNATURES_MAP);
      if (signature) {
        const record = parseSignatureRecord(signature.value!);
        const treeRecord = parseTreeRecord(entry.writes.find((w) => w.map === TREE_MAP)!.value!);
        expect(record).toMatchObject({ view: 2, seqno: row.seqno, node_id: identity.signer.nodeId, cert: identity.nodeCertificatePem });
        expect(record.root).toBe(Buffer.from(tree.root(row.seqno - 1)).toString("hex"));
        expect(verifyDigest(tree.root(row.seqno - 1), Buffer.from(record.signature, "base64"), certificate.publicKey)).toBe(true);
        const from = Math.max(previousSignature, 1);
        expect(treeRecord.from_seqno).toBe(from);
        expect(treeRecord.leaves).toEqual(
          Array.from({ length: row.seqno - from }, (_, i) => Buffer.from(tree.leaf(from - 1 + i)).toString("hex")),
        );
        previousSignature = row.seqno;
      }
      tree.append(leafHash(leafComponentsOf(row.entry, row.view, row.seqno)));
    }
    expect(previousSignature).toBe(6);
  });

  it("are appended when the oldest unsigned transaction is older than signatureIntervalMs (service clock)", () => {
    const clock = manualClock();
    const ledger = openAt(tempDir(), { clock: clock.now, signatureIntervalMs: 100 });
    write(ledger, "a");
    clock.advance(60);
    write(ledger, "b");
    expect(ledger.stats().signatures).toBe(0);
    clock.advance(40); // "a" is now 100 ms old
    write(ledger, "c");
    expect(ledger.stats().signatures).toBe(1);
    expect(ledger.lastTxId()?.seqno).toBe(4);
    clock.advance(1000);
    write(ledger, "d"); // the first unsigned transaction starts a new age
    expect(ledger.stats().signatures).toBe(1);
  });

  it("are appended by the interval timer when no transaction follows", async () => {
    const ledger = openAt(tempDir(), { signatureIntervalMs: 20 });
    write(ledger, "a");
    await vi.waitFor(() => expect(ledger.stats().signatures).toBe(1), { timeout: 5000, interval: 10 });
    await ledger.whenDurable();
    expect(ledger.txStatus({ view: 2, seqno: 2 })).toBe("Committed");
  });

  it("are not appended when nothing is unsigned", async () => {
    const dir = tempDir();
    const ledger = openAt(dir, { signatureEveryTx: 1 });
    write(ledger, "a"); // signature at 2
    await ledger.close(); // nothing left to sign
    expect(readEntries(dir)).toHaveLength(2);
  });
});

describe("opening a tampered ledger", () => {
  async function signedLedger(): Promise<string> {
    const dir = tempDir();
    const ledger = openAt(dir, { signatureEveryTx: 3 });
    for (const key of ["a", "b", "c", "d", "e"]) write(ledger, key);
    await ledger.close(); // signatures at 4 and 7
    return dir;
  }

  function mutate(dir: string, sql: string, ...params: unknown[]): void {
    const db = new Database(join(dir, "ledger.sqlite"));
    try {
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
  }

  it("opens an untouched ledger", async () => {
    const dir = await signedLedger();
    expect(openAt(dir).stats().signatures).toBe(2);
  });

  it("refuses an entry whose bytes were changed", async () => {
    const dir = await signedLedger();
    const entry = readEntries(dir)[1]!.entry;
    const at = entry.indexOf(Buffer.from("b"), 10);
    entry[at] = "x".charCodeAt(0);
    mutate(dir, "UPDATE tx SET entry = ? WHERE seqno = 2", entry);
    expect(() => openAt(dir)).toThrow(LedgerTamperedError);
    expect(() => openAt(dir)).toThrow(/tampered/);
  });

  it("refuses a ledger with a missing transaction", async () => {
    const dir = await signedLedger();
    mutate(dir, "DELETE FROM tx WHERE seqno = 3");
    expect(() => openAt(dir)).toThrow(/tampered.*3 is missing/);
  });

  it("refuses a ledger whose last signature was replaced", async () => {
    const dir = await signedLedger();
    const other = await createTestIdentity();
    // A signature transaction re-signed by an impostor: root still right, signature by another key.
    const rows = readEntries(dir);
    const last = decodeEntry(rows[6]!.entry);
    const record = parseSignatureRecord(last.writes.find((w) => w.map === SIGNATURES_MAP)!.value!);
    const forged = { ...record, signature: Buffer.from(other.signer.signDigest(Buffer.from(record.root, "hex"))).toString("base64") };
    const writes = last.writes.map((w) => (w.map === SIGNATURES_MAP ? { ...w, value: Buffer.from(JSON.stringify(forged)) } : w));
    mutate(dir, "UPDATE tx SET entry = ? WHERE seqno = 7", encodeEntry({ ...last, writes }));
    expect(() => openAt(dir)).toThrow(/signature of transaction 7 does not verify/);
  });
});
