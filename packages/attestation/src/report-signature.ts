import { type KeyObject, verify } from "node:crypto";
import { check } from "./errors.js";
import type { SnpReport } from "./report.js";

const P384_SCALAR_BYTES = 48;

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}

/**
 * Verifies the report's ECDSA P-384 / SHA-384 signature over bytes [0x000, 0x2A0) with the VCEK public key. R and
 * S are 72-byte little-endian fields of which only the low 48 bytes may be non-zero; the rest of the signature
 * area must be zero. Any deviation is ReportSignature.
 */
export function verifyReportSignature(report: SnpReport, raw: Uint8Array, vcekPublicKey: KeyObject): void {
  const { signatureR: r, signatureS: s } = report;
  check(
    isZero(r.subarray(P384_SCALAR_BYTES)) && isZero(s.subarray(P384_SCALAR_BYTES)),
    "ReportSignature",
    "Signature R/S have non-zero bytes beyond 48.",
  );
  check(isZero(raw.subarray(0x330)), "ReportSignature", "The reserved part of the signature area is not zero.");
  const p1363 = Buffer.concat([
    Buffer.from(r.subarray(0, P384_SCALAR_BYTES)).reverse(),
    Buffer.from(s.subarray(0, P384_SCALAR_BYTES)).reverse(),
  ]);
  let valid = false;
  try {
    valid = verify("sha384", report.signedBytes, { key: vcekPublicKey, dsaEncoding: "ieee-p1363" }, p1363);
  } catch {
    valid = false;
  }
  check(valid, "ReportSignature", "The report signature does not verify with the VCEK.");
}
