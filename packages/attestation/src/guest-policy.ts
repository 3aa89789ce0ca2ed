import { check } from "./errors.js";
import type { SnpReport } from "./report.js";

/** The highest VMPL a guest request can come from. */
export const MAX_VMPL = 3;

export interface GuestPolicyOptions {
  /** Accept a guest policy that allows debugging. Default false. */
  allowDebug?: boolean;
  /** Require VMPL 0 (Confidential ACI containers). Default true; when false, up to {@link MAX_VMPL} is accepted. */
  requireVmpl0?: boolean;
}

/**
 * Rejects a guest whose memory the host could read or move: policy DEBUG (DebugPolicy) and MIGRATE_MA
 * (MigrationAgent, always rejected), and reports requested from a VMPL above 0 (VmplNotZero).
 */
export function checkGuestPolicy(report: SnpReport, options: GuestPolicyOptions = {}): void {
  check(options.allowDebug === true || !report.policyDecoded.debug, "DebugPolicy", "The guest policy allows debugging.");
  check(!report.policyDecoded.migrateMa, "MigrationAgent", "The guest policy allows a migration agent.");
  const maxVmpl = options.requireVmpl0 === false ? MAX_VMPL : 0;
  check(
    report.vmpl <= maxVmpl,
    "VmplNotZero",
    `The report was requested at VMPL ${report.vmpl}; at most ${maxVmpl} is accepted.`,
  );
}
