/**
 * Public contract of the ledger library. Governance and the CLI depend only on what is declared here and
 * re-exported from index.ts.
 */

/** A transaction id `view.seqno`, as in CCF. */
export interface TxId {
  view: number;
  seqno: number;
}

/** Status of a transaction id, with CCF's names. */
export type TxStatus = "Committed" | "Pending" | "Unknown" | "Invalid";

/** Signs Merkle roots for signature transactions; the node identity is endorsed by the service identity. */
export interface LedgerSigner {
  /** Lowercase hex SHA-256 of the node's public key (SPKI DER). */
  nodeId: string;
  /** The node certificate (PEM), issued by the service certificate's key. */
  nodeCertificatePem: string;
  /** DER ECDSA signature over a 32-byte digest, without hashing it again (see @cleanroom/crypto signDigest). */
  signDigest(digest: Uint8Array): Uint8Array;
}

export interface LedgerOptions {
  /** Directory holding `ledger.sqlite` (created if missing). */
  dir: string;
  signer: LedgerSigner;
  /** Emit a signature transaction after this many unsigned transactions. Default 100. */
  signatureEveryTx?: number;
  /** Emit a signature transaction when unsigned transactions are this old (ms). Default 250. */
  signatureIntervalMs?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  clock?: () => number;
  /** Called when a commit fails (e.g. disk full): the in-memory state can no longer be trusted; stop the process. */
  onFatal?: (error: Error) => void;
}

/** Read access to the current state (including transactions executed but not yet durable). */
export interface StateReader {
  get(map: string, key: string): Uint8Array | undefined;
  has(map: string, key: string): boolean;
  /** Id of the transaction that last wrote (or deleted) the key, if any. */
  version(map: string, key: string): TxId | undefined;
  /** Visits every live key of a map in ascending key order. */
  forEach(map: string, visit: (key: string, value: Uint8Array) => void): void;
  size(map: string): number;
}

/** A write transaction: reads see the transaction's own writes. */
export interface WriteTx extends StateReader {
  set(map: string, key: string, value: Uint8Array): void;
  delete(map: string, key: string): void;
  /** Application claims digest (32 bytes) bound into the transaction's Merkle leaf; zeros when unset. */
  setClaimsDigest(digest: Uint8Array): void;
}

export interface TransactResult<T> {
  result: T;
  /** Null when the function wrote nothing (no transaction was recorded). */
  txId: TxId | null;
  /** Resolves once the transaction (and everything before it) is fsync'd; rejects if the commit failed. */
  committed: Promise<void>;
}

/** One historical write of a key. `value` is undefined for a deletion. */
export interface KeyWrite {
  txId: TxId;
  /** Service time of the transaction, ms since the epoch. */
  timestamp: number;
  value: Uint8Array | undefined;
}

/** A receipt in CCF's JSON format (verifiable with the `ccf` PyPI package's `ccf.receipt` functions). */
export type Receipt = TxReceipt | SignatureReceipt;

export interface TxReceipt {
  cert: string;
  is_signature_transaction: false;
  leaf_components: {
    claims_digest: string;
    commit_evidence: string;
    write_set_digest: string;
  };
  node_id: string;
  proof: Array<{ left: string } | { right: string }>;
  signature: string;
}

export interface SignatureReceipt {
  cert: string;
  is_signature_transaction: true;
  /** The Merkle root signed by this signature transaction. */
  leaf: string;
  node_id: string;
  proof: [];
  signature: string;
}

/** What `verifyReceipt` proves. */
export interface VerifiedReceipt {
  /**
   * The transaction the receipt is for, read from its commit evidence (which the signed root binds). Null for a
   * signature transaction's receipt: CCF's format for those carries no id, and the signed root does not bind one.
   */
  txId: TxId | null;
  isSignatureTransaction: boolean;
  /** Hex Merkle root the node signed. */
  root: string;
  nodeId: string;
}

export type LedgerProblemKind =
  | "missing" // a seqno is absent
  | "reordered" // an entry sits at a position other than the one its own id names, or views go backwards
  | "altered" // an entry's content differs from what a later signature committed to
  | "bad-signature" // a signature transaction's signature or root does not verify
  | "unendorsed-node" // a signing node certificate is not endorsed by the service certificate
  | "state-mismatch" // the current-state tables differ from replaying the transactions
  | "corrupt"; // an entry cannot be decoded

export interface LedgerProblem {
  kind: LedgerProblemKind;
  /** The first affected seqno. */
  seqno: number;
  message: string;
}

export interface LedgerVerifyReport {
  ok: boolean;
  transactions: number;
  signatures: number;
  lastTxId: TxId | null;
  /** Highest seqno covered by a verified signature. */
  lastSignedSeqno: number;
  /** Transactions after the last signature: durable, but not yet covered by a signature. */
  unsignedTail: number;
  /** The first problem found (lowest seqno), if any. */
  problem?: LedgerProblem;
}

/** Bounds of a `history` read; both ends inclusive. */
export interface HistoryOptions {
  fromSeqno?: number;
  toSeqno?: number;
  /** At most this many writes (the oldest ones in the range). */
  limit?: number;
}

/** Counters for monitoring (and for tests of group commit). */
export interface LedgerStats {
  view: number;
  /** Highest seqno executed. */
  transactions: number;
  /** Highest seqno durable on disk. */
  durableSeqno: number;
  /** Signature transactions in the ledger. */
  signatures: number;
  /** SQLite COMMITs (fsyncs) since the ledger was opened. */
  commits: number;
}

/**
 * An open ledger. Reads (the StateReader methods, `history`) see every transaction executed so far, including ones
 * not yet durable. After a failed commit every method throws (or rejects) a LedgerFailedError, except `close`.
 */
export interface Ledger extends StateReader {
  /** The view this process writes in: one more than any view the ledger has seen. */
  readonly view: number;
  /**
   * Runs `fn` synchronously against the current state and records its writes as one transaction. Nothing is
   * recorded if `fn` throws (the error propagates) or writes nothing and sets no claims digest (`txId` is null).
   */
  transact<T>(fn: (tx: WriteTx) => T): TransactResult<T>;
  /** Resolves once every transaction executed so far is durable. */
  whenDurable(): Promise<void>;
  /** Writes of one key in ascending seqno order, deletions included. */
  history(map: string, key: string, options?: HistoryOptions): KeyWrite[];
  txStatus(txId: TxId): TxStatus;
  /** Id of the last transaction executed, durable or not. */
  lastTxId(): TxId | null;
  /** Id of the last durable transaction. */
  lastCommittedTxId(): TxId | null;
  /**
   * A CCF receipt for a Pending or Committed transaction, once it and a signature covering it are durable (a
   * signature is emitted at once when none covers it yet). Rejects with TransactionNotFound or TransactionInvalid.
   */
  receipt(txId: TxId): Promise<Receipt>;
  stats(): LedgerStats;
  /** Commits what is pending, signs any unsigned transactions, and closes the database. */
  close(): Promise<void>;
}
