import { randomBytes } from "node:crypto";
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { parseCertificate, verifyDigest } from "@cleanroom/crypto";
import { assertStorableString, toHex, ZERO_DIGEST } from "./bytes.js";
import {
  commitEvidenceFor,
  decodeEntry,
  encodeEntry,
  leafComponentsOf,
  leafOfEntry,
  sortWrites,
  type Write,
} from "./entry-codec.js";
import {
  LedgerClosedError,
  LedgerFailedError,
  LedgerTamperedError,
  TransactionInvalid,
  TransactionNotFound,
} from "./errors.js";
import { MerkleTree } from "./merkle-tree.js";
import { buildSignatureReceipt, buildTxReceipt } from "./receipt.js";
import {
  encodeRecord,
  parseSignatureRecord,
  signatureWrites,
  SIGNATURES_MAP,
  SINGLETON_KEY,
  TREE_MAP,
  type SignatureRecord,
} from "./signature-records.js";
import { assertUsableSigner } from "./signer.js";
import { createSchema, LEDGER_FILE, StateStore, type TxRow } from "./store.js";
import type {
  HistoryOptions,
  KeyWrite,
  Ledger,
  LedgerOptions,
  LedgerSigner,
  LedgerStats,
  Receipt,
  TransactResult,
  TxId,
  TxStatus,
  WriteTx,
} from "./types.js";
import { BufferedWriteTx, type BufferedWrites } from "./write-tx.js";

const DEFAULT_SIGNATURE_EVERY_TX = 100;
const DEFAULT_SIGNATURE_INTERVAL_MS = 250;
// How long a second process waits for the exclusive lock before reporting that the ledger is in use.
const LOCK_TIMEOUT_MS = 1000;
const SIGNATURES_MAP_BYTES = Buffer.from(SIGNATURES_MAP, "utf8");

/** The transactions sharing one SQLite transaction, and so one COMMIT (one fsync). */
interface Batch {
  lastSeqno: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A caller that ignores `committed` must not crash the process with an unhandled rejection: the failure is
  // reported through onFatal, and callers that do await still see it.
  promise.catch(() => undefined);
  return { lastSeqno: 0, promise, resolve, reject };
}

function isPromiseLike(value: unknown): boolean {
  return (typeof value === "object" || typeof value === "function") && value !== null && "then" in value &&
    typeof value.then === "function";
}

