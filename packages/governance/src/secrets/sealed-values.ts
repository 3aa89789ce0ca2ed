import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** A value encrypted with the service's secrets key (AES-256-GCM), as stored in the ledger. */
export interface SealedValue {
  /** Which secrets key sealed it (see ServiceIdentity.secretsKeyId). */
  keyId: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/**
 * Seals `plaintext` under `key`. `binding` (the secret's contract and id) is authenticated but not stored: a value
 * copied to another secret's place in the ledger no longer opens.
 */
export function seal(key: Buffer, keyId: string, binding: string, plaintext: string): SealedValue {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(binding, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return { keyId, iv: iv.toString("base64"), ciphertext: ciphertext.toString("base64"), tag: cipher.getAuthTag().toString("base64") };
}

/** Opens a sealed value; throws when the key, the binding or any byte of it is wrong. */
export function unseal(key: Buffer, keyId: string, binding: string, sealed: SealedValue): string {
  if (sealed.keyId !== keyId) throw new Error(`The value was sealed with secrets key ${sealed.keyId}, not ${keyId}.`);
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(sealed.iv, "base64"));
  decipher.setAAD(Buffer.from(binding, "utf8"));
  decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
  return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, "base64")), decipher.final()]).toString("utf8");
}
