import { isEndorsedBy, parseCertificate, verifyDigest, type CertificateInfo } from "@cleanroom/crypto";
import { isHexDigest, toHex } from "./bytes.js";
import { leafHash, parseCommitEvidence, receiptLeafComponents, type LeafComponents } from "./entry-codec.js";
import { InvalidReceiptError } from "./errors.js";
import { rootFromProof, type ProofStep } from "./merkle-tree.js";
import type { SignatureRecord } from "./signature-records.js";
import { nodeIdOf } from "./signer.js";
import type { SignatureReceipt, TxId, TxReceipt, VerifiedReceipt } from "./types.js";

/** Receipt for an ordinary transaction, proven by the signature transaction `record`. */
export function buildTxReceipt(components: LeafComponents, proof: ProofStep[], record: SignatureRecord): TxReceipt {
  return {
    cert: record.cert,
    is_signature_transaction: false,
    leaf_components: receiptLeafComponents(components),
    node_id: record.node_id,
    proof,
    signature: record.signature,
  };
}

/** CCF's special case for a signature transaction: its "leaf" is the root it signed, with an empty proof. */
export function buildSignatureReceipt(record: SignatureRecord): SignatureReceipt {
  return {
    cert: record.cert,
    is_signature_transaction: true,
    leaf: record.root,
    node_id: record.node_id,
    proof: [],
    signature: record.signature,
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_PROOF_STEPS = 64;

function invalid(message: string): never {
  throw new InvalidReceiptError(message);
}

function field(object: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(object, name) ? object[name] : undefined;
}

function hexField(object: Record<string, unknown>, name: string): string {
  const value = field(object, name);
  if (!isHexDigest(value)) invalid(`The receipt's ${name} must be a lowercase hex SHA-256 digest.`);
  return value;
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) invalid(`The ${what} must be a JSON object.`);
  return value as Record<string, unknown>;
}

function parseProof(value: unknown): ProofStep[] {
  if (!Array.isArray(value)) invalid("The receipt's proof must be an array.");
  if (value.length > MAX_PROOF_STEPS) invalid("The receipt's proof is longer than any Merkle tree path.");
  return (value as unknown[]).map((step, index) => {
    const object = asObject(step, `proof step ${index}`);
    const keys = Object.keys(object);
    const side = keys[0];
    if (keys.length !== 1 || (side !== "left" && side !== "right")) {
      invalid(`Proof step ${index} must have exactly one key, "left" or "right".`);
    }
    const hash = object[side];
    if (!isHexDigest(hash)) invalid(`Proof step ${index} must hold a lowercase hex SHA-256 digest.`);
    return side === "left" ? { left: hash } : { right: hash };
  });
}

function parseCertificateField(pem: string, what: string): CertificateInfo {
  try {
    return parseCertificate(pem);
  } catch (error) {
    return invalid(`The ${what} is not a PEM certificate: ${(error as Error).message}`);
  }
}

/**
 * Verifies a receipt in CCF's JSON format against the service certificate: recomputes the leaf (from its
 * components, or the signed root for a signature transaction) and the root along the proof, checks the P-384
 * signature over the root with the receipt's node certificate, that `node_id` names that certificate's key, and
 * that the service certificate's key signed the node certificate. Throws InvalidReceiptError naming the first
 * failed check.
 */
export function verifyReceipt(receipt: unknown, serviceCertificatePem: string): VerifiedReceipt {
  const object = asObject(receipt, "receipt");
  const cert = field(object, "cert");
  if (typeof cert !== "string") invalid("The receipt's cert must be a PEM string.");
  const nodeId = hexField(object, "node_id");
  const signature = field(object, "signature");
  if (typeof signature !== "string" || signature.length === 0 || !BASE64.test(signature)) {
    invalid("The receipt's signature must be base64.");
  }
  const proof = parseProof(field(object, "proof"));
  const isSignatureTransaction = field(object, "is_signature_transaction");

  let leaf: Uint8Array;
  let txId: TxId | null;
  if (isSignatureTransaction === false) {
    const components = asObject(field(object, "leaf_components"), "receipt's leaf_components");
    const commitEvidence = field(components, "commit_evidence");
    if (typeof commitEvidence !== "string") invalid("The receipt's commit_evidence must be a string.");
    const parsed = parseCommitEvidence(commitEvidence);
    if (!parsed) invalid("The receipt's commit_evidence is not of the form ce:<view>.<seqno>:<64 hex digits>.");
    txId = parsed;
    leaf = leafHash({
      writeSetDigest: Buffer.from(hexField(components, "write_set_digest"), "hex"),
      commitEvidence,
      claimsDigest: Buffer.from(hexField(components, "claims_digest"), "hex"),
    });
  } else if (isSignatureTransaction === true) {
    if (proof.length !== 0) invalid("A signature transaction's receipt must have an empty proof.");
    leaf = Buffer.from(hexField(object, "leaf"), "hex");
    txId = null;
  } else {
    invalid("The receipt's is_signature_transaction must be a boolean.");
  }

  const root = rootFromProof(leaf, proof);
  const nodeCertificate = parseCertificateField(cert, "receipt's cert");
  if (!nodeCertificate.isP384) invalid("The receipt's node certificate does not carry an ECDSA P-384 key.");
  if (nodeIdOf(nodeCertificate.publicKey) !== nodeId) invalid("The receipt's node_id does not match its certificate's key.");
  if (!verifyDigest(root, Buffer.from(signature, "base64"), nodeCertificate.publicKey)) {
    invalid("The receipt's signature does not verify over the Merkle root recomputed from its leaf and proof.");
  }
  const serviceCertificate = parseCertificateField(serviceCertificatePem, "service certificate");
  if (!isEndorsedBy(nodeCertificate.pem, serviceCertificate.pem)) {
    invalid("The receipt's node certificate is not endorsed (signed) by the service certificate.");
  }
  return { txId, isSignatureTransaction, root: toHex(root), nodeId };
}
