import { createPublicKey, randomBytes, sign } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { generateP384KeyPair } from "@cleanroom/crypto";
import { InlineSignatureVerifier, PooledSignatureVerifier, type SignatureVerifier } from "./signature-pool.js";

const keys = generateP384KeyPair();
const other = generateP384KeyPair();
const spki = (pem: string) => createPublicKey(pem).export({ type: "spki", format: "der" });

function signed(message: Buffer): Buffer {
  return sign("sha384", message, { key: keys.privateKeyPem, dsaEncoding: "ieee-p1363" });
}

const verifiers: Array<[string, SignatureVerifier]> = [
  ["inline", new InlineSignatureVerifier()],
  ["a pool of two workers", new PooledSignatureVerifier(2)],
];
afterAll(() => Promise.all(verifiers.map(([, verifier]) => verifier.close())));

describe.each(verifiers)("signature verification (%s)", (_name, verifier) => {
  it("accepts good signatures and refuses altered messages, other keys and malformed input", async () => {
    const message = randomBytes(200);
    const signature = signed(message);
    expect(await verifier.verify(message, signature, spki(keys.publicKeyPem))).toBe(true);
    expect(await verifier.verify(Buffer.concat([message, Buffer.from([0])]), signature, spki(keys.publicKeyPem))).toBe(false);
    expect(await verifier.verify(message, signature, spki(other.publicKeyPem))).toBe(false);
    expect(await verifier.verify(message, signature.subarray(1), spki(keys.publicKeyPem))).toBe(false);
    expect(await verifier.verify(message, signature, Buffer.from("not a key"))).toBe(false);
  });

  it("answers each of many concurrent requests with its own result", async () => {
    const jobs = Array.from({ length: 60 }, (_, i) => {
      const message = randomBytes(64);
      const signature = signed(message);
      const good = i % 3 !== 0;
      return { message: good ? message : randomBytes(64), signature, good };
    });
    const results = await Promise.all(jobs.map((job) => verifier.verify(job.message, job.signature, spki(keys.publicKeyPem))));
    expect(results).toEqual(jobs.map((job) => job.good));
  });
});
