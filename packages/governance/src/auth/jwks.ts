import { createPublicKey } from "node:crypto";

/**
 * Signature algorithms accepted for bearer tokens: asymmetric only, so that a key published by an issuer can never
 * be used to mint tokens, and never `none` or HMAC (whose "public" key would be the secret).
 */
export const JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** A public verification key as stored in the ledger: only the members listed in `PUBLIC_MEMBERS`. */
export interface PublicJwk {
  kty: "RSA" | "EC";
  kid: string;
  alg?: JwtAlgorithm;
  use?: "sig";
  key_ops?: string[];
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
  x5c?: string[];
  x5t?: string;
  "x5t#S256"?: string;
}

/** Members that carry private or symmetric key material: a set holding any of them is refused outright. */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;
const PUBLIC_MEMBERS = ["kty", "kid", "alg", "use", "key_ops", "n", "e", "crv", "x", "y", "x5c", "x5t", "x5t#S256"] as const;

/** Real issuers publish a handful of keys; anything far larger is a misconfiguration or an attempt to exhaust us. */
export const MAX_JWKS_KEYS = 100;
/** The most keys kept for one issuer (the constitution's limit for inline keys). */
export const MAX_USABLE_KEYS = 32;
const MIN_RSA_BITS = 2048;
const EC_CURVE_OF: Record<string, string> = { ES256: "P-256", ES384: "P-384", ES512: "P-521" };

/** Why a key set was refused as a whole. */
export class JwksError extends Error {
  override readonly name = "JwksError";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isJwtAlgorithm(value: unknown): value is JwtAlgorithm {
  return typeof value === "string" && (JWT_ALGORITHMS as readonly string[]).includes(value);
}

/** Copies the public members, so nothing unexpected (or large) that the issuer added reaches the ledger. */
function publicMembers(key: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const name of PUBLIC_MEMBERS) if (key[name] !== undefined) copy[name] = key[name];
  return copy;
}

/** The key as a PublicJwk when it can verify one of JWT_ALGORITHMS, else undefined (with the reason ignored). */
function usableKey(key: Record<string, unknown>): PublicJwk | undefined {
  const { kty, kid, alg, use, key_ops: keyOps } = key;
  if (kty !== "RSA" && kty !== "EC") return undefined;
  // Tokens are matched to keys by kid; a key without one could never be selected unambiguously.
  if (typeof kid !== "string" || kid.length === 0 || kid.length > 256) return undefined;
  if (use !== undefined && use !== "sig") return undefined;
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes("verify"))) return undefined;
  if (alg !== undefined) {
    if (!isJwtAlgorithm(alg)) return undefined;
    if ((kty === "RSA") !== (alg.startsWith("RS") || alg.startsWith("PS"))) return undefined;
    if (kty === "EC" && EC_CURVE_OF[alg] !== key.crv) return undefined;
  }
  const members = kty === "RSA" ? (["n", "e"] as const) : (["crv", "x", "y"] as const);
  if (!members.every((name) => typeof key[name] === "string")) return undefined;
  if (kty === "EC" && !Object.values(EC_CURVE_OF).includes(key.crv as string)) return undefined;
  try {
    const publicKey = createPublicKey({ key: { kty, ...Object.fromEntries(members.map((name) => [name, key[name]])) }, format: "jwk" });
    const bits = publicKey.asymmetricKeyDetails?.modulusLength;
    if (kty === "RSA" && (bits === undefined || bits < MIN_RSA_BITS)) return undefined;
  } catch {
    return undefined;
  }
  return publicMembers(key) as unknown as PublicJwk;
}

/**
 * Validates a JSON Web Key Set and returns the keys that can verify bearer tokens. Throws JwksError when the value
 * is not a key set, is too large, or holds any private or symmetric key material (such a set comes from a broken
 * or compromised issuer, and none of its keys is trusted). Keys this service cannot use (other key types, `use:
 * enc`, unknown algorithms, RSA under 2048 bits, invalid points) are left out rather than failing the set, as real
 * issuers publish such keys alongside their signing keys. The result may be empty.
 */
export function parsePublicJwks(value: unknown): PublicJwk[] {
  if (!isRecord(value) || !Array.isArray(value.keys)) throw new JwksError("not a JSON Web Key Set (an object with a 'keys' array)");
  const keys: unknown[] = value.keys;
  if (keys.length > MAX_JWKS_KEYS) throw new JwksError(`the key set has ${keys.length} keys, more than ${MAX_JWKS_KEYS}`);
  const usable: PublicJwk[] = [];
  for (const [index, key] of keys.entries()) {
    if (!isRecord(key)) throw new JwksError(`key ${index} is not an object`);
    const secret = PRIVATE_MEMBERS.find((name) => key[name] !== undefined);
    if (secret !== undefined) throw new JwksError(`key ${index} is not a public key (it has '${secret}')`);
    const jwk = usableKey(key);
    if (jwk) usable.push(jwk);
  }
  return usable;
}

/** parsePublicJwks for state read back from the ledger: malformed sets count as holding no key. */
export function storedPublicKeys(value: unknown): PublicJwk[] {
  try {
    return parsePublicJwks(value);
  } catch {
    return [];
  }
}
