import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { isEndorsedBy, parseCertificate, verifyDigest, type CertificateInfo } from "@cleanroom/crypto";
import { compareKeys, toHex } from "./bytes.js";
import { decodeEntry, leafOfEntry, type Entry } from "./entry-codec.js";
import { MerkleTree } from "./merkle-tree.js";
import { parseSignatureRecord, parseTreeRecord, signatureWrites, type TreeRecord } from "./signature-records.js";
import { nodeIdOf } from "./signer.js";
import { LEDGER_FILE, type HistoryRow, type KvRow, type TxRow } from "./store.js";
import type { LedgerProblem, LedgerProblemKind, LedgerVerifyReport, TxId } from "./types.js";

/** Options of `verifyLedger`. */
export interface VerifyLedgerOptions {
  /** When given, every signing node certificate must be endorsed by this service certificate. */
  serviceCertificatePem?: string;
}

// When two problems share a seqno, report the one closest to its cause: an entry that cannot be read or sits in the
// wrong place explains the signature and state checks that then fail at the same seqno.
const PRIORITY: Record<LedgerProblemKind, number> = {
  missing: 0,
  corrupt: 1,
  reordered: 2,
  "bad-signature": 3,
  "unendorsed-node": 4,
  altered: 5,
  "state-mismatch": 6,
};

class Problems {
  first: LedgerProblem | undefined;

  report(kind: LedgerProblemKind, seqno: number, message: string): void {
    const first = this.first;
    if (!first || seqno < first.seqno || (seqno === first.seqno && PRIORITY[kind] < PRIORITY[first.kind])) {
      this.first = { kind, seqno, message };
    }
  }
}

/** A one-row lookahead over a statement iterator. */
class Cursor<T> {
  readonly #iterator: Iterator<T>;
  #next: IteratorResult<T>;

  constructor(iterable: Iterable<T>) {
    this.#iterator = iterable[Symbol.iterator]();
    this.#next = this.#iterator.next();
  }

  peek(): T | undefined {
    return this.#next.done ? undefined : this.#next.value;
  }

  take(): T | undefined {
    const value = this.peek();
    if (value !== undefined) this.#next = this.#iterator.next();
    return value;
  }
}

function describeKey(map: string, key: string): string {
  return `${map}/${JSON.stringify(key)}`;
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return Buffer.compare(a, b) === 0;
}

function openReadOnly(dir: string): Database.Database {
  const path = join(dir, LEDGER_FILE);
  if (!existsSync(path)) throw new Error(`No ledger in ${dir} (expected ${LEDGER_FILE}).`);
  return new Database(path, { readonly: true, fileMustExist: true, timeout: 200 });
}

/**
 * Re-verifies a ledger directory offline, read-only, without the node's key: entry sequence and encoding, every
 * Merkle leaf against the leaves each signature transaction recorded, every signature (and its endorsement by the
 * service certificate when given), and the `kv`/`kv_history` tables against a replay of all write sets. Reports the
 * problem with the lowest seqno. Throws only when the ledger cannot be read at all (missing, or held open by a
 * running service).
 */
export function verifyLedger(dir: string, options: VerifyLedgerOptions = {}): LedgerVerifyReport {
  const service = options.serviceCertificatePem === undefined ? undefined : parseCertificate(options.serviceCertificatePem);
  const entries = openReadOnly(dir);
  const index = openReadOnly(dir);
  try {
    const verifier = new LedgerVerifier(service);
    verifier.checkEntries(
      entries.prepare<[], TxRow>("SELECT seqno, view, entry FROM tx ORDER BY seqno").iterate(),
      index.prepare<[], HistoryRow>("SELECT map, key, seqno, view, timestamp, value FROM kv_history ORDER BY seqno, map, key").iterate(),
    );
    verifier.checkState(
      entries.prepare<[], KvRow>("SELECT map, key, value, seqno, view FROM kv ORDER BY map, key").iterate(),
      index.prepare<[], HistoryRow>("SELECT map, key, seqno, view, timestamp, value FROM kv_history ORDER BY map, key, seqno").iterate(),
    );
    return verifier.report();
  } catch (error) {
    if ((error as { code?: unknown }).code === "SQLITE_BUSY") {
      throw new Error(`The ledger in ${dir} is locked by a running service; stop it to verify the ledger.`, { cause: error });
    }
    throw error;
  } finally {
    entries.close();
    index.close();
  }
}

class LedgerVerifier {
  readonly #service: CertificateInfo | undefined;
  /** Node certificates seen so far: one node signs many signature transactions. */
  readonly #nodes = new Map<string, NodeCertificate | Error>();
  readonly #problems = new Problems();
  readonly #tree = new MerkleTree();
  /** Set once a leaf cannot be placed (a gap or an unreadable entry): later Merkle checks would only echo it. */
  #treeBroken = false;
  #transactions = 0;
  #signatures = 0;
  #lastTxId: TxId | null = null;
  #lastSeqno = 0;
  #lastView = 0;
  #lastSignatureSeqno = 0;
  #lastSignedSeqno = 0;