function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer.`);
  return value;
}

/** First index in the ascending array whose element is >= value (array length if none). */
function lowerBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] as number) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

interface Statements {
  insertTx: Database.Statement<[number, number, Buffer]>;
  insertHistory: Database.Statement<[string, string, number, number, number, Buffer | null]>;
  upsertKv: Database.Statement<[string, string, Buffer, number, number]>;
  deleteKv: Database.Statement<[string, string]>;
  entry: Database.Statement<[number], Buffer>;
  historyValue: Database.Statement<[string, string, number], Buffer | null>;
  history: Database.Statement<
    [string, string, number, number, number],
    { seqno: number; view: number; timestamp: number; value: Buffer | null }
  >;
}

function prepareStatements(db: Database.Database): Statements {
  return {
    insertTx: db.prepare("INSERT INTO tx (seqno, view, entry) VALUES (?, ?, ?)"),
    insertHistory: db.prepare("INSERT INTO kv_history (map, key, seqno, view, timestamp, value) VALUES (?, ?, ?, ?, ?, ?)"),
    upsertKv: db.prepare(
      "INSERT INTO kv (map, key, value, seqno, view) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (map, key) DO UPDATE SET value = excluded.value, seqno = excluded.seqno, view = excluded.view",
    ),
    deleteKv: db.prepare("DELETE FROM kv WHERE map = ? AND key = ?"),
    entry: db.prepare<[number], Buffer>("SELECT entry FROM tx WHERE seqno = ?").pluck(),
    historyValue: db.prepare<[string, string, number], Buffer | null>(
      "SELECT value FROM kv_history WHERE map = ? AND key = ? AND seqno = ?",
    ).pluck(),
    history: db.prepare(
      "SELECT seqno, view, timestamp, value FROM kv_history WHERE map = ? AND key = ? AND seqno BETWEEN ? AND ? " +
        "ORDER BY seqno LIMIT ?",
    ),
  };
}

/** What opening learns from the stored transactions. */
interface Recovered {
  tree: MerkleTree;
  /** First seqno of each run of transactions in one view, ascending. */
  viewStarts: TxId[];
  signatureSeqnos: number[];
  lastSeqno: number;
}

/**
 * Rebuilds the Merkle tree from every stored entry and checks the last signature transaction against it, so that a
 * node never extends (and signs over) a ledger whose history was changed underneath it.
 */
function recover(db: Database.Database): Recovered {
  const tree = new MerkleTree();
  const viewStarts: TxId[] = [];
  const signatureSeqnos: number[] = [];
  let lastSeqno = 0;
  let lastView = 0;
  for (const row of db.prepare<[], TxRow>("SELECT seqno, view, entry FROM tx ORDER BY seqno").iterate()) {
    if (row.seqno !== lastSeqno + 1) throw new LedgerTamperedError(`transaction ${lastSeqno + 1} is missing.`);
    if (row.view < lastView) throw new LedgerTamperedError(`the view goes back from ${lastView} to ${row.view} at ${row.seqno}.`);
    let leaf: Uint8Array;
    try {
      leaf = leafOfEntry(row.entry, row.view, row.seqno);
    } catch (error) {
      throw new LedgerTamperedError((error as Error).message, { cause: error });
    }
    tree.append(leaf);
    if (row.view !== lastView) viewStarts.push({ view: row.view, seqno: row.seqno });
    // Only entries that mention the signatures map can be signature transactions; decode just those.
    if (row.entry.includes(SIGNATURES_MAP_BYTES) && signatureWritesOf(row) !== undefined) signatureSeqnos.push(row.seqno);
    lastSeqno = row.seqno;
    lastView = row.view;
  }
  const lastSignature = signatureSeqnos[signatureSeqnos.length - 1];
  if (lastSignature !== undefined) {
    const entry = db.prepare<[number], TxRow>("SELECT seqno, view, entry FROM tx WHERE seqno = ?").get(lastSignature);
    checkSignature(entry as TxRow, tree);
  }
  return { tree, viewStarts, signatureSeqnos, lastSeqno };
}

function signatureWritesOf(row: TxRow): ReturnType<typeof signatureWrites> {
  try {
    return signatureWrites(decodeEntry(row.entry).writes);
  } catch (error) {
    throw new LedgerTamperedError(`the entry at ${row.seqno} does not decode: ${(error as Error).message}`, { cause: error });
  }
}

function checkSignature(row: TxRow, tree: MerkleTree): void {
  const writes = signatureWritesOf(row);
  let record: SignatureRecord;
  try {
    record = parseSignatureRecord(writes?.signature.value ?? new Uint8Array());
  } catch (error) {
    throw new LedgerTamperedError(`signature transaction ${row.seqno}: ${(error as Error).message}`, { cause: error });
  }
  if (record.seqno !== row.seqno || record.view !== row.view) {
    throw new LedgerTamperedError(`signature transaction ${row.seqno} claims to be ${record.view}.${record.seqno}.`);
  }
  const root = tree.root(row.seqno - 1);
  if (toHex(root) !== record.root) {
    throw new LedgerTamperedError(
      `the Merkle root over transactions 1..${row.seqno - 1} differs from the one signed at ${row.seqno}.`,
    );
  }
  let verified = false;
  try {
    verified = verifyDigest(root, Buffer.from(record.signature, "base64"), parseCertificate(record.cert).publicKey);
  } catch {
    verified = false;
  }
  if (!verified) throw new LedgerTamperedError(`the signature of transaction ${row.seqno} does not verify.`);
}

function readView(db: Database.Database): number {
  const stored = db.prepare<[], number>("SELECT value FROM meta WHERE name = 'view'").pluck().get();
  return stored ?? 0;
}

/**
 * Opens (or creates) the ledger in `options.dir` and starts a new view. Rebuilds the Merkle tree from the stored
 * entries and throws a LedgerTamperedError if they no longer match the last signature. The database is locked for
 * this process until `close`.
 */
export function openLedger(options: LedgerOptions): Ledger {
  assertUsableSigner(options.signer);
  const signatureEveryTx = positiveInteger(options.signatureEveryTx, DEFAULT_SIGNATURE_EVERY_TX, "signatureEveryTx");
  const signatureIntervalMs = positiveInteger(options.signatureIntervalMs, DEFAULT_SIGNATURE_INTERVAL_MS, "signatureIntervalMs");
  mkdirSync(options.dir, { recursive: true });
  const db = new Database(join(options.dir, LEDGER_FILE), { timeout: LOCK_TIMEOUT_MS });
  try {
    // Exclusive locking keeps a second process from opening the same ledger and writing in a view of its own.
    db.pragma("locking_mode = EXCLUSIVE");
    if (db.pragma("journal_mode = WAL", { simple: true }) !== "wal") throw new Error("SQLite refused WAL mode.");
    // Commits write the WAL without fsync; the ledger fsyncs the WAL itself, off the event loop, before it
    // acknowledges a batch (see #sync). NORMAL still fsyncs the WAL before every checkpoint.
    db.pragma("synchronous = NORMAL");
    createSchema(db);
    const recovered = recover(db);
    const lastView = recovered.viewStarts[recovered.viewStarts.length - 1]?.view ?? 0;
    const view = Math.max(readView(db), lastView, 1) + 1;
    db.prepare("INSERT INTO meta (name, value) VALUES ('view', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").run(view);
    return new SqliteLedger(db, join(options.dir, `${LEDGER_FILE}-wal`), view, recovered, {
      signer: options.signer,
      signatureEveryTx,
      signatureIntervalMs,
      clock: options.clock ?? Date.now,
      onFatal: options.onFatal,
    });
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === "SQLITE_BUSY") {
      throw new Error(`The ledger in ${options.dir} is in use by another process.`, { cause: error });
    }
    throw error;
  }
}

interface Settings {
  signer: LedgerSigner;
  signatureEveryTx: number;
  signatureIntervalMs: number;
  clock: () => number;
  onFatal: ((error: Error) => void) | undefined;
}

class SqliteLedger implements Ledger {
  readonly view: number;
  readonly #db: Database.Database;
  readonly #statements: Statements;
  readonly #store: StateStore;
  readonly #settings: Settings;
  readonly #tree: MerkleTree;
  readonly #viewStarts: TxId[];
  readonly #signatureSeqnos: number[];
  #lastSeqno: number;
  #durableSeqno: number;
  /** The open SQLite transaction's batch. */
  #batch: Batch | undefined;
  /** Committed batches waiting for the next WAL fsync. */
  #unsynced: Batch[] = [];
  /** Committed batches whose WAL fsync is running. */
  #syncing: Batch[] = [];
  /** True while an fdatasync runs on the thread pool; it owns closing the descriptor if close() runs meanwhile. */
  #syncRunning = false;
  readonly #walPath: string;
  #walFd: number | undefined;
  #commits = 0;
  /** Transactions (other than signature transactions) since the last signature. */
  #unsigned: number;
  #oldestUnsignedAt: number | undefined;
  #signatureTimer: NodeJS.Timeout | undefined;
  #inTransact = false;
  #state: "open" | "failed" | "closed" = "open";
  #failure: LedgerFailedError | undefined;

  constructor(db: Database.Database, walPath: string, view: number, recovered: Recovered, settings: Settings) {
    this.view = view;
    this.#db = db;
    this.#walPath = walPath;
    this.#settings = settings;
    this.#statements = prepareStatements(db);
    this.#store = new StateStore(db);
    this.#tree = recovered.tree;
    this.#viewStarts = recovered.viewStarts;
    this.#signatureSeqnos = recovered.signatureSeqnos;
    this.#lastSeqno = recovered.lastSeqno;
    this.#durableSeqno = recovered.lastSeqno;
    this.#unsigned = recovered.lastSeqno - (recovered.signatureSeqnos[recovered.signatureSeqnos.length - 1] ?? 0);
    if (this.#unsigned > 0) {
      // Left unsigned by a crash: sign them soon, as if they had just been written.
      this.#oldestUnsignedAt = settings.clock();
      this.#armSignatureTimer();
    }
  }

  // ---- Reads -------------------------------------------------------------------------------------------------

  get(map: string, key: string): Uint8Array | undefined {
    this.#checkRead(map, key);
    return this.#store.get(map, key);
  }

  has(map: string, key: string): boolean {
    this.#checkRead(map, key);
    return this.#store.has(map, key);
  }

  version(map: string, key: string): TxId | undefined {
    this.#checkRead(map, key);
    return this.#store.version(map, key);
  }

  forEach(map: string, visit: (key: string, value: Uint8Array) => void): void {
    this.#checkRead(map, "");
    for (const [key, value] of this.#store.entries(map)) visit(key, value);
  }

  size(map: string): number {
    this.#checkRead(map, "");
    return this.#store.count(map);
  }

  history(map: string, key: string, options: HistoryOptions = {}): KeyWrite[] {
    this.#checkRead(map, key);
    const from = options.fromSeqno ?? 1;
    const to = options.toSeqno ?? Number.MAX_SAFE_INTEGER;
    const limit = options.limit ?? -1; // SQLite: no limit
    for (const [name, value] of [["fromSeqno", from], ["toSeqno", to]] as const) {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer.`);
    }
    if (options.limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new RangeError("limit must be a non-negative integer.");
    }
    return this.#statements.history.all(map, key, from, to, limit).map((row) => ({
      txId: { view: row.view, seqno: row.seqno },
      timestamp: row.timestamp,
      value: row.value ?? undefined,
    }));
  }

  txStatus(txId: TxId): TxStatus {
    this.#checkUsable();
    const { view, seqno } = txId;
    if (!Number.isSafeInteger(view) || !Number.isSafeInteger(seqno) || view < 1 || seqno < 1) return "Invalid";
    if (view > this.view) return "Invalid";
    if (seqno <= this.#lastSeqno) {
      if (this.#viewOf(seqno) !== view) return "Invalid";
      return seqno <= this.#durableSeqno ? "Committed" : "Pending";
    }
    // Never written: only the current view can still assign this seqno.
    return view < this.view ? "Invalid" : "Unknown";
  }

  lastTxId(): TxId | null {
    this.#checkUsable();
    return this.#idOf(this.#lastSeqno);
  }

  lastCommittedTxId(): TxId | null {
    this.#checkUsable();
    return this.#idOf(this.#durableSeqno);
  }

  stats(): LedgerStats {
    this.#checkUsable();
    return {
      view: this.view,
      transactions: this.#lastSeqno,
      durableSeqno: this.#durableSeqno,
      signatures: this.#signatureSeqnos.length,
      commits: this.#commits,
    };
  }

  // ---- Writes ------------------------------------------------------------------------------------------------

  transact<T>(fn: (tx: WriteTx) => T): TransactResult<T> {
    this.#checkUsable();
    if (this.#inTransact) throw new Error("transact cannot be called from inside a transaction function.");
    const tx = new BufferedWriteTx(this.#store);
    let result: T;
    let buffered: BufferedWrites;
    this.#inTransact = true;
    try {
      result = fn(tx);
    } finally {
      this.#inTransact = false;
      buffered = tx.finish();
    }
    if (isPromiseLike(result)) {
      throw new TypeError("transact needs a synchronous function: writes made after an await would be lost.");
    }
    const { writes, claimsDigest } = buffered;
    if (writes.length === 0 && claimsDigest === undefined) return { result, txId: null, committed: this.whenDurable() };

    const { txId, timestamp: now } = this.#append(writes, claimsDigest ?? ZERO_DIGEST);
    const batch = this.#batch as Batch;
    this.#unsigned++;
    if (this.#unsigned === 1) {
      this.#oldestUnsignedAt = now;
      this.#armSignatureTimer();
    }
    if (
      this.#unsigned >= this.#settings.signatureEveryTx ||
      now - (this.#oldestUnsignedAt ?? now) >= this.#settings.signatureIntervalMs
    ) {
      this.#sign();
    }
    return { result, txId, committed: batch.promise };
  }

  whenDurable(): Promise<void> {
    const unusable = this.#unusable();
    if (unusable) return Promise.reject(unusable);
    return (this.#batch ?? this.#unsynced[this.#unsynced.length - 1] ?? this.#syncing[this.#syncing.length - 1])?.promise ?? Promise.resolve();
  }

  async receipt(txId: TxId): Promise<Receipt> {
    const status = this.txStatus(txId);
    const id = `${txId.view}.${txId.seqno}`;
    if (status === "Unknown") throw new TransactionNotFound(`Transaction ${id} does not exist (yet).`);
    if (status === "Invalid") throw new TransactionInvalid(`Transaction ${id} can never be committed.`);
    const { seqno } = txId;
    const next = this.#signatureSeqnos[lowerBound(this.#signatureSeqnos, seqno)];
    let receipt: Receipt;
    let signatureSeqno: number;
    if (next === seqno) {
      signatureSeqno = seqno;
      receipt = buildSignatureReceipt(this.#signatureRecord(seqno));
    } else {
      if (next === undefined) this.#sign();
      signatureSeqno = next ?? this.#lastSeqno;
      const components = leafComponentsOf(this.#statements.entry.get(seqno) as Buffer, txId.view, seqno);
      receipt = buildTxReceipt(components, this.#tree.path(seqno - 1, signatureSeqno - 1), this.#signatureRecord(signatureSeqno));
    }
    // Built before waiting, so that a close() in the meantime cannot pull the database away from under it.
    if (signatureSeqno > this.#durableSeqno) await this.whenDurable();
    return receipt;
  }

  close(): Promise<void> {
    if (this.#state === "closed") return Promise.resolve();
    if (this.#inTransact) throw new Error("close cannot be called from inside a transaction function.");
    let failure: Error | undefined;
    if (this.#state === "open") {
      try {
        if (this.#unsigned > 0) this.#sign();
        this.#flush();
        // Whatever the WAL fsyncs in flight cover, this one covers too; then every batch can be acknowledged.
        if (this.#walFd !== undefined) fdatasyncSync(this.#walFd);
        this.#settle([...this.#syncing.splice(0), ...this.#unsynced.splice(0)]);
      } catch (error) {
        failure = error as Error;
      }
      failure ??= this.#failure;
    }
    this.#clearSignatureTimer();
    this.#state = "closed";
    // An fsync still running in the thread pool closes the descriptor when it returns.
    if (this.#walFd !== undefined && !this.#syncRunning) closeSync(this.#walFd);
    this.#db.close();
    return failure ? Promise.reject(failure) : Promise.resolve();
  }

  // ---- Internals ---------------------------------------------------------------------------------------------

  /** Records one transaction in the open batch (starting one if needed) and adds its leaf to the tree. */
  #append(writes: Write[], claimsDigest: Uint8Array): { txId: TxId; timestamp: number } {
    const seqno = this.#lastSeqno + 1;
    const view = this.view;
    const timestamp = this.#settings.clock();
    const commitEvidence = commitEvidenceFor(view, seqno, randomBytes(32).toString("hex"));
    const entry = encodeEntry({ view, seqno, timestamp, writes, commitEvidence, claimsDigest });
    const leaf = leafOfEntry(entry, view, seqno);
    const batch = this.#openBatch();
    try {
      const { insertTx, insertHistory, upsertKv, deleteKv } = this.#statements;
      insertTx.run(seqno, view, entry);
      for (const { map, key, value } of writes) {
        const stored = value === null ? null : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
        insertHistory.run(map, key, seqno, view, timestamp, stored);
        if (stored === null) deleteKv.run(map, key);
        else upsertKv.run(map, key, stored, seqno, view);
      }
    } catch (error) {
      throw this.#fail(error);
    }
    this.#tree.append(leaf);
    this.#lastSeqno = seqno;
    batch.lastSeqno = seqno;
    if (this.#viewStarts[this.#viewStarts.length - 1]?.view !== view) this.#viewStarts.push({ view, seqno });
    return { txId: { view, seqno }, timestamp };
  }

  /** Appends a signature transaction over every leaf so far (itself excluded: it becomes the next leaf). */
  #sign(): void {
    const seqno = this.#lastSeqno + 1;
    const root = this.#tree.root(seqno - 1);
    let signature: Uint8Array;
    try {
      signature = this.#settings.signer.signDigest(root);
    } catch (error) {
      throw this.#fail(error);
    }
    const { signer } = this.#settings;
    const fromSeqno = this.#signatureSeqnos[this.#signatureSeqnos.length - 1] ?? 1;
    const leaves: string[] = [];
    for (let leafSeqno = fromSeqno; leafSeqno < seqno; leafSeqno++) leaves.push(toHex(this.#tree.leaf(leafSeqno - 1)));
    const record: SignatureRecord = {
      view: this.view,
      seqno,
      root: toHex(root),
      signature: Buffer.from(signature).toString("base64"),
      node_id: signer.nodeId,
      cert: signer.nodeCertificatePem,
    };
    this.#append(
      sortWrites([
        { map: SIGNATURES_MAP, key: SINGLETON_KEY, value: encodeRecord(record) },
        { map: TREE_MAP, key: SINGLETON_KEY, value: encodeRecord({ from_seqno: fromSeqno, leaves }) },
      ]),
      ZERO_DIGEST,
    );
    this.#signatureSeqnos.push(seqno);
    this.#unsigned = 0;
    this.#oldestUnsignedAt = undefined;
    this.#clearSignatureTimer();
  }

  #openBatch(): Batch {
    if (this.#batch) return this.#batch;
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      throw this.#fail(error);
    }
    const batch = newBatch();
    this.#batch = batch;
    // Everything executed before the event loop comes back around joins this batch and shares its fsync.
    setImmediate(() => this.#flush());
    return batch;
  }

  #flush(): void {
    const batch = this.#batch;
    if (!batch || this.#state !== "open") return;
    try {
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#batch = undefined;
    this.#commits++;
    this.#unsynced.push(batch);
    this.#sync();
  }

  /**
   * Group commit without blocking the event loop: fdatasync the WAL on the thread pool, acknowledge the batches it
   * covers, and meanwhile let new transactions execute and commit. Batches committed while an fsync runs share the
   * next one. A COMMIT has written its WAL frames before this starts, so the fsync makes exactly them durable.
   */
  #sync(): void {
    if (this.#syncRunning || this.#unsynced.length === 0 || this.#state !== "open") return;
    let fd: number;
    try {
      fd = this.#walFd ??= openSync(this.#walPath, "r");
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#syncing = this.#unsynced;
    this.#unsynced = [];
    this.#syncRunning = true;
    fdatasync(fd, (error) => {
      this.#syncRunning = false;
      if (this.#state === "closed") {
        // close() already made everything durable and acknowledged it.
        closeSync(fd);
        return;
      }
      const covered = this.#syncing;
      this.#syncing = [];
      if (error) {
        const failure = this.#fail(error);
        for (const batch of covered) batch.reject(failure);
        return;
      }
      this.#settle(covered);
      this.#sync();
    });
  }

  #settle(batches: Batch[]): void {
    for (const batch of batches) {
      this.#durableSeqno = Math.max(this.#durableSeqno, batch.lastSeqno);
      batch.resolve();
    }
  }

  /** Stops the ledger for good after a storage (or signing) failure; returns the error to throw. */
  #fail(cause: unknown): LedgerFailedError {
    if (this.#failure) return this.#failure;
    const message = cause instanceof Error ? cause.message : String(cause);
    const failure = new LedgerFailedError(`The ledger stopped after a failure: ${message}`, { cause });
    this.#failure = failure;
    this.#state = "failed";
    this.#clearSignatureTimer();
    const batches = [this.#batch, ...this.#unsynced.splice(0)];
    this.#batch = undefined;
    try {
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
    } catch {
      // The connection may already have rolled back; the state is abandoned either way.
    }
    for (const batch of batches) batch?.reject(failure);
    try {
      this.#settings.onFatal?.(failure);
    } catch {
      // A throwing handler must not hide the original failure from the caller.
    }
    return failure;
  }

  #armSignatureTimer(): void {
    if (this.#signatureTimer) return;
    this.#signatureTimer = setTimeout(() => {
      this.#signatureTimer = undefined;
      if (this.#state !== "open" || this.#unsigned === 0) return;
      try {
        this.#sign();
      } catch (error) {
        // #sign reports storage and signing failures itself; anything else must not vanish either.
        this.#fail(error);
      }
    }, this.#settings.signatureIntervalMs);
    this.#signatureTimer.unref();
  }

  #clearSignatureTimer(): void {
    if (this.#signatureTimer) clearTimeout(this.#signatureTimer);
    this.#signatureTimer = undefined;
  }

  #signatureRecord(seqno: number): SignatureRecord {
    const value = this.#statements.historyValue.get(SIGNATURES_MAP, SINGLETON_KEY, seqno);
    if (!value) throw new Error(`No signature record at seqno ${seqno}.`);
    return parseSignatureRecord(value);
  }

  #viewOf(seqno: number): number | undefined {
    let low = 0;
    let high = this.#viewStarts.length - 1;
    let found: number | undefined;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const start = this.#viewStarts[middle] as TxId;
      if (start.seqno <= seqno) {
        found = start.view;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  #idOf(seqno: number): TxId | null {
    if (seqno === 0) return null;
    return { view: this.#viewOf(seqno) as number, seqno };
  }

  #unusable(): Error | undefined {
    if (this.#state === "closed") return new LedgerClosedError();
    return this.#failure;
  }

  #checkUsable(): void {
    const unusable = this.#unusable();
    if (unusable) throw unusable;
  }

  #checkRead(map: string, key: string): void {
    this.#checkUsable();
    assertStorableString(map, "map name");
    assertStorableString(key, "key");
  }
}
