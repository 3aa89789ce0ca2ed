// Storage failures and crashes, simulated through a better-sqlite3 subclass that the ledger is given instead.
import type BetterSqlite3 from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { LedgerFailedError } from "./errors.js";
import { openLedger } from "./ledger.js";
import { createTestIdentity, removeTempDirs, tempDir, text, utf8, type TestIdentity } from "./test-support.case.js";
import type { Ledger } from "./types.js";

const sqlite = vi.hoisted(() => ({
  failCommit: false,
  commits: 0,
  connections: [] as BetterSqlite3.Database[],
}));

vi.mock("better-sqlite3", async (importOriginal) => {
  const actual = await importOriginal<{ default: typeof BetterSqlite3 }>();
  class InstrumentedDatabase extends actual.default {
    constructor(...args: ConstructorParameters<typeof BetterSqlite3>) {
      super(...args);
      sqlite.connections.push(this);
    }

    override exec(source: string): this {
      if (source === "COMMIT") {
        if (sqlite.failCommit) throw Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR" });
        sqlite.commits++;
      }
      return super.exec(source);
    }
  }
  return { ...actual, default: InstrumentedDatabase };
});

let identity: TestIdentity;
const ledgers: Ledger[] = [];

beforeAll(async () => {
  identity = await createTestIdentity();
});

afterEach(async () => {
  sqlite.failCommit = false;
  for (const ledger of ledgers.splice(0)) await ledger.close().catch(() => undefined);
});

afterAll(removeTempDirs);

function openWithConnection(dir: string, onFatal?: (error: Error) => void): { ledger: Ledger; db: BetterSqlite3.Database } {
  const before = sqlite.connections.length;
  const ledger = openLedger({ dir, signer: identity.signer, signatureEveryTx: 1000, signatureIntervalMs: 60_000, onFatal });
  ledgers.push(ledger);
  return { ledger, db: sqlite.connections[before]! };
}

describe("group commit, observed at the SQLite connection", () => {
  it("issues exactly one COMMIT for all transactions of a tick", async () => {
    const { ledger } = openWithConnection(tempDir());
    const before = sqlite.commits;
    const results = Array.from({ length: 20 }, (_, i) => ledger.transact((tx) => tx.set("public:m", `k${i}`, utf8("v"))));
    await Promise.all(results.map((r) => r.committed));
    expect(sqlite.commits - before).toBe(1);
  });
});

describe("a failed COMMIT", () => {
  it("rejects every pending transaction, calls onFatal once, and stops the ledger", async () => {
    const fatal: Error[] = [];
    const { ledger } = openWithConnection(tempDir(), (error) => fatal.push(error));
    await ledger.transact((tx) => tx.set("public:m", "durable", utf8("1"))).committed;

    sqlite.failCommit = true;
    const first = ledger.transact((tx) => tx.set("public:m", "a", utf8("1")));
    const second = ledger.transact((tx) => tx.set("public:m", "b", utf8("2")));
    const durable = ledger.whenDurable();
    await expect(first.committed).rejects.toBeInstanceOf(LedgerFailedError);
    await expect(second.committed).rejects.toThrow(/disk I\/O error/);
    await expect(durable).rejects.toBeInstanceOf(LedgerFailedError);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toBeInstanceOf(LedgerFailedError);
    expect(fatal[0]).toMatchObject({ code: "LEDGER_FAILED", name: "LedgerFailedError" }); // governance maps this code to 503

    expect(() => ledger.transact((tx) => tx.set("public:m", "c", utf8("3")))).toThrow(LedgerFailedError);
    expect(() => ledger.get("public:m", "durable")).toThrow(LedgerFailedError);
    expect(() => ledger.txStatus({ view: 2, seqno: 1 })).toThrow(LedgerFailedError);
    await expect(ledger.receipt({ view: 2, seqno: 1 })).rejects.toBeInstanceOf(LedgerFailedError);
    await expect(ledger.whenDurable()).rejects.toBeInstanceOf(LedgerFailedError);
    await ledger.close(); // still releases the database
  });

  it("loses only what was never committed: the ledger reopens with the durable prefix", async () => {
    const dir = tempDir();
    const { ledger } = openWithConnection(dir, () => undefined);
    await ledger.transact((tx) => tx.set("public:m", "durable", utf8("1"))).committed;
    sqlite.failCommit = true;
    const lost = ledger.transact((tx) => tx.set("public:m", "lost", utf8("1")));
    await expect(lost.committed).rejects.toBeInstanceOf(LedgerFailedError);
    await ledger.close();
    sqlite.failCommit = false;

    const { ledger: reopened } = openWithConnection(dir);
    expect(reopened.view).toBe(3);
    expect(text(reopened.get("public:m", "durable"))).toBe("1");
    expect(reopened.has("public:m", "lost")).toBe(false);
    expect(reopened.lastTxId()).toEqual({ view: 2, seqno: 1 });
    expect(reopened.txStatus({ view: 2, seqno: 2 })).toBe("Invalid");
  });
});

describe("a crash", () => {
  it("keeps committed transactions, drops executed-but-uncommitted ones, and never reuses their ids", async () => {
    const dir = tempDir();
    const fatal: Error[] = [];
    const { ledger, db } = openWithConnection(dir, (error) => fatal.push(error));
    await ledger.transact((tx) => tx.set("public:m", "a", utf8("committed"))).committed; // 2.1
    const pending = ledger.transact((tx) => tx.set("public:m", "b", utf8("pending"))); // 2.2, not yet committed
    expect(pending.txId).toEqual({ view: 2, seqno: 2 });
    // The process dies before the batch's COMMIT: SQLite discards the open transaction.
    db.close();
    await expect(pending.committed).rejects.toBeInstanceOf(LedgerFailedError);
    expect(fatal).toHaveLength(1);

    const { ledger: reopened } = openWithConnection(dir);
    expect(reopened.view).toBe(3);
    expect(text(reopened.get("public:m", "a"))).toBe("committed");
    expect(reopened.has("public:m", "b")).toBe(false);
    expect(reopened.txStatus({ view: 2, seqno: 1 })).toBe("Committed");
    expect(reopened.txStatus({ view: 2, seqno: 2 })).toBe("Invalid");
    const next = reopened.transact((tx) => tx.set("public:m", "b", utf8("other")));
    expect(next.txId).toEqual({ view: 3, seqno: 2 });
    // The unsigned transaction left by the crash gets signed and can be proven.
    await next.committed;
    const receipt = await reopened.receipt({ view: 2, seqno: 1 });
    expect(receipt.is_signature_transaction).toBe(false);
  });
});
