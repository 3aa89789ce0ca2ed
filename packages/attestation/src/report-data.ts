import { createHash, timingSafeEqual } from "node:crypto";
import { check } from "./errors.js";

/**
 * The REPORT_DATA a Confidential ACI workload produces when it binds `runtimeData` (the SKR sidecar convention,
 * used for a public key PEM): SHA-256 of the exact bytes (a string is taken as UTF-8, unchanged) followed by 32
 * zero bytes.
 */
export function expectedReportData(runtimeData: string | Uint8Array): Buffer {
  const bytes = typeof runtimeData === "string" ? Buffer.from(runtimeData, "utf8") : runtimeData;
  return Buffer.concat([createHash("sha256").update(bytes).digest(), Buffer.alloc(32)]);
}

/** Throws ReportDataMismatch unless REPORT_DATA binds exactly `runtimeData`. */
export function checkReportData(reportData: Uint8Array, runtimeData: string | Uint8Array): void {
  const expected = expectedReportData(runtimeData);
  check(
    reportData.length === expected.length && timingSafeEqual(reportData, expected),
    "ReportDataMismatch",
    "REPORT_DATA is not SHA-256 of the bound runtime data followed by 32 zero bytes.",
  );
}
