import type Database from "better-sqlite3";
import type { TxId } from "./types.js";

/** File name of the ledger database inside its directory. */
export const LEDGER_FILE = "ledger.sqlite";

/**
 * `tx` is the ledger proper (one CBOR entry per transaction); `kv` and `kv_history` are indexes derived from it
 * for reads, written in the same SQLite transaction and re-checked by verifyLedger. `meta` records the last view
 * started so a view number is never reused, even when a view ended before any of its transactions became durable.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS tx (
  seqno INTEGER PRIMARY KEY,
  view INTEGER NOT NULL,
  entry BLOB NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS kv (
  map TEXT NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  seqno INTEGER NOT NULL,
  view INTEGER NOT NULL,
  PRIMARY KEY (map, key)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv_history (
  map TEXT NOT NULL,
  key TEXT NOT NULL,
  seqno INTEGER NOT NULL,
  view INTEGER NOT NULL,
  timestamp INTEGER NOT NULL,
  value BLOB,
  PRIMARY KEY (map, key, seqno)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT;
`;

export function createSchema(db: Database.Database): void {
  db.exec(SCHEMA);
}

/** Row shapes, as better-sqlite3 returns them. */
export interface TxRow {
  seqno: number;
  view: number;
  entry: Buffer;
}

export interface HistoryRow {
  map: string;
  key: string;
  seqno: number;
  view: number;
  timestamp: number;
  value: Buffer | null;
}

export interface KvRow {
  map: string;
  key: string;
  value: Buffer;
  seqno: number;
  view: number;
}

const PAGE_SIZE = 256;

/**
 * Reads of the current state through one connection. Inside an open SQLite transaction these see its uncommitted
 * writes, which is how reads observe transactions that executed but are not durable yet.
 */
export class StateStore {
  readonly #get: Database.Statement<[string, string], Buffer>;
  readonly #has: Database.Statement<[string, string], number>;
  readonly #version: Database.Statement<[string, string], TxId>;
  readonly #firstPage: Database.Statement<[string, number], [string, Buffer]>;
  readonly #nextPage: Database.Statement<[string, string, number], [string, Buffer]>;
  readonly #count: Database.Statement<[string], number>;

  constructor(db: Database.Database) {
    this.#get = db.prepare<[string, string], Buffer>("SELECT value FROM kv WHERE map = ? AND key = ?").pluck();
    this.#has = db.prepare<[string, string], number>("SELECT 1 FROM kv WHERE map = ? AND key = ?").pluck();
    this.#version = db.prepare<[string, string], TxId>(
      "SELECT view, seqno FROM kv_history WHERE map = ? AND key = ? ORDER BY seqno DESC LIMIT 1",
    );
    this.#firstPage = db
      .prepare<[string, number], [string, Buffer]>("SELECT key, value FROM kv WHERE map = ? ORDER BY key LIMIT ?")
      .raw();
    this.#nextPage = db
      .prepare<[string, string, number], [string, Buffer]>("SELECT key, value FROM kv WHERE map = ? AND key > ? ORDER BY key LIMIT ?")
      .raw();
    this.#count = db.prepare<[string], number>("SELECT count(*) FROM kv WHERE map = ?").pluck();
  }

  /** The stored value (a fresh Buffer the caller may keep). */
  get(map: string, key: string): Buffer | undefined {
    return this.#get.get(map, key);
  }

  has(map: string, key: string): boolean {
    return this.#has.get(map, key) !== undefined;
  }

  version(map: string, key: string): TxId | undefined {
    const row = this.#version.get(map, key);
    return row ? { view: row.view, seqno: row.seqno } : undefined;
  }

  /**
   * Live entries of a map in key order, fetched a page at a time so that no statement stays active while the
   * caller runs (better-sqlite3 refuses other queries on a connection during an iteration).
   */
  *entries(map: string): Generator<[string, Buffer]> {
    let page = this.#firstPage.all(map, PAGE_SIZE);
    while (page.length > 0) {
      yield* page;
      if (page.length < PAGE_SIZE) return;
      const last = page[page.length - 1] as [string, Buffer];
      page = this.#nextPage.all(map, last[0], PAGE_SIZE);
    }
  }

  count(map: string): number {
    return this.#count.get(map) ?? 0;
  }
}
