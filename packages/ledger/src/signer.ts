import { createPublicKey, randomBytes, type KeyObject } from "node:crypto";
import { loadP384PrivateKey, parseCertificate, signDigest, verifyDigest } from "@cleanroom/crypto";
import { sha256, toHex } from "./bytes.js";
import type { LedgerSigner } from "./types.js";

/** CCF's node id: lowercase hex SHA-256 of the node's public key in SPKI DER. */
export function nodeIdOf(publicKey: KeyObject): string {
  return toHex(sha256(publicKey.export({ type: "spki", format: "der" })));
}

/** A LedgerSigner for a node's P-384 private key and the certificate the service issued for it. */
export function createLedgerSigner(privateKeyPem: string, nodeCertificatePem: string): LedgerSigner {
  const privateKey = loadP384PrivateKey(privateKeyPem);
  const certificate = parseCertificate(nodeCertificatePem);
  const publicDer = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  if (!publicDer.equals(certificate.publicKey.export({ type: "spki", format: "der" }))) {
    throw new Error("The node certificate does not certify this private key.");
  }
  return {
    nodeId: nodeIdOf(certificate.publicKey),
    nodeCertificatePem: certificate.pem,
    signDigest: (digest) => signDigest(digest, privateKey),
  };
}

/**
 * Checks a signer before the ledger relies on it: a signer whose key does not match its certificate would write
 * signatures that make the ledger refuse to open next time.
 */
export function assertUsableSigner(signer: LedgerSigner): void {
  const certificate = parseCertificate(signer.nodeCertificatePem);
  if (!certificate.isP384) throw new Error("The node certificate must carry an ECDSA P-384 key.");
  if (signer.nodeId !== nodeIdOf(certificate.publicKey)) {
    throw new Error("The signer's nodeId is not the SHA-256 of its certificate's public key.");
  }
  const probe = randomBytes(32);
  if (!verifyDigest(probe, signer.signDigest(probe), certificate.publicKey)) {
    throw new Error("The signer's signatures do not verify with its node certificate.");
  }
}
