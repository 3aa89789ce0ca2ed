import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { aesKeyUnwrapPad, aesKeyWrapPad, unwrapWithRsaKey, wrapToRsaKey } from "./key-wrap.js";

const rsa = (bits: number) => generateKeyPairSync("rsa", { modulusLength: bits, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });

describe("AES key wrap with padding (RFC 5649)", () => {
  it("matches the RFC's test vectors", () => {
    const kek = Buffer.from("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", "hex");
    const twenty = Buffer.from("c37b7e6492584340bed12207808941155068f738", "hex");
    expect(aesKeyWrapPad(kek, twenty).toString("hex")).toBe("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
    const seven = Buffer.from("466f7250617369", "hex");
    expect(aesKeyWrapPad(kek, seven).toString("hex")).toBe("afbeb0f07dfbf5419200f2ccb50bb24f");
    expect(aesKeyUnwrapPad(kek, Buffer.from("afbeb0f07dfbf5419200f2ccb50bb24f", "hex"))).toEqual(seven);
  });
});

describe("RSA-OAEP + AES-KWP (CKM_RSA_AES_KEY_WRAP)", () => {
  const { publicKey, privateKey } = rsa(2048);

  it("round-trips secrets of any length to the holder of the private key", () => {
    for (const secret of ["k", "a 32-byte data encryption key...", "x".repeat(25_600)]) {
      const wrapped = wrapToRsaKey(publicKey, Buffer.from(secret));
      expect(wrapped.length).toBeGreaterThan(256);
      expect(unwrapWithRsaKey(privateKey, wrapped).toString()).toBe(secret);
    }
  });

  it("fails for another key, an altered byte, truncation, and RSA keys under 2048 bits", () => {
    const wrapped = wrapToRsaKey(publicKey, Buffer.from("secret"));
    expect(() => unwrapWithRsaKey(rsa(2048).privateKey, wrapped)).toThrow();
    for (const index of [0, 255, 256, wrapped.length - 1]) {
      const altered = Buffer.from(wrapped);
      altered[index] = (altered[index] ?? 0) ^ 1;
      expect(() => unwrapWithRsaKey(privateKey, altered), `byte ${index}`).toThrow();
    }
    expect(() => unwrapWithRsaKey(privateKey, wrapped.subarray(0, 260))).toThrow(/too short/);
    expect(() => wrapToRsaKey(rsa(1024).publicKey, Buffer.from("s"))).toThrow(/at least 2048/);
    const ec = generateKeyPairSync("ec", { namedCurve: "P-384", publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
    expect(() => wrapToRsaKey(ec.publicKey, Buffer.from("s"))).toThrow(/needs an RSA key/);
  });
});