  constructor(service: CertificateInfo | undefined) {
    this.#service = service;
  }

  /** Walks the entries in seqno order alongside `kv_history` in the same order. */
  checkEntries(rows: Iterable<TxRow>, historyRows: Iterable<HistoryRow>): void {
    const history = new Cursor(historyRows);
    for (const row of rows) {
      if (row.seqno < 1) {
        this.#problems.report("reordered", 1, `A transaction is stored at seqno ${row.seqno}; seqnos start at 1.`);
        continue;
      }
      this.#transactions++;
      if (row.seqno !== this.#lastSeqno + 1) {
        const missing = this.#lastSeqno + 1;
        const range = row.seqno - 1 > missing ? `s ${missing}..${row.seqno - 1} are` : ` ${missing} is`;
        this.#problems.report("missing", missing, `Transaction${range} missing.`);
        this.#treeBroken = true;
      }
      this.#lastSeqno = row.seqno;
      this.#lastTxId = { view: row.view, seqno: row.seqno };
      this.#skipHistoryBefore(history, row.seqno);
      const writes = this.#takeHistory(history, row.seqno);

      let entry: Entry;
      try {
        entry = decodeEntry(row.entry);
      } catch (error) {
        this.#problems.report("corrupt", row.seqno, `The entry at seqno ${row.seqno} cannot be decoded: ${(error as Error).message}`);
        this.#treeBroken = true;
        continue;
      }
      if (entry.view !== row.view || entry.seqno !== row.seqno) {
        this.#problems.report(
          "reordered",
          row.seqno,
          `The entry stored as ${row.view}.${row.seqno} is transaction ${entry.view}.${entry.seqno}.`,
        );
      }
      if (entry.view < this.#lastView) {
        this.#problems.report("reordered", row.seqno, `The view goes back from ${this.#lastView} to ${entry.view} at seqno ${row.seqno}.`);
      }
      this.#lastView = Math.max(this.#lastView, entry.view);
      this.#compareHistory(row.seqno, entry, writes);

      if (!this.#treeBroken) this.#tree.append(leafOfEntry(row.entry, entry.view, entry.seqno));
      const signature = signatureWrites(entry.writes);
      if (signature) {
        this.#signatures++;
        if (!this.#treeBroken) this.#checkSignature(row.seqno, entry, signature);
        this.#lastSignatureSeqno = row.seqno;
      }
    }
    for (let row = history.take(); row; row = history.take()) {
      this.#problems.report("state-mismatch", row.seqno, `kv_history has ${describeKey(row.map, row.key)} at seqno ${row.seqno}, after the last transaction.`);
    }
  }

  /** Compares `kv` with the last write of every key in `kv_history`, which checkEntries matched to the entries. */
  checkState(kvRows: Iterable<KvRow>, historyRows: Iterable<HistoryRow>): void {
    const kv = new Cursor(kvRows);
    const latest = new Cursor(lastWrites(historyRows));
    for (;;) {
      const stored = kv.peek();
      const written = latest.peek();
      if (!stored && !written) return;
      const order = !stored ? 1 : !written ? -1 : compareKeys(stored.map, written.map) || compareKeys(stored.key, written.key);
      if (order < 0 && stored) {
        const seqno = Math.min(Math.max(stored.seqno, 1), Math.max(this.#lastSeqno, 1));
        this.#problems.report("state-mismatch", seqno, `kv holds ${describeKey(stored.map, stored.key)}, which no transaction left in place.`);
        kv.take();
        continue;
      }
      if (order > 0 && written) {
        if (written.value !== null) {
          this.#problems.report("state-mismatch", written.seqno, `kv lacks ${describeKey(written.map, written.key)}, written at seqno ${written.seqno}.`);
        }
        latest.take();
        continue;
      }
      if (stored && written) {
        const matches = written.value !== null && sameBytes(stored.value, written.value) && stored.seqno === written.seqno &&
          stored.view === written.view;
        if (!matches) {
          this.#problems.report(
            "state-mismatch",
            written.seqno,
            `kv differs for ${describeKey(stored.map, stored.key)} from the write at seqno ${written.seqno}.`,
          );
        }
      }
      kv.take();
      latest.take();
    }
  }

  report(): LedgerVerifyReport {
    const problem = this.#problems.first;
    return {
      ok: problem === undefined,
      transactions: this.#transactions,
      signatures: this.#signatures,
      lastTxId: this.#lastTxId,
      lastSignedSeqno: this.#lastSignedSeqno,
      unsignedTail: this.#lastSeqno - this.#lastSignatureSeqno,
      ...(problem ? { problem } : {}),
    };
  }

  #skipHistoryBefore(history: Cursor<HistoryRow>, seqno: number): void {
    for (let row = history.peek(); row && row.seqno < seqno; row = history.peek()) {
      this.#problems.report("state-mismatch", row.seqno, `kv_history has ${describeKey(row.map, row.key)} at seqno ${row.seqno}, which has no entry.`);
      history.take();
    }
  }

  #takeHistory(history: Cursor<HistoryRow>, seqno: number): HistoryRow[] {
    const rows: HistoryRow[] = [];
    for (let row = history.peek(); row && row.seqno === seqno; row = history.peek()) rows.push(history.take() as HistoryRow);
    return rows;
  }

