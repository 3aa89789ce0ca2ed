import { createPrivateKey, type KeyObject } from "node:crypto";
import { p384 } from "@noble/curves/nist.js";

/**
 * ECDSA over a digest the caller already computed (CCF signs the 32-byte SHA-256 Merkle root directly with the
 * node's P-384 key). node:crypto always hashes its input again, so this uses @noble/curves with prehash disabled.
 * Signatures are DER-encoded, as in CCF receipts.
 */
export function signDigest(digest: Uint8Array, privateKey: KeyObject | string): Buffer {
  const key = typeof privateKey === "string" ? createPrivateKey(privateKey) : privateKey;
  const jwk = key.export({ format: "jwk" });
  if (jwk.crv !== "P-384" || !jwk.d) throw new Error("signDigest needs an ECDSA P-384 private key.");
  const scalar = Buffer.from(jwk.d, "base64url");
  return Buffer.from(p384.sign(digest, scalar, { prehash: false, format: "der" }));
}

/** Verifies a DER ECDSA P-384 signature over a precomputed digest. Returns false on any malformed input. */
export function verifyDigest(digest: Uint8Array, signatureDer: Uint8Array, publicKey: KeyObject): boolean {
  const jwk = publicKey.export({ format: "jwk" });
  if (jwk.crv !== "P-384" || !jwk.x || !jwk.y) return false;
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
  try {
    return p384.verify(signatureDer, digest, point, { prehash: false, format: "der", lowS: false });
  } catch {
    return false;
  }
}
