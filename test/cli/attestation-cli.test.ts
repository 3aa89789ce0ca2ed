// `cleanroom attestation verify`: every decoded field and every check of a genuine SEV-SNP report, offline.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli.js";

const VECTOR = fileURLToPath(new URL("../../packages/attestation/testdata/snp/caci-milan-v3-allowall/", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "cleanroom-attestation-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (...args: string[]) => cli(args, { home: work, cwd: VECTOR });

interface Verdict {
  ok: boolean;
  checks: Array<{ check: string; result: string; detail?: string }>;
  report?: Record<string, unknown>;
  claims?: Record<string, unknown>;
}

describe("cleanroom attestation verify", () => {
  it("verifies a genuine report, its host data and report data binding, and prints the decoded fields", async () => {
    const result = await run("-o", "json", "attestation", "verify", "evidence.json", "--runtime-data", "runtime_data.pem", "--cce-policy", "security-policy-base64");
    expect(result.code).toBe(0);
    const verdict = result.json<Verdict>();
    expect(verdict.ok).toBe(true);
    expect(verdict.checks.every((c) => c.result === "passed")).toBe(true);
    expect(verdict.report).toMatchObject({ version: 3, vmpl: 0, hostData: "73973b78d70cc68353426de188db5dfc57e5b766e399935fb73a61127ea26d20", reportedTcb: "db18000000000004" });
    expect(verdict.claims).toMatchObject({ "x-ms-attestation-type": "sevsnpvm", "x-ms-compliance-status": "azure-compliant-uvm", "x-ms-sevsnpvm-is-debuggable": false });
    const table = (await run("attestation", "verify", "evidence.json")).stdout;
    expect(table).toMatch(/^verdict: VERIFIED/);
    expect(table).toMatch(/host-data\s+not checked/);
    expect(table).toMatch(/measurement\s+d0c9e2be22046e60/);
  });

  it("names the failed check and what was not reached, with exit code 1", async () => {
    const wrongHost = await run("-o", "json", "attestation", "verify", "evidence.json", "--host-data", "7ec5120f0f497e22b18e59ed702ed82e2732562245c9a944f54cd41db4f491af");
    expect(wrongHost.code).toBe(1);
    const verdict = wrongHost.json<Verdict>();
    expect(verdict.ok).toBe(false);
    expect(verdict.checks.find((c) => c.check === "host-data")).toMatchObject({ result: "FAILED" });
    expect(verdict.checks.find((c) => c.check === "host-data")?.detail).toMatch(/^HostDataNotAllowed/);
    expect(verdict.checks.find((c) => c.check === "report-data")?.result).toBe("not reached");

    const evidence = JSON.parse(readFileSync(join(VECTOR, "evidence.json"), "utf8")) as { evidence: string };
    const report = Buffer.from(evidence.evidence, "base64");
    report[0x90] = (report[0x90] ?? 0) ^ 1; // a bit of MEASUREMENT: the signature check (before the UVM check) notices
    writeFileSync(join(work, "tampered.json"), JSON.stringify({ ...evidence, evidence: report.toString("base64") }));
    const tampered = (await run("-o", "json", "attestation", "verify", join(work, "tampered.json"))).json<Verdict>();
    expect(tampered.checks.find((c) => c.check === "signature")).toMatchObject({ result: "FAILED" });

    const policy = await run("-o", "json", "attestation", "verify", "evidence.json", "--policy", '{"x-ms-sevsnpvm-is-debuggable": [true]}');
    expect(policy.code).toBe(1);
    expect(policy.json<Verdict>().checks.at(-1)).toMatchObject({ check: "policy", result: "FAILED", detail: "mismatched: x-ms-sevsnpvm-is-debuggable" });
  });
});
