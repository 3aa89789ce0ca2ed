import { createHash } from "node:crypto";
import { decodeBase64Strict } from "./base64.js";
import { check } from "./errors.js";

/**
 * HOST_DATA for a Confidential ACI container group: SHA-256 of the base64-DECODED CCE policy (the
 * `ccePolicy` / `security-policy-base64` value), as lowercase hex. Hashing the base64 text would be wrong.
 */
export function hostDataFromCcePolicy(policyBase64: string): string {
  return createHash("sha256").update(decodeBase64Strict(policyBase64, "The CCE policy")).digest("hex");
}

/** Normalizes a hex host-data value for comparison (lowercase, 64 hex digits) or returns undefined when malformed. */
export function normalizeHostData(hex: string): string | undefined {
  return /^[0-9a-fA-F]{64}$/.test(hex) ? hex.toLowerCase() : undefined;
}

/** Throws HostDataNotAllowed unless the report's HOST_DATA is one of `allowed` (hex, any case). */
export function checkHostData(hostData: Uint8Array, allowed: readonly string[]): void {
  const actual = Buffer.from(hostData).toString("hex");
  const match = allowed.some((candidate) => normalizeHostData(candidate) === actual);
  check(match, "HostDataNotAllowed", `HOST_DATA ${actual} is not among the ${allowed.length} allowed value(s).`);
}
