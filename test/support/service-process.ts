import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "./repo-root.js";

/** The built CLI; `npm test` builds before running tests. */
export const cliBin = join(repoRoot(), "packages", "cli", "dist", "bin.js");

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  serviceCertificatePem: string;
  /** stderr collected so far, for failure messages. */
  stderr(): string;
}

/**
 * Starts `cleanroom governance service start` as a separate process (so it can be SIGKILLed) and waits until it is
 * listening. Initial members only matter on the first start of a data directory.
 */
export async function spawnGovernanceService(
  dataDir: string,
  initialMemberCerts: string[],
  timeoutMs = 30_000,
  extraArgs: readonly string[] = [],
): Promise<ServiceProcess> {
  if (!existsSync(cliBin)) throw new Error(`${cliBin} is missing: build first (npm test does).`);
  const ready = join(dataDir, `ready-${Date.now()}.json`);
  const args = ["governance", "service", "start", "--data-dir", dataDir, "--port", "0", "--ready-file", ready, ...extraArgs];
  initialMemberCerts.forEach((cert, i) => {
    const file = join(dataDir, `initial-member-${i}.pem`);
    writeFileSync(file, cert);
    args.push("--initial-member", file, "--initial-member-data", JSON.stringify({ identifier: `member${i}` }));
  });
  // Extra Node options for the service only, e.g. CLEANROOM_SERVICE_NODE_ARGS="--cpu-prof" to profile it.
  const nodeArgs = (process.env.CLEANROOM_SERVICE_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, cliBin, "--output", "json", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(ready)) {
    if (child.exitCode !== null) throw new Error(`governance service exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`governance service did not start within ${timeoutMs} ms: ${stderr}`);
    }
    await sleep(50);
  }
  const { url, serviceCertificate } = JSON.parse(readFileSync(ready, "utf8")) as { url: string; serviceCertificate: string };
  rmSync(ready);
  return { child, url, serviceCertificatePem: readFileSync(serviceCertificate, "utf8"), stderr: () => stderr };
}

export function waitForExit(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}
