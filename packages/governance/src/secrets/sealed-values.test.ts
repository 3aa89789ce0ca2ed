import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { seal, unseal } from "./sealed-values.js";

describe("sealed secret values", () => {
  const key = randomBytes(32);

  it("round-trips and never stores the plaintext", () => {
    const sealed = seal(key, "k1", "c/s", "the secret value");
    expect(JSON.stringify(sealed)).not.toContain("the secret value");
    expect(unseal(key, "k1", "c/s", sealed)).toBe("the secret value");
    // A fresh IV each time: equal secrets do not look equal in the ledger.
    expect(seal(key, "k1", "c/s", "the secret value").ciphertext).not.toBe(sealed.ciphertext);
  });

  it("refuses another key, another binding, or any altered byte", () => {
    const sealed = seal(key, "k1", "c/s", "value");
    expect(() => unseal(randomBytes(32), "k1", "c/s", sealed)).toThrow();
    expect(() => unseal(key, "k2", "c/s", sealed)).toThrow(/sealed with secrets key k1/);
    expect(() => unseal(key, "k1", "c/other", sealed)).toThrow();
    const flipped = Buffer.from(sealed.ciphertext, "base64");
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() => unseal(key, "k1", "c/s", { ...sealed, ciphertext: flipped.toString("base64") })).toThrow();
    expect(() => unseal(key, "k1", "c/s", { ...sealed, tag: Buffer.alloc(16).toString("base64") })).toThrow();
  });
});
