import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeEntry, encodeEntry, type Entry } from "./entry-codec.js";
import { openLedger } from "./ledger.js";
import { parseSignatureRecord, parseTreeRecord, SIGNATURES_MAP, TREE_MAP } from "./signature-records.js";
import { nodeIdOf } from "./signer.js";
import { createTestIdentity, removeTempDirs, tempDir, utf8, type TestIdentity } from "./test-support.case.js";
import type { LedgerVerifyReport } from "./types.js";
import { verifyLedger } from "./verify-ledger.js";
import { parseCertificate } from "@cleanroom/crypto";

let identity: TestIdentity;
let stranger: TestIdentity;
/**
 * A closed ledger: 10 application transactions (the i-th sets k<i % 4>, the 7th also deletes k1) at seqnos
 * 1-4, 6-9, 11-12, with signatures at 5, 10 and (on close) 13.
 */
let pristine: string;

beforeAll(async () => {
  [identity, stranger] = await Promise.all([createTestIdentity(), createTestIdentity()]);
  pristine = tempDir();
  const ledger = openLedger({ dir: pristine, signer: identity.signer, signatureEveryTx: 4, signatureIntervalMs: 60_000 });
  for (let i = 1; i <= 10; i++) {
    ledger.transact((tx) => {
      tx.set("public:m", `k${i % 4}`, utf8(`value ${i}`));
      if (i === 7) tx.delete("public:m", "k1");
    });
  }
  await ledger.close();
});

afterAll(removeTempDirs);

/** A copy of the pristine ledger to damage. */
function copyOf(source = pristine): string {
  const dir = tempDir();
  for (const suffix of ["", "-wal", "-shm"]) {
    const file = join(source, `ledger.sqlite${suffix}`);
    if (existsSync(file)) copyFileSync(file, join(dir, `ledger.sqlite${suffix}`));
  }
  return dir;
}

function withDb<T>(dir: string, action: (db: Database.Database) => T): T {
  const db = new Database(join(dir, "ledger.sqlite"));
  try {
    return action(db);
  } finally {
    db.close();
  }
}

function entryAt(dir: string, seqno: number): Buffer {
  return withDb(dir, (db) => db.prepare("SELECT entry FROM tx WHERE seqno = ?").pluck().get(seqno) as Buffer);
}

function setEntry(dir: string, seqno: number, entry: Uint8Array): void {
  withDb(dir, (db) => db.prepare("UPDATE tx SET entry = ? WHERE seqno = ?").run(entry, seqno));
}

function rewriteEntry(dir: string, seqno: number, change: (entry: Entry) => Entry): void {
  setEntry(dir, seqno, encodeEntry(change(decodeEntry(entryAt(dir, seqno)))));
}

function expectProblem(report: LedgerVerifyReport, kind: string, seqno: number, message?: RegExp): void {
  expect(report.ok).toBe(false);
  expect(report.problem).toMatchObject({ kind, seqno });
  if (message) expect(report.problem?.message).toMatch(message);
}

