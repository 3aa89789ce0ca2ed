import { generateKeyPairSync } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { AttestationError } from "./errors.js";
import { parseSnpEvidence } from "./evidence.js";
import { mutate, prng } from "./evidence-mutations.case.js";
import { REPORT_FIELDS } from "./report.js";
import { reasonOf } from "./test-support.case.js";
import { type VerifySnpOptions, verifySnpEvidence } from "./verify-snp.js";
import { createVirtualPlatform, hostDataOfConfiguration, loadVirtualPlatform, VIRTUAL_LAUNCH_MEASUREMENT, type VirtualPlatform } from "./virtual-platform.js";

let platform: VirtualPlatform;
const workloadKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();
const agentHostData = hostDataOfConfiguration('{"workload":"agent","image":"sha256:aa"}');
const jobHostData = hostDataOfConfiguration('{"workload":"job-1","image":"sha256:bb"}');

beforeAll(async () => {
  platform = await createVirtualPlatform();
});

const trusting = (extra: Partial<VerifySnpOptions> = {}): VerifySnpOptions => ({
  allowedHostData: [agentHostData],
  reportData: { runtimeData: workloadKey },
  virtualRoots: [platform.rootSpkiSha256],
  ...extra,
});

describe("virtual SEV-SNP platform", () => {
  it("produces reports the verifier accepts through the full pipeline when, and only when, its root is listed", () => {
    const evidence = platform.attest({ hostData: agentHostData, runtimeData: workloadKey });
    const result = verifySnpEvidence(evidence, trusting());
    expect(result.rootOfTrust).toBe("virtual");
    expect(result.product).toBe("Milan");
    expect(result.claims).toMatchObject({
      "x-ms-sevsnpvm-hostdata": agentHostData,
      "x-ms-sevsnpvm-launchmeasurement": VIRTUAL_LAUNCH_MEASUREMENT,
      "x-ms-sevsnpvm-is-debuggable": false,
      "x-ms-sevsnpvm-vmpl": 0,
    });
    // No UVM publisher: a virtual report never claims an endorsed UVM.
    expect(result.claims["x-ms-compliance-status"]).toBeUndefined();
    // Without the explicit root it is just an unknown ARK.
    expect(reasonOf(() => verifySnpEvidence(evidence, trusting({ virtualRoots: [] })))).toBe("ArkNotPinned");
    expect(reasonOf(() => verifySnpEvidence(evidence, trusting({ virtualRoots: undefined })))).toBe("ArkNotPinned");
  });

  it("gives each workload its own host data and binds the report to the workload's key", () => {
    const job = platform.attest({ hostData: jobHostData, runtimeData: workloadKey });
    expect(reasonOf(() => verifySnpEvidence(job, trusting()))).toBe("HostDataNotAllowed");
    expect(verifySnpEvidence(job, trusting({ allowedHostData: [jobHostData] })).claims["x-ms-sevsnpvm-hostdata"]).toBe(jobHostData);
    const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString();
    expect(reasonOf(() => verifySnpEvidence(job, trusting({ allowedHostData: [jobHostData], reportData: { runtimeData: otherKey } })))).toBe("ReportDataMismatch");
  });

  it("is not trusted through another platform's root, and survives a save and reload", async () => {
    const other = await createVirtualPlatform();
    const evidence = other.attest({ hostData: agentHostData, runtimeData: workloadKey });
    expect(reasonOf(() => verifySnpEvidence(evidence, trusting()))).toBe("ArkNotPinned");
    const reloaded = loadVirtualPlatform(JSON.parse(JSON.stringify(platform)));
    expect(reloaded.rootSpkiSha256).toBe(platform.rootSpkiSha256);
    expect(verifySnpEvidence(reloaded.attest({ hostData: agentHostData, runtimeData: workloadKey }), trusting()).rootOfTrust).toBe("virtual");
    expect(() => loadVirtualPlatform({ ...platform.toJSON(), kind: "something-else" })).toThrow(AttestationError);
  });

  it("fails closed on every flipped field of a signed report", () => {
    const evidence = platform.attest({ hostData: agentHostData, runtimeData: workloadKey });
    const parsed = parseSnpEvidence(evidence);
    const random = prng(7);
    for (const field of REPORT_FIELDS) {
      const report = Buffer.from(parsed.report);
      const index = field.offset + Math.floor(random() * field.size);
      report[index]! ^= 1 << Math.floor(random() * 8);
      expect(reasonOf(() => verifySnpEvidence({ ...evidence, evidence: report.toString("base64") }, trusting())), field.name).not.toBe("accepted");
    }
    for (let round = 0; round < 200; round += 1) {
      const mutated = mutate(random, { ...evidence, uvm_endorsements: "" });
      expect(reasonOf(() => verifySnpEvidence(mutated, trusting()))).not.toBe("InternalError");
    }
  });

  it("refuses a host data that is not 64 hex digits", () => {
    expect(() => platform.attest({ hostData: "abc", runtimeData: workloadKey })).toThrow(AttestationError);
  });
});
