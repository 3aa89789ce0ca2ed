import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { z } from "zod";

// `cleanroom up`: everything a collaboration needs on one machine, with no cloud account — the governance service,
// the agent of one contract with the embedded engine, and the virtual attestation platform both trust. Each runs as
// its own background process (as they would in their own TEEs), logging to the stack folder.

/** The agent's measured configuration: its host data on the virtual platform is SHA-256 of exactly this text. */
export function agentConfiguration(contractId: string): string {
  return JSON.stringify({ workload: "cleanroom-agent", engine: "duckdb", contractId, version: "0.1.0" });
}

export const StackFileSchema = z.strictObject({
  contractId: z.string(),
  governance: z.strictObject({ url: z.string(), serviceCertificate: z.string(), pid: z.number().int() }),
  agent: z.strictObject({ url: z.string(), certificate: z.string(), pid: z.number().int(), hostData: z.string() }),
  virtualPlatform: z.string(),
  operator: z.strictObject({ certificate: z.string(), privateKey: z.string() }),
});
export type StackFile = z.infer<typeof StackFileSchema>;

export function stackFilePath(directory: string): string {
  return join(directory, "stack.json");
}

export function readStack(directory: string): StackFile | undefined {
  const file = stackFilePath(directory);
  if (!existsSync(file)) return undefined;
  return StackFileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The package folder of a workspace module (the one holding its package.json), from its resolved entry point. */
function packageRoot(entry: string): string {
  let folder = dirname(entry);
  while (!existsSync(join(folder, "package.json"))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`No package.json above ${entry}.`);
    folder = parent;
  }
  return folder;
}

/** The built entry points the stack runs (from source in tests too: processes need the compiled JavaScript). */
function binaries(): { cli: string; agent: string } {
  const cli = join(packageRoot(fileURLToPath(import.meta.url)), "dist", "bin.js");
  const agent = join(packageRoot(fileURLToPath(import.meta.resolve("@cleanroom/agent"))), "dist", "bin.js");
  for (const file of [cli, agent]) if (!existsSync(file)) throw new Error(`${file} is missing: build first (npm run build).`);
  return { cli, agent };
}

/** Starts a detached process logging to `log`, and waits for it to write its ready file. */
async function startProcess(args: string[], log: string, ready: string, what: string, timeoutMs = 60_000): Promise<{ pid: number; ready: unknown }> {
  rmSync(ready, { force: true });
  const output = openSync(log, "a");
  const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", output, output] });
  closeSync(output);
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(ready)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGTERM");
      const tail = existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-15).join("\n") : "";
      throw new Error(`The ${what} did not start (see ${log}):\n${tail}`);
    }
    await sleep(100);
  }
  // Complete once it exists: services write their ready file aside and rename it into place.
  return { pid: child.pid!, ready: JSON.parse(readFileSync(ready, "utf8")) as unknown };
}

export interface UpOptions {
  directory: string;
  contractId: string;
  operator: { certificate: string; privateKey: string };
  /** The engine's memory limit per run. */
  memoryLimit?: string;
  /** The engine's threads per run (default: one per core). */
  threads?: number;
  governancePort?: number;
  agentPort?: number;
}

/**
 * Starts the stack in `directory`: creates the virtual platform on first use, starts the governance service (the
 * operator as its first member; virtual attestations accepted, loudly) and the agent for `contractId`, and records
 * both in `stack.json`. The ledger and run history persist across `down`/`up`.
 */
export async function stackUp(options: UpOptions): Promise<StackFile> {
  const { directory } = options;
  const existing = readStack(directory);
  if (existing && isRunning(existing.governance.pid) && isRunning(existing.agent.pid)) return existing;
  if (existing) await stackDown(directory);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const { cli, agent } = binaries();
  const platformFile = join(directory, "virtual-platform.json");
  const rootFile = join(directory, "virtual-platform-root.pem");
  if (!existsSync(platformFile)) {
    const { createVirtualPlatform } = await import("@cleanroom/attestation");
    const platform = await createVirtualPlatform();
    writeFileSync(platformFile, JSON.stringify(platform.toJSON(), null, 2) + "\n", { mode: 0o600 });
    writeFileSync(rootFile, platform.rootCertificatePem);
  }
  const governanceDir = join(directory, "governance");
  const governance = await startProcess(
    [
      cli,
      "governance",
      "service",
      "start",
      "--data-dir",
      governanceDir,
      "--port",
      String(options.governancePort ?? 0),
      "--ready-file",
      join(directory, "governance.ready.json"),
      "--initial-member",
      resolve(options.operator.certificate),
      "--initial-member-data",
      JSON.stringify({ identifier: "operator" }),
      "--insecure-virtual-attestation",
      "--virtual-platform-root",
      rootFile,
    ],
    join(directory, "governance.log"),
    join(directory, "governance.ready.json"),
    "governance service",
  );
  const governanceReady = governance.ready as { url: string; serviceCertificate: string };
  const configFile = join(directory, "agent-config.json");
  writeFileSync(configFile, agentConfiguration(options.contractId));
  try {
    const started = await startProcess(
      [
        agent,
        "start",
        "--governance-url",
        governanceReady.url,
        "--service-cert",
        governanceReady.serviceCertificate,
        "--contract-id",
        options.contractId,
        "--work-dir",
        join(directory, "agent"),
        "--port",
        String(options.agentPort ?? 0),
        "--memory-limit",
        options.memoryLimit ?? "4GB",
        ...(options.threads !== undefined ? ["--threads", String(options.threads)] : []),
        "--ready-file",
        join(directory, "agent.ready.json"),
        "--platform",
        "virtual",
        "--virtual-platform",
        platformFile,
        "--measured-config",
        configFile,
      ],
      join(directory, "agent.log"),
      join(directory, "agent.ready.json"),
      "agent",
    );
    const agentReady = started.ready as { url: string; certificate: string; hostData: string };
    const stack: StackFile = {
      contractId: options.contractId,
      governance: { url: governanceReady.url, serviceCertificate: governanceReady.serviceCertificate, pid: governance.pid },
      agent: { url: agentReady.url, certificate: agentReady.certificate, pid: started.pid, hostData: agentReady.hostData },
      virtualPlatform: platformFile,
      operator: options.operator,
    };
    writeFileSync(stackFilePath(directory), JSON.stringify(stack, null, 2) + "\n", { mode: 0o600 });
    return stack;
  } catch (error) {
    process.kill(governance.pid, "SIGTERM");
    throw error;
  }
}

async function stopProcess(pid: number): Promise<void> {
  if (!isRunning(pid)) return;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 100 && isRunning(pid); i++) await sleep(100);
  if (isRunning(pid)) process.kill(pid, "SIGKILL");
}

/** Stops the stack's processes (agent first, so no run outlives governance) and forgets them; data stays. */
export async function stackDown(directory: string): Promise<StackFile | undefined> {
  const stack = readStack(directory);
  if (!stack) return undefined;
  await stopProcess(stack.agent.pid);
  await stopProcess(stack.governance.pid);
  rmSync(stackFilePath(directory), { force: true });
  return stack;
}