  #compareHistory(seqno: number, entry: Entry, rows: HistoryRow[]): void {
    // Both lists are sorted by (map, key) in the same order, so a pairwise walk finds the first difference.
    const count = Math.max(rows.length, entry.writes.length);
    for (let i = 0; i < count; i++) {
      const row = rows[i];
      const write = entry.writes[i];
      if (!write || !row || row.map !== write.map || row.key !== write.key) {
        const named = write ?? row;
        const key = named ? describeKey(named.map, named.key) : "a key";
        this.#problems.report("state-mismatch", seqno, `kv_history and the entry at seqno ${seqno} disagree on which keys it wrote (${key}).`);
        return;
      }
      if (row.view !== entry.view || row.timestamp !== entry.timestamp || !sameBytes(row.value, write.value)) {
        this.#problems.report("state-mismatch", seqno, `kv_history differs from the entry at seqno ${seqno} for ${describeKey(write.map, write.key)}.`);
        return;
      }
    }
  }

  #node(pem: string): NodeCertificate | Error {
    let node = this.#nodes.get(pem);
    if (node === undefined) {
      try {
        const info = parseCertificate(pem);
        const endorsed = !this.#service || isEndorsedBy(info.pem, this.#service.pem);
        node = { info, nodeId: nodeIdOf(info.publicKey), endorsed };
      } catch (error) {
        node = error as Error;
      }
      this.#nodes.set(pem, node);
    }
    return node;
  }

  #checkSignature(seqno: number, entry: Entry, writes: NonNullable<ReturnType<typeof signatureWrites>>): void {
    const badSignature = (message: string): void => this.#problems.report("bad-signature", seqno, `Signature transaction ${seqno}: ${message}`);
    const previousSignature = this.#lastSignatureSeqno;
    let record;
    try {
      record = parseSignatureRecord(writes.signature.value ?? new Uint8Array());
    } catch (error) {
      badSignature((error as Error).message);
      return;
    }
    if (record.seqno !== seqno || record.view !== entry.view) {
      badSignature(`the record claims to be ${record.view}.${record.seqno}.`);
      return;
    }
    const node = this.#node(record.cert);
    if (node instanceof Error) {
      badSignature(`its certificate does not parse: ${node.message}`);
      return;
    }
    if (node.nodeId !== record.node_id) badSignature("node_id does not match the certificate's key.");
    const signedRoot = Buffer.from(record.root, "hex");
    if (!node.info.isP384 || !verifyDigest(signedRoot, Buffer.from(record.signature, "base64"), node.info.publicKey)) {
      badSignature("the signature does not verify over the recorded root.");
      return;
    }
    const { endorsed } = node;
    if (!endorsed) {
      this.#problems.report("unendorsed-node", seqno, `Signature transaction ${seqno} was signed by node ${record.node_id}, which the service did not endorse.`);
    }

    const actualRoot = toHex(this.#tree.root(seqno - 1));
    let treeRecord: TreeRecord;
    try {
      treeRecord = parseTreeRecord(writes.tree?.value ?? new Uint8Array());
    } catch (error) {
      this.#problems.report("altered", seqno, `Signature transaction ${seqno}: ${(error as Error).message}`);
      return;
    }
    const from = Math.max(previousSignature, 1);
    if (treeRecord.from_seqno !== from || treeRecord.leaves.length !== seqno - from) {
      this.#problems.report("altered", seqno, `Signature transaction ${seqno} records leaves ${treeRecord.from_seqno}.. instead of ${from}..${seqno - 1}.`);
      return;
    }
    const mismatch = treeRecord.leaves.findIndex((leaf, offset) => leaf !== toHex(this.#tree.leaf(from + offset - 1)));
    if (mismatch >= 0) {
      // The tree record is not signed itself: if the entries still produce the signed root, it is the record that
      // changed; otherwise the first entry whose leaf differs is.
      const altered = actualRoot === record.root ? seqno : from + mismatch;
      this.#problems.report("altered", altered, `Transaction ${altered} differs from what signature transaction ${seqno} committed to.`);
      return;
    }
    if (actualRoot !== record.root) {
      badSignature(`the signed root does not match transactions 1..${seqno - 1}.`);
      return;
    }
    if (endorsed) this.#lastSignedSeqno = seqno;
  }
}

interface NodeCertificate {
  info: CertificateInfo;
  nodeId: string;
  /** True when no service certificate was given. */
  endorsed: boolean;
}

/** The last write of each key, from history rows ordered by (map, key, seqno). */
function* lastWrites(rows: Iterable<HistoryRow>): Generator<HistoryRow> {
  let pending: HistoryRow | undefined;
  for (const row of rows) {
    if (pending && (pending.map !== row.map || pending.key !== row.key)) yield pending;
    pending = row;
  }
  if (pending) yield pending;
}
