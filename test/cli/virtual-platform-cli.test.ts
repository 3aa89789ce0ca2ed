// `cleanroom attestation virtual-platform init|attest`, `attestation host-data` and `verify --virtual-root`: the
// development platform from the command line, with its warnings.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hostDataOfConfiguration } from "@cleanroom/attestation";
import { cli } from "../support/cli.js";

const work = mkdtempSync(join(tmpdir(), "cleanroom-virtual-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (...args: string[]) => cli(args, { home: work, cwd: work });

const CONFIG = '{"workload":"agent","image":"sha256:1234"}\n';
writeFileSync(join(work, "agent.json"), CONFIG);
writeFileSync(join(work, "key.pem"), generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }));

interface Verdict {
  ok: boolean;
  rootOfTrust?: string;
  checks: Array<{ check: string; result: string; detail?: string }>;
}

describe("virtual platform CLI", () => {
  it("creates a platform file readable only by its owner, warns, and refuses to overwrite it", async () => {
    const created = await run("-o", "json", "attestation", "virtual-platform", "init", "platform.json", "--root-out", "root.pem");
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/WARNING: the virtual platform is NOT a confidential computer/);
    expect(created.json()).toMatchObject({ platform: join(work, "platform.json"), rootCertificate: join(work, "root.pem") });
    expect(statSync(join(work, "platform.json")).mode & 0o777).toBe(0o600);
    const again = await run("attestation", "virtual-platform", "init", "platform.json");
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/exists; pass --force/);
  });

  it("computes a workload's host data from its measured configuration", async () => {
    const result = await run("attestation", "host-data", "--config", "agent.json");
    expect(result.stdout.trim()).toBe(hostDataOfConfiguration(CONFIG));
    expect((await run("attestation", "host-data")).code).not.toBe(0);
  });

  it("attests a workload, and verify accepts the evidence only with the virtual root, saying so", async () => {
    const attested = await run("attestation", "virtual-platform", "attest", "platform.json", "--config", "agent.json", "--runtime-data", "key.pem", "--out", "evidence.json");
    expect(attested.code, attested.stderr).toBe(0);
    const hostData = hostDataOfConfiguration(CONFIG);
    const trusted = await run("-o", "json", "attestation", "verify", "evidence.json", "--virtual-root", "root.pem", "--runtime-data", "key.pem", "--host-data", hostData);
    expect(trusted.code, trusted.stdout).toBe(0);
    expect(trusted.stderr).toMatch(/WARNING: --virtual-root/);
    expect(trusted.json<Verdict>()).toMatchObject({ ok: true, rootOfTrust: "virtual" });
    const table = await run("attestation", "verify", "evidence.json", "--virtual-root", "root.pem");
    expect(table.stdout).toMatch(/^verdict: VERIFIED by a VIRTUAL PLATFORM/);
    const untrusted = await run("-o", "json", "attestation", "verify", "evidence.json");
    expect(untrusted.code).toBe(1);
    expect(untrusted.json<Verdict>().checks.find((c) => c.check === "amd-chain")?.detail).toMatch(/^ArkNotPinned/);
  });

  it("will not start a governance service trusting a virtual root without the insecure flag", async () => {
    const result = await run("governance", "service", "start", "--data-dir", join(work, "gov"), "--virtual-platform-root", "root.pem");
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/--virtual-platform-root needs --insecure-virtual-attestation/);
  });
});
