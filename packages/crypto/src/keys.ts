import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";

/** A PEM-encoded ECDSA P-384 key pair: the only identity key type Cleanroom issues. */
export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** Generates a fresh ECDSA P-384 key pair (PKCS#8 private key, SPKI public key, both PEM). */
export function generateP384KeyPair(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** Loads a PEM private key and checks it is ECDSA P-384, so a wrong key fails at load time, not at first signature. */
export function loadP384PrivateKey(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  assertP384(key, "private key");
  return key;
}

/** Loads a PEM public key (or the public half of a certificate or private key) and checks it is ECDSA P-384. */
export function loadP384PublicKey(pem: string | KeyObject): KeyObject {
  const key = typeof pem === "string" ? createPublicKey(pem) : pem.type === "private" ? createPublicKey(pem) : pem;
  assertP384(key, "public key");
  return key;
}

export function isP384(key: KeyObject): boolean {
  return key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "secp384r1";
}

function assertP384(key: KeyObject, what: string): void {
  if (!isP384(key)) {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    throw new Error(`Expected an ECDSA P-384 ${what}, got ${key.asymmetricKeyType ?? "unknown"}${curve ? ` (${curve})` : ""}.`);
  }
}
