// `cleanroom-runtime start` as its own process beside a governance service process started with the virtual
// platform's root: the deployable pieces, wired by their command lines only.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { createVirtualPlatform, hostDataOfConfiguration } from "@cleanroom/attestation";
import { makeIdentity } from "../support/consortium.js";
import { repoRoot } from "../support/repo-root.js";
import { spawnGovernanceService, waitForExit, type ServiceProcess } from "../support/service-process.js";

const runtimeBin = join(repoRoot(), "packages", "runtime", "dist", "bin.js");
const work = mkdtempSync(join(tmpdir(), "cleanroom-runtime-bin-"));
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await Promise.all(children.map(waitForExit));
  rmSync(work, { recursive: true, force: true });
});

function startRuntime(args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [runtimeBin, "start", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, stderr: () => stderr };
}

async function waitForFile(file: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!existsSync(file)) {
    if (child.exitCode !== null) throw new Error(`cleanroom-runtime exited with ${child.exitCode}: ${stderr()}`);
    if (Date.now() > deadline) throw new Error(`cleanroom-runtime did not start: ${stderr()}`);
    await sleep(50);
  }
}

describe("cleanroom-runtime start", () => {
  let governance: ServiceProcess;

  it("attests on the virtual platform, warns, and forwards to the governance service", async () => {
    const platform = await createVirtualPlatform();
    writeFileSync(join(work, "platform.json"), JSON.stringify(platform));
    writeFileSync(join(work, "root.pem"), platform.rootCertificatePem);
    writeFileSync(join(work, "agent.json"), "agent configuration v1");
    const member = await makeIdentity("m0");
    mkdirSync(join(work, "gov"));
    governance = await spawnGovernanceService(join(work, "gov"), [member.certificatePem], 30_000, ["--insecure-virtual-attestation", "--virtual-platform-root", join(work, "root.pem")]);
    children.push(governance.child);
    expect(governance.stderr()).toMatch(/WARNING: --virtual-platform-root/);
    writeFileSync(join(work, "service.pem"), governance.serviceCertificatePem);
    const ready = join(work, "runtime-ready.json");
    const runtime = startRuntime([
      "--governance-url", governance.url,
      "--service-cert", join(work, "service.pem"),
      "--contract-id", "collab",
      "--platform", "virtual",
      "--virtual-platform", join(work, "platform.json"),
      "--measured-config", join(work, "agent.json"),
      "--ready-file", ready,
    ]);
    await waitForFile(ready, runtime.child, runtime.stderr);
    expect(runtime.stderr()).toMatch(/WARNING: virtual platform: this workload is NOT confidential/);
    const { url, attestationMode, hostData } = JSON.parse(readFileSync(ready, "utf8")) as { url: string; attestationMode: string; hostData: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect([attestationMode, hostData]).toEqual(["virtual-platform", hostDataOfConfiguration("agent configuration v1")]);
    // The contract does not exist, so it has no clean-room policy: the service verified the evidence and refused.
    const consent = await fetch(`${url}/consent/execution`, { method: "POST" });
    expect(consent.status).toBe(400);
    expect(((await consent.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "VerifySnpAttestationFailed", message: expect.stringMatching(/clean room policy is missing/) as unknown });
  });

  it("exits with a clear message when its platform is not configured", async () => {
    const runtime = startRuntime(["--governance-url", "https://127.0.0.1:1", "--service-cert", join(work, "service.pem"), "--contract-id", "c", "--platform", "virtual"]);
    expect(await waitForExit(runtime.child)).toBe(1);
    expect(runtime.stderr()).toMatch(/--platform virtual needs --virtual-platform/);
  });
});
