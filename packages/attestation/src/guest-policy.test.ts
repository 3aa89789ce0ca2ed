import { describe, expect, it } from "vitest";
import { checkGuestPolicy } from "./guest-policy.js";
import { parseSnpReport } from "./report.js";
import { ALLOWALL, DEBUG, vectorFile, reasonOf } from "./test-support.case.js";

// Genuine reports all have VMPL 0 and no migration agent; a mutated report cannot pass the signature check, so the
// policy checks are exercised here on parsed reports (verify-snp.test.ts covers their place in the pipeline).

function report(mutate: (bytes: Buffer) => void = () => undefined, vector = ALLOWALL) {
  const bytes = Buffer.from(vectorFile(vector, "report.bin"));
  mutate(bytes);
  return parseSnpReport(bytes);
}

describe("checkGuestPolicy", () => {
  it("accepts the CACI policy at VMPL 0", () => {
    expect(reasonOf(() => checkGuestPolicy(report()))).toBe("accepted");
  });

  it("rejects debug unless explicitly allowed", () => {
    expect(reasonOf(() => checkGuestPolicy(report(undefined, DEBUG)))).toBe("DebugPolicy");
    expect(reasonOf(() => checkGuestPolicy(report(undefined, DEBUG), { allowDebug: false }))).toBe("DebugPolicy");
    expect(reasonOf(() => checkGuestPolicy(report(undefined, DEBUG), { allowDebug: true }))).toBe("accepted");
  });

  it("always rejects a migration agent", () => {
    const migrating = report((r) => (r[0x00a]! |= 0x04));
    expect(migrating.policyDecoded.migrateMa).toBe(true);
    expect(reasonOf(() => checkGuestPolicy(migrating))).toBe("MigrationAgent");
    expect(reasonOf(() => checkGuestPolicy(migrating, { allowDebug: true, requireVmpl0: false }))).toBe("MigrationAgent");
  });

  it("rejects VMPL > 0 for containers, and VMPL > 3 always", () => {
    for (const vmpl of [1, 2, 3]) {
      const r = report((bytes) => bytes.writeUInt32LE(vmpl, 0x030));
      expect(reasonOf(() => checkGuestPolicy(r)), String(vmpl)).toBe("VmplNotZero");
      expect(reasonOf(() => checkGuestPolicy(r, { requireVmpl0: false })), String(vmpl)).toBe("accepted");
    }
    for (const vmpl of [4, 0xffffffff]) {
      const r = report((bytes) => bytes.writeUInt32LE(vmpl, 0x030));
      expect(reasonOf(() => checkGuestPolicy(r, { requireVmpl0: false })), String(vmpl)).toBe("VmplNotZero");
    }
  });
});
