import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReservedMapError } from "./errors.js";
import { openLedger } from "./ledger.js";
import { createTestIdentity, ledgerOpener, removeTempDirs, tempDir, text, utf8, type TestIdentity } from "./test-support.case.js";
import type { Ledger } from "./types.js";

let identity: TestIdentity;

beforeAll(async () => {
  identity = await createTestIdentity();
});

afterAll(removeTempDirs);

const openAt = ledgerOpener(() => identity.signer);

describe("openLedger", () => {
  it("creates <dir>/ledger.sqlite in WAL mode and starts at view 2", () => {
    const dir = join(tempDir(), "nested", "ledger");
    const ledger = openAt(dir);
    expect(existsSync(join(dir, "ledger.sqlite"))).toBe(true);
    expect(ledger.view).toBe(2);
    expect(ledger.lastTxId()).toBeNull();
    expect(ledger.lastCommittedTxId()).toBeNull();
  });

  it("refuses a signer whose key does not match its certificate", async () => {
    const other = await createTestIdentity();
    const signer = { ...identity.signer, signDigest: (digest: Uint8Array) => other.signer.signDigest(digest) };
    expect(() => openLedger({ dir: tempDir(), signer })).toThrow(/do not verify/);
  });

  it("refuses a second opener while the ledger is open", () => {
    const dir = tempDir();
    openAt(dir);
    expect(() => openLedger({ dir, signer: identity.signer })).toThrow(/in use by another process/);
  });
});

