import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, constants, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from "node:crypto";

// CKM_RSA_AES_KEY_WRAP (PKCS#11 §2.1.21), as CCF and the reference use to hand a secret to an attested workload:
// a fresh AES-256 key encrypted with RSA-OAEP (SHA-256) to the workload's public key, followed by the secret wrapped
// with that AES key by AES key wrap with padding (RFC 5649). Only the holder of the private key — which never left
// the TEE that attested it — can open it. Node's OpenSSL provides both primitives; only their framing is ours.

/** RFC 5649 §3: the alternative initial value that marks "key wrap with padding". */
const KWP_IV = Buffer.from("a65959a6", "hex");
/** Smaller RSA keys are refused: the wrapped secret would be weaker than the key that protects it in the ledger. */
const MIN_RSA_BITS = 2048;

function rsaKeyBytes(key: KeyObject): number {
  if (key.asymmetricKeyType !== "rsa") throw new Error(`Wrapping needs an RSA key, got ${key.asymmetricKeyType ?? "a symmetric key"}.`);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw new Error(`The RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required.`);
  return Math.ceil(bits / 8);
}

/** AES key wrap with padding (RFC 5649) of `data` under `kek` (16, 24 or 32 bytes). */
export function aesKeyWrapPad(kek: Uint8Array, data: Uint8Array): Buffer {
  const cipher = createCipheriv(`id-aes${kek.length * 8}-wrap-pad`, kek, KWP_IV);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** Inverse of aesKeyWrapPad; throws when the integrity check fails (wrong key or altered data). */
export function aesKeyUnwrapPad(kek: Uint8Array, wrapped: Uint8Array): Buffer {
  const decipher = createDecipheriv(`id-aes${kek.length * 8}-wrap-pad`, kek, KWP_IV);
  return Buffer.concat([decipher.update(wrapped), decipher.final()]);
}

/** Wraps `plaintext` to an RSA public key (PEM or KeyObject), CKM_RSA_AES_KEY_WRAP with OAEP-SHA-256 and AES-256. */
export function wrapToRsaKey(publicKey: string | KeyObject, plaintext: Uint8Array): Buffer {
  const key = typeof publicKey === "string" ? createPublicKey(publicKey) : publicKey;
  rsaKeyBytes(key);
  const aesKey = randomBytes(32);
  const encryptedKey = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, aesKey);
  return Buffer.concat([encryptedKey, aesKeyWrapPad(aesKey, plaintext)]);
}

/** Opens what wrapToRsaKey produced, with the matching private key; throws on any mismatch. */
export function unwrapWithRsaKey(privateKey: string | KeyObject, wrapped: Uint8Array): Buffer {
  const key = typeof privateKey === "string" ? createPrivateKey(privateKey) : privateKey;
  const size = rsaKeyBytes(key);
  if (wrapped.length < size + 16) throw new Error("The wrapped value is too short to hold an encrypted key and a wrapped payload.");
  const aesKey = privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, wrapped.subarray(0, size));
  if (aesKey.length !== 32) throw new Error("The encrypted key is not an AES-256 key.");
  return aesKeyUnwrapPad(aesKey, wrapped.subarray(size));
}
