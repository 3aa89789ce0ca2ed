import { generateKeyPairSync, type JsonWebKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { JwksError, parsePublicJwks, storedPublicKeys } from "./jwks.js";

function rsaJwk(bits = 2048): JsonWebKey {
  return generateKeyPairSync("rsa", { modulusLength: bits }).publicKey.export({ format: "jwk" });
}

function ecJwk(curve: "P-256" | "P-384" = "P-256"): JsonWebKey {
  return generateKeyPairSync("ec", { namedCurve: curve }).publicKey.export({ format: "jwk" });
}

const rsa = rsaJwk();
const ec = ecJwk();

describe("parsePublicJwks", () => {
  it("keeps RSA and EC signing keys with a kid, copying only public members", () => {
    const keys = parsePublicJwks({
      keys: [
        { ...rsa, kid: "r1", alg: "RS256", use: "sig", x5t: "abc", extra: "dropped" },
        { ...ec, kid: "e1", alg: "ES256" },
      ],
    });
    expect(keys.map((k) => k.kid)).toEqual(["r1", "e1"]);
    expect(keys[0]).toEqual({ kty: "RSA", kid: "r1", alg: "RS256", use: "sig", n: rsa.n, e: rsa.e, x5t: "abc" });
  });

  it("refuses a set holding private or symmetric key material", () => {
    const privateRsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
    expect(() => parsePublicJwks({ keys: [{ ...rsa, kid: "ok" }, { ...privateRsa, kid: "leak" }] })).toThrow(/key 1 is not a public key \(it has 'd'\)/);
    expect(() => parsePublicJwks({ keys: [{ kty: "oct", kid: "h", k: "c2VjcmV0" }] })).toThrow(JwksError);
  });

  it("leaves out keys it cannot use instead of failing the set", () => {
    const keys = parsePublicJwks({
      keys: [
        { ...rsa }, // no kid
        { ...rsa, kid: "enc", use: "enc" },
        { ...rsa, kid: "ops", key_ops: ["encrypt"] },
        { ...rsa, kid: "hs", alg: "HS256" },
        { ...rsa, kid: "mismatch", alg: "ES256" },
        { ...ec, kid: "curve", alg: "ES384" }, // a P-256 key cannot make ES384 signatures
        { ...rsaJwk(1024), kid: "short" },
        { ...ec, kid: "bad-point", x: rsa.n },
        { kty: "OKP", crv: "Ed25519", kid: "ed", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
        { ...ec, kid: "good" },
      ],
    });
    expect(keys.map((k) => k.kid)).toEqual(["good"]);
  });

  it("refuses values that are not key sets, and oversized sets", () => {
    expect(() => parsePublicJwks(null)).toThrow(JwksError);
    expect(() => parsePublicJwks({ keys: "no" })).toThrow(JwksError);
    expect(() => parsePublicJwks({ keys: [1] })).toThrow(/key 0 is not an object/);
    expect(() => parsePublicJwks({ keys: Array.from({ length: 101 }, (_, i) => ({ ...ec, kid: String(i) })) })).toThrow(/more than 100/);
  });

  it("treats a malformed stored set as holding no key", () => {
    expect(storedPublicKeys({ keys: [{ ...rsa, kid: "x", d: "secret" }] })).toEqual([]);
    expect(storedPublicKeys("garbage")).toEqual([]);
  });
});