describe("verifyLedger", () => {
  it("passes a clean ledger and reports its shape", () => {
    const report = verifyLedger(pristine, { serviceCertificatePem: identity.serviceCertificatePem });
    expect(report).toEqual({
      ok: true,
      transactions: 13,
      signatures: 3,
      lastTxId: { view: 2, seqno: 13 },
      lastSignedSeqno: 13,
      unsignedTail: 0,
    });
    expect(verifyLedger(pristine, {}).ok).toBe(true);
  });

  it("passes a ledger written over several views", async () => {
    const dir = copyOf();
    const ledger = openLedger({ dir, signer: identity.signer, signatureEveryTx: 3, signatureIntervalMs: 60_000 });
    for (let i = 0; i < 4; i++) ledger.transact((tx) => tx.set("public:other", `x${i}`, utf8("y")));
    await ledger.close();
    const report = verifyLedger(dir, { serviceCertificatePem: identity.serviceCertificatePem });
    expect(report).toMatchObject({ ok: true, transactions: 19, signatures: 5, lastTxId: { view: 3, seqno: 19 } });
  });

  it("counts transactions after the last signature as an unsigned tail, not an error", () => {
    const dir = copyOf();
    // What a crash before the final signature leaves: drop signature 13 and put the internal keys back to 10's.
    withDb(dir, (db) => {
      db.exec("DELETE FROM tx WHERE seqno = 13; DELETE FROM kv_history WHERE seqno = 13;");
      db.exec(`UPDATE kv SET (value, seqno, view) = (SELECT value, seqno, view FROM kv_history h
                 WHERE h.map = kv.map AND h.key = kv.key ORDER BY seqno DESC LIMIT 1)
               WHERE map LIKE 'public:ccf.internal.%'`);
    });
    expect(verifyLedger(dir, {})).toMatchObject({ ok: true, transactions: 12, lastSignedSeqno: 10, unsignedTail: 2 });
  });

  it("reports an entry whose bytes were altered, at its seqno", () => {
    const dir = copyOf();
    const entry = entryAt(dir, 7);
    const at = entry.indexOf(Buffer.from("value 6"));
    expect(at).toBeGreaterThan(0);
    entry[at + 6] = "9".charCodeAt(0); // "value 6" -> "value 9", still a canonical entry
    setEntry(dir, 7, entry);
    expectProblem(verifyLedger(dir, {}), "altered", 7, /signature transaction 10/);
  });

  it("reports a deleted transaction as missing", () => {
    const dir = copyOf();
    withDb(dir, (db) => db.exec("DELETE FROM tx WHERE seqno = 6"));
    const report = verifyLedger(dir, {});
    expectProblem(report, "missing", 6);
    expect(report.transactions).toBe(12);
  });

  it("reports two swapped entries as reordered, at the first", () => {
    const dir = copyOf();
    const [three, four] = [entryAt(dir, 3), entryAt(dir, 4)];
    setEntry(dir, 3, four);
    setEntry(dir, 4, three);
    expectProblem(verifyLedger(dir, {}), "reordered", 3, /stored as 2\.3 is transaction 2\.4/);
  });

  it("reports a row stored below seqno 1 as reordered", () => {
    const dir = copyOf();
    withDb(dir, (db) => db.exec("UPDATE tx SET seqno = 0 WHERE seqno = 13"));
    const report = verifyLedger(dir, {});
    expectProblem(report, "reordered", 1, /seqno 0/);
    expect(report.transactions).toBe(12);
  });

  it("reports an entry that no longer decodes as corrupt", () => {
    const dir = copyOf();
    setEntry(dir, 8, Buffer.from("not cbor at all"));
    expectProblem(verifyLedger(dir, {}), "corrupt", 8);
  });

  it("reports a changed current-state value as a state mismatch naming the key", () => {
    const dir = copyOf();
    withDb(dir, (db) => db.prepare("UPDATE kv SET value = ? WHERE map = 'public:m' AND key = 'k2'").run(Buffer.from("forged")));
    // k2 was last written by the 10th application transaction, at seqno 12 (after signatures at 5 and 10).
    expectProblem(verifyLedger(dir, {}), "state-mismatch", 12, /public:m\/"k2"/);
  });

  it("reports a current-state row that no transaction left, and a missing one", () => {
    const extra = copyOf();
    withDb(extra, (db) => db.prepare("INSERT INTO kv VALUES ('public:m', 'ghost', ?, 9, 2)").run(Buffer.from("boo")));
    expectProblem(verifyLedger(extra, {}), "state-mismatch", 9, /kv holds public:m\/"ghost"/);

    const missing = copyOf();
    withDb(missing, (db) => db.exec("DELETE FROM kv WHERE map = 'public:m' AND key = 'k3'"));
    expectProblem(verifyLedger(missing, {}), "state-mismatch", 8, /lacks public:m\/"k3"/); // k3 last set at seqno 8
  });

  it("reports a changed or removed history row as a state mismatch", () => {
    const changed = copyOf();
    withDb(changed, (db) => db.exec("UPDATE kv_history SET timestamp = timestamp + 1 WHERE seqno = 2"));
    expectProblem(verifyLedger(changed, {}), "state-mismatch", 2, /kv_history differs/);

    const removed = copyOf();
    withDb(removed, (db) => db.exec("DELETE FROM kv_history WHERE map = 'public:m' AND key = 'k1' AND seqno = 8"));
    expectProblem(verifyLedger(removed, {}), "state-mismatch", 8, /public:m\/"k1"/);
  });

  it("reports a signature that does not verify as bad-signature", () => {
    const dir = copyOf();
    rewriteEntry(dir, 10, (entry) => ({
      ...entry,
      writes: entry.writes.map((write) => {
        if (write.map !== SIGNATURES_MAP) return write;
        const record = parseSignatureRecord(write.value!);
        const der = Buffer.from(record.signature, "base64");
        der[20]! ^= 1;
        return { ...write, value: Buffer.from(JSON.stringify({ ...record, signature: der.toString("base64") })) };
      }),
    }));
    const report = verifyLedger(dir, {});
    expectProblem(report, "bad-signature", 10, /does not verify/);
    expect(report.lastSignedSeqno).toBe(5);
  });

  it("reports a signature re-made by an unendorsed node as unendorsed-node (and as altered without a service certificate)", () => {
    const dir = copyOf();
    const strangerCertificate = parseCertificate(stranger.nodeCertificatePem);
    rewriteEntry(dir, 10, (entry) => ({
      ...entry,
      writes: entry.writes.map((write) => {
        if (write.map !== SIGNATURES_MAP) return write;
        const record = parseSignatureRecord(write.value!);
        const signature = Buffer.from(stranger.signer.signDigest(Buffer.from(record.root, "hex"))).toString("base64");
        const forged = { ...record, signature, cert: stranger.nodeCertificatePem, node_id: nodeIdOf(strangerCertificate.publicKey) };
        return { ...write, value: Buffer.from(JSON.stringify(forged)) };
      }),
    }));
    expectProblem(verifyLedger(dir, { serviceCertificatePem: identity.serviceCertificatePem }), "unendorsed-node", 10);
    // Without the service certificate the forged signature itself verifies, but signature 13 committed to the original.
    expectProblem(verifyLedger(dir, {}), "altered", 10, /signature transaction 13/);
  });

  it("pins an altered tree record on the signature transaction that holds it", () => {
    const dir = copyOf();
    rewriteEntry(dir, 5, (entry) => ({
      ...entry,
      writes: entry.writes.map((write) => {
        if (write.map !== TREE_MAP) return write;
        const record = parseTreeRecord(write.value!);
        record.leaves[2] = "00".repeat(32);
        return { ...write, value: Buffer.from(JSON.stringify(record)) };
      }),
    }));
    expectProblem(verifyLedger(dir, {}), "altered", 5, /Transaction 5 differs/);
  });

  it("reports the lowest-seqno problem when there are several", () => {
    const damage = (stateKey: string): string => {
      const dir = copyOf();
      setEntry(dir, 9, Buffer.from("garbage"));
      withDb(dir, (db) => db.exec("DELETE FROM tx WHERE seqno = 12"));
      withDb(dir, (db) => db.prepare("UPDATE kv SET value = ? WHERE map = 'public:m' AND key = ?").run(Buffer.from("x"), stateKey));
      return dir;
    };
    expectProblem(verifyLedger(damage("k3"), {}), "state-mismatch", 8); // k3's last write, below the corrupt entry
    expectProblem(verifyLedger(damage("k1"), {}), "corrupt", 9); // k1's last write is at 11, above it
  });

  it("refuses to run on a ledger held open by a service, or on a directory without one", async () => {
    const dir = copyOf();
    const ledger = openLedger({ dir, signer: identity.signer, signatureIntervalMs: 60_000 });
    try {
      expect(() => verifyLedger(dir, {})).toThrow(/locked by a running service/);
    } finally {
      await ledger.close();
    }
    expect(verifyLedger(dir, {}).ok).toBe(true);
    expect(() => verifyLedger(tempDir(), {})).toThrow(/No ledger/);
  });
});
