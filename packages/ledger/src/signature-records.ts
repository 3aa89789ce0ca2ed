import { isHexDigest } from "./bytes.js";
import type { Write } from "./entry-codec.js";

/** Maps under this prefix are written only by the ledger itself, as in CCF. */
export const INTERNAL_MAP_PREFIX = "public:ccf.internal.";
export const SIGNATURES_MAP = "public:ccf.internal.signatures";
export const TREE_MAP = "public:ccf.internal.tree";
/** Both internal maps hold a single key, overwritten by each signature transaction (history keeps every version). */
export const SINGLETON_KEY = "0";

/** What a signature transaction at seqno S records in `public:ccf.internal.signatures`. */
export interface SignatureRecord {
  view: number;
  seqno: number;
  /** Hex Merkle root over leaves 1..S-1. */
  root: string;
  /** Base64 DER ECDSA P-384 signature over the 32 root bytes. */
  signature: string;
  node_id: string;
  cert: string;
}

/** What a signature transaction records in `public:ccf.internal.tree`: the leaves it newly covers. */
export interface TreeRecord {
  /** Seqno of the first leaf listed: the previous signature transaction, or 1. */
  from_seqno: number;
  /** Hex leaves of seqnos from_seqno..S-1. */
  leaves: string[];
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function encodeRecord(record: SignatureRecord | TreeRecord): Uint8Array {
  return Buffer.from(JSON.stringify(record), "utf8");
}

function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new Error(`The ${what} record is not JSON.`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`The ${what} record is not an object.`);
  return value as Record<string, unknown>;
}

function isSeqno(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 1;
}

/** Parses and shape-checks a signature record; throws a descriptive Error when malformed. */
export function parseSignatureRecord(bytes: Uint8Array): SignatureRecord {
  const record = parseJsonObject(bytes, "signature");
  const { view, seqno, root, signature, node_id: nodeId, cert } = record;
  if (!isSeqno(view) || !isSeqno(seqno)) throw new Error("The signature record's view and seqno must be positive integers.");
  if (!isHexDigest(root)) throw new Error("The signature record's root must be a hex SHA-256 digest.");
  if (typeof signature !== "string" || !BASE64.test(signature) || signature.length === 0) {
    throw new Error("The signature record's signature must be base64.");
  }
  if (!isHexDigest(nodeId)) throw new Error("The signature record's node_id must be a hex SHA-256 digest.");
  if (typeof cert !== "string") throw new Error("The signature record's cert must be a PEM string.");
  return { view, seqno, root, signature, node_id: nodeId, cert };
}

/** Parses and shape-checks a tree record; throws a descriptive Error when malformed. */
export function parseTreeRecord(bytes: Uint8Array): TreeRecord {
  const record = parseJsonObject(bytes, "tree");
  const { from_seqno: fromSeqno, leaves } = record;
  if (!isSeqno(fromSeqno)) throw new Error("The tree record's from_seqno must be a positive integer.");
  if (!Array.isArray(leaves) || !leaves.every(isHexDigest)) throw new Error("The tree record's leaves must be hex digests.");
  return { from_seqno: fromSeqno, leaves: leaves };
}

/** The signature and tree records of an entry's writes, or undefined when the entry is not a signature transaction. */
export function signatureWrites(writes: readonly Write[]): { signature: Write; tree: Write | undefined } | undefined {
  const signature = writes.find((write) => write.map === SIGNATURES_MAP && write.key === SINGLETON_KEY);
  if (!signature) return undefined;
  return { signature, tree: writes.find((write) => write.map === TREE_MAP && write.key === SINGLETON_KEY) };
}