describe("transact", () => {
  it("records writes, reads its own writes, and exposes them to later transactions before they are durable", async () => {
    const ledger = openAt(tempDir());
    const first = ledger.transact((tx) => {
      expect(tx.get("public:m", "a")).toBeUndefined();
      tx.set("public:m", "a", utf8("1"));
      expect(text(tx.get("public:m", "a"))).toBe("1");
      expect(tx.has("public:m", "a")).toBe(true);
      expect(tx.size("public:m")).toBe(1);
      return "done";
    });
    expect(first.result).toBe("done");
    expect(first.txId).toEqual({ view: 2, seqno: 1 });
    expect(ledger.txStatus({ view: 2, seqno: 1 })).toBe("Pending");

    const second = ledger.transact((tx) => {
      expect(text(tx.get("public:m", "a"))).toBe("1"); // not durable yet, still visible
      tx.set("public:m", "b", utf8("2"));
    });
    expect(second.txId).toEqual({ view: 2, seqno: 2 });
    expect(text(ledger.get("public:m", "b"))).toBe("2");
    await Promise.all([first.committed, second.committed]);
    expect(ledger.txStatus({ view: 2, seqno: 2 })).toBe("Committed");
    expect(ledger.lastCommittedTxId()).toEqual({ view: 2, seqno: 2 });
  });

  it("records nothing when the function throws, and rethrows", async () => {
    const ledger = openAt(tempDir());
    ledger.transact((tx) => tx.set("public:m", "a", utf8("kept")));
    expect(() =>
      ledger.transact((tx) => {
        tx.set("public:m", "a", utf8("lost"));
        tx.set("public:m", "b", utf8("lost"));
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(text(ledger.get("public:m", "a"))).toBe("kept");
    expect(ledger.has("public:m", "b")).toBe(false);
    expect(ledger.lastTxId()).toEqual({ view: 2, seqno: 1 });
    await ledger.whenDurable();
    expect(ledger.history("public:m", "a")).toHaveLength(1);
  });

  it("records no transaction when nothing was written", async () => {
    const ledger = openAt(tempDir());
    const result = ledger.transact((tx) => tx.get("public:m", "a"));
    expect(result.txId).toBeNull();
    await expect(result.committed).resolves.toBeUndefined();
    // Deleting a key that does not exist is not a write either.
    expect(ledger.transact((tx) => tx.delete("public:m", "missing")).txId).toBeNull();
    expect(ledger.lastTxId()).toBeNull();
    expect(ledger.stats().commits).toBe(0);
  });

  it("records a transaction that only sets a claims digest", () => {
    const ledger = openAt(tempDir());
    const claims = new Uint8Array(32).fill(7);
    expect(ledger.transact((tx) => tx.setClaimsDigest(claims)).txId).toEqual({ view: 2, seqno: 1 });
    expect(() => ledger.transact((tx) => tx.setClaimsDigest(new Uint8Array(31)))).toThrow(TypeError);
  });

  it("applies deletions, set-then-delete and delete-then-set within one transaction", () => {
    const ledger = openAt(tempDir());
    ledger.transact((tx) => {
      tx.set("public:m", "a", utf8("1"));
      tx.set("public:m", "b", utf8("2"));
    });
    ledger.transact((tx) => {
      tx.delete("public:m", "a");
      expect(tx.get("public:m", "a")).toBeUndefined();
      expect(tx.has("public:m", "a")).toBe(false);
      expect(tx.size("public:m")).toBe(1);
      tx.set("public:m", "c", utf8("3"));
      tx.delete("public:m", "c"); // never stored: no write at all
      tx.delete("public:m", "b");
      tx.set("public:m", "b", utf8("2b"));
    });
    expect(ledger.has("public:m", "a")).toBe(false);
    expect(text(ledger.get("public:m", "b"))).toBe("2b");
    expect(ledger.has("public:m", "c")).toBe(false);
    expect(ledger.history("public:m", "c")).toEqual([]);
    expect(ledger.size("public:m")).toBe(1);
  });

  it("visits keys in code point order, merging buffered writes with stored state", () => {
    const ledger = openAt(tempDir());
    // U+FF5E sorts before U+1F600 by code point (and in UTF-8), but after it in UTF-16 code units.
    const keys = ["b", "\u{1F600}", "\uFF5E", "a", "d"];
    ledger.transact((tx) => {
      for (const key of keys) tx.set("public:m", key, utf8(key));
    });
    const expected = ["a", "b", "d", "\uFF5E", "\u{1F600}"];
    const seen: string[] = [];
    ledger.forEach("public:m", (key, value) => {
      expect(text(value)).toBe(key);
      seen.push(key);
    });
    expect(seen).toEqual(expected);

    const merged: string[] = [];
    ledger.transact((tx) => {
      tx.delete("public:m", "b");
      tx.set("public:m", "c", utf8("c"));
      tx.set("public:m", "d", utf8("D"));
      tx.set("public:m", "\u{1F601}", utf8("x"));
      tx.forEach("public:m", (key, value) => merged.push(`${key}=${text(value)}`));
      expect(tx.size("public:m")).toBe(6);
    });
    expect(merged).toEqual(["a=a", "c=c", "d=D", "\uFF5E=\uFF5E", "\u{1F600}=\u{1F600}", "\u{1F601}=x"]);
  });

  it("pages through large maps in order", () => {
    const ledger = openAt(tempDir());
    ledger.transact((tx) => {
      for (let i = 0; i < 600; i++) tx.set("public:big", `k${String(i).padStart(4, "0")}`, utf8(String(i)));
    });
    const seen: string[] = [];
    ledger.forEach("public:big", (key) => seen.push(key));
    expect(seen).toHaveLength(600);
    expect(seen).toEqual([...seen].sort());
    expect(ledger.size("public:big")).toBe(600);
  });

  it("does not let callers corrupt stored or buffered values", () => {
    const ledger = openAt(tempDir());
    const value = utf8("original");
    ledger.transact((tx) => {
      tx.set("public:m", "a", value);
      value.fill(0); // mutating the argument after set
      tx.get("public:m", "a")!.fill(1); // mutating what a read returned
      expect(text(tx.get("public:m", "a"))).toBe("original");
    });
    ledger.get("public:m", "a")!.fill(2);
    ledger.forEach("public:m", (_key, stored) => stored.fill(3));
    expect(text(ledger.get("public:m", "a"))).toBe("original");
    expect(text(ledger.history("public:m", "a")[0]!.value)).toBe("original");
  });

  it("refuses writes to ledger-internal maps, writes after the function returned, and nested or async use", () => {
    const ledger = openAt(tempDir());
    expect(() => ledger.transact((tx) => tx.set("public:ccf.internal.signatures", "0", utf8("forged")))).toThrow(ReservedMapError);
    expect(() => ledger.transact((tx) => tx.delete("public:ccf.internal.tree", "0"))).toThrow(ReservedMapError);
    let escaped: Parameters<Parameters<Ledger["transact"]>[0]>[0] | undefined;
    ledger.transact((tx) => {
      escaped = tx;
    });
    expect(() => escaped!.set("public:m", "late", utf8("x"))).toThrow(/finished/);
    expect(() => ledger.transact(() => ledger.transact(() => undefined))).toThrow(/inside a transaction/);
    const asyncLike = (tx: Parameters<Parameters<Ledger["transact"]>[0]>[0]): Promise<void> => {
      tx.set("public:m", "a", utf8("x"));
      return Promise.resolve();
    };
    expect(() => ledger.transact(asyncLike)).toThrow(/synchronous/);
    expect(() => ledger.transact((tx) => tx.set("public:m", "bad\uD800", utf8("x")))).toThrow(/surrogate/);
    expect(ledger.lastTxId()).toBeNull();
  });

  it("tracks each key's version: the last transaction that wrote or deleted it", () => {
    const ledger = openAt(tempDir());
    ledger.transact((tx) => tx.set("public:m", "a", utf8("1")));
    ledger.transact((tx) => tx.set("public:m", "b", utf8("1")));
    ledger.transact((tx) => {
      expect(tx.version("public:m", "a")).toEqual({ view: 2, seqno: 1 });
      tx.delete("public:m", "a");
    });
    expect(ledger.version("public:m", "a")).toEqual({ view: 2, seqno: 3 });
    expect(ledger.version("public:m", "b")).toEqual({ view: 2, seqno: 2 });
    expect(ledger.version("public:m", "never")).toBeUndefined();
  });
});

describe("group commit", () => {
  it("commits every transaction executed in one tick with a single COMMIT, then resolves them all", async () => {
    const ledger = openAt(tempDir());
    const results = Array.from({ length: 50 }, (_, i) => ledger.transact((tx) => tx.set("public:m", `k${i}`, utf8(String(i)))));
    expect(ledger.stats().commits).toBe(0);
    expect(ledger.txStatus(results[49]!.txId!)).toBe("Pending");
    await Promise.all(results.map((r) => r.committed));
    expect(ledger.stats().commits).toBe(1);
    expect(ledger.stats().durableSeqno).toBe(50);
    expect(results.every((r) => ledger.txStatus(r.txId!) === "Committed")).toBe(true);

    // A later tick is a new batch.
    await ledger.transact((tx) => tx.set("public:m", "later", utf8("x"))).committed;
    expect(ledger.stats().commits).toBe(2);
  });

  it("batches transactions that resume from promise callbacks within the same turn of the event loop", async () => {
    // Like request handlers continuing after an await: the flush must wait for the event loop, not a microtask.
    const ledger = openAt(tempDir());
    const first = ledger.transact((tx) => tx.set("public:m", "a", utf8("1")));
    await Promise.resolve();
    const second = ledger.transact((tx) => tx.set("public:m", "b", utf8("2")));
    await Promise.resolve();
    const third = ledger.transact((tx) => tx.set("public:m", "c", utf8("3")));
    await Promise.all([first.committed, second.committed, third.committed]);
    expect(ledger.stats().commits).toBe(1);
  });

  it("whenDurable waits for the pending batch and resolves at once when nothing is pending", async () => {
    const ledger = openAt(tempDir());
    await ledger.whenDurable();
    ledger.transact((tx) => tx.set("public:m", "a", utf8("1")));
    expect(ledger.lastCommittedTxId()).toBeNull();
    await ledger.whenDurable();
    expect(ledger.lastCommittedTxId()).toEqual({ view: 2, seqno: 1 });
  });
});

describe("history", () => {
  it("returns a key's writes in seqno order, deletions included, within inclusive bounds and a limit", () => {
    const ledger = openAt(tempDir(), { clock: () => 1_700_000_000_000 });
    ledger.transact((tx) => tx.set("public:m", "k", utf8("v1"))); // 1
    ledger.transact((tx) => tx.set("public:m", "other", utf8("x"))); // 2
    ledger.transact((tx) => tx.set("public:m", "k", utf8("v2"))); // 3
    ledger.transact((tx) => tx.delete("public:m", "k")); // 4
    ledger.transact((tx) => tx.set("public:m", "k", utf8("v3"))); // 5

    const all = ledger.history("public:m", "k");
    expect(all.map((w) => [w.txId.seqno, text(w.value)])).toEqual([
      [1, "v1"],
      [3, "v2"],
      [4, undefined],
      [5, "v3"],
    ]);
    expect(all.every((w) => w.txId.view === 2 && w.timestamp === 1_700_000_000_000)).toBe(true);
    expect(ledger.history("public:m", "k", { fromSeqno: 3 }).map((w) => w.txId.seqno)).toEqual([3, 4, 5]);
    expect(ledger.history("public:m", "k", { toSeqno: 4 }).map((w) => w.txId.seqno)).toEqual([1, 3, 4]);
    expect(ledger.history("public:m", "k", { fromSeqno: 2, toSeqno: 4 }).map((w) => w.txId.seqno)).toEqual([3, 4]);
    expect(ledger.history("public:m", "k", { fromSeqno: 2, limit: 1 }).map((w) => w.txId.seqno)).toEqual([3]);
    expect(ledger.history("public:m", "k", { fromSeqno: 6 })).toEqual([]);
    expect(() => ledger.history("public:m", "k", { limit: -1 })).toThrow(RangeError);
  });
});

describe("txStatus and reopening", () => {
  it("distinguishes Committed, Pending, Invalid and Unknown, across a reopen in a new view", async () => {
    const dir = tempDir();
    const first = openAt(dir);
    first.transact((tx) => tx.set("public:m", "a", utf8("1"))); // 2.1
    first.transact((tx) => tx.set("public:m", "a", utf8("2"))); // 2.2
    expect(first.txStatus({ view: 2, seqno: 2 })).toBe("Pending");
    await first.whenDurable();
    expect(first.txStatus({ view: 2, seqno: 2 })).toBe("Committed");
    expect(first.txStatus({ view: 2, seqno: 3 })).toBe("Unknown"); // may still be assigned in this view
    expect(first.txStatus({ view: 1, seqno: 1 })).toBe("Invalid"); // seqno 1 is 2.1
    expect(first.txStatus({ view: 3, seqno: 1 })).toBe("Invalid"); // a future view
    expect(first.txStatus({ view: 2, seqno: 0 })).toBe("Invalid");
    await first.close(); // signs: 2.3 is the signature transaction

    const second = openAt(dir);
    expect(second.view).toBe(3);
    expect(second.txStatus({ view: 2, seqno: 1 })).toBe("Committed");
    expect(second.txStatus({ view: 2, seqno: 3 })).toBe("Committed");
    expect(second.txStatus({ view: 2, seqno: 4 })).toBe("Invalid"); // view 2 is over and never reached seqno 4
    expect(second.txStatus({ view: 3, seqno: 4 })).toBe("Unknown");
    const next = second.transact((tx) => tx.set("public:m", "a", utf8("3")));
    expect(next.txId).toEqual({ view: 3, seqno: 4 });
    expect(second.txStatus({ view: 3, seqno: 4 })).toBe("Pending");
    expect(second.txStatus({ view: 2, seqno: 4 })).toBe("Invalid");
    await next.committed;
    expect(second.txStatus({ view: 3, seqno: 4 })).toBe("Committed");
    expect(second.version("public:m", "a")).toEqual({ view: 3, seqno: 4 });
  });

  it("keeps all state, history and the Merkle tree after close and reopen", async () => {
    const dir = tempDir();
    const first = openAt(dir, { signatureEveryTx: 3 });
    for (let i = 0; i < 7; i++) first.transact((tx) => tx.set("public:m", `k${i % 3}`, utf8(String(i))));
    await first.close();

    const second = openAt(dir, { signatureEveryTx: 3 });
    expect(second.lastTxId()).toEqual({ view: 2, seqno: 10 }); // 7 transactions + 3 signatures
    expect(second.lastCommittedTxId()).toEqual({ view: 2, seqno: 10 });
    expect(second.stats().signatures).toBe(3);
    expect(text(second.get("public:m", "k0"))).toBe("6");
    expect(second.history("public:m", "k0").map((w) => text(w.value))).toEqual(["0", "3", "6"]);
    // The rebuilt tree proves old transactions under new signatures.
    second.transact((tx) => tx.set("public:m", "k0", utf8("new")));
    const receipt = await second.receipt({ view: 2, seqno: 1 });
    expect(receipt.is_signature_transaction).toBe(false);
    const fresh = await second.receipt({ view: 3, seqno: 11 });
    expect(fresh.proof.length).toBeGreaterThan(0);
  });

  it("never reuses a view, even one that ended before anything in it was durable", async () => {
    const dir = tempDir();
    const first = openAt(dir);
    await first.close();
    const second = openAt(dir);
    expect(second.view).toBe(3);
    await second.close();
    expect(openAt(dir).view).toBe(4);
  });
});

describe("close", () => {
  it("commits pending work, signs unsigned transactions, and then refuses further use", async () => {
    const dir = tempDir();
    const ledger = openAt(dir);
    const pending = ledger.transact((tx) => tx.set("public:m", "a", utf8("1")));
    await ledger.close();
    await expect(pending.committed).resolves.toBeUndefined();
    await ledger.close(); // idempotent
    expect(() => ledger.get("public:m", "a")).toThrow(/closed/);
    expect(() => ledger.transact(() => undefined)).toThrow(/closed/);
    await expect(ledger.whenDurable()).rejects.toThrow(/closed/);

    const reopened = openAt(dir);
    expect(reopened.lastTxId()).toEqual({ view: 2, seqno: 2 });
    expect(reopened.stats().signatures).toBe(1);
    expect(reopened.has("public:ccf.internal.signatures", "0")).toBe(true);
  });
});
