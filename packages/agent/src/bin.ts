#!/usr/bin/env node
// `cleanroom-agent`: the clean-room agent of one contract, in its TEE. It attests through the runtime (the same
// platforms as the runtime sidecar), reaches governance only through attested requests, and listens on loopback.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { addPlatformOptions, attestedLink, untilSignal, writeReadyFile, type GovernanceOptions } from "@cleanroom/runtime";
import { governancePortOf } from "./link-port.js";
import { startAgent } from "./service.js";

interface StartOptions extends GovernanceOptions {
  workDir: string;
  port: string;
  readyFile?: string;
  memoryLimit: string;
  threads?: string;
  maxConcurrentRuns: string;
}

function integer(value: string, flag: string, min: number, max: number): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new Error(`Invalid ${flag} ${value}.`);
  return parsed;
}

async function start(options: StartOptions): Promise<void> {
  const port = integer(options.port, "--port", 0, 65535);
  const { link, source } = await attestedLink(options);
  const agent = await startAgent({
    contractId: options.contractId,
    governance: governancePortOf(link),
    workDirectory: options.workDir,
    attestation: { mode: source.mode, hostData: source.hostData ?? "unknown" },
    governanceUrl: options.governanceUrl,
    memoryLimit: options.memoryLimit,
    ...(options.threads !== undefined ? { threads: integer(options.threads, "--threads", 1, 1024) } : {}),
    maxConcurrentRuns: integer(options.maxConcurrentRuns, "--max-concurrent-runs", 1, 64),
    port,
  });
  const certificate = join(options.workDir, "agent-cert.pem");
  writeFileSync(certificate, agent.certificatePem);
  const ready = { url: agent.url, certificate, attestationMode: source.mode, ...(source.hostData ? { hostData: source.hostData } : {}) };
  if (options.readyFile) writeReadyFile(options.readyFile, ready);
  process.stdout.write(`cleanroom agent for contract ${options.contractId} listening on ${agent.url} (${source.description})\n`);
  await untilSignal();
  await agent.close();
  link.close();
}

const program = new Command("cleanroom-agent").description("The Cleanroom agent: runs a contract's accepted queries on the embedded engine.");
const startCommand = program
  .command("start")
  .description("Attest, then serve the agent's API on 127.0.0.1 (HTTPS) until SIGINT/SIGTERM.")
  .requiredOption("--governance-url <url>", "the governance service (https://…)")
  .requiredOption("--service-cert <file>", "the governance service certificate to pin")
  .requiredOption("--contract-id <id>", "the contract whose queries this agent runs")
  .requiredOption("--work-dir <dir>", "private folder for run history and scratch space")
  .option("--port <port>", "port on 127.0.0.1 (0 = any free port)", "0")
  .option("--ready-file <file>", "write {url, certificate, attestationMode, hostData?} as JSON here once listening")
  .option("--memory-limit <size>", "the engine's memory limit per run; beyond it, it spills to disk", "4GB")
  .option("--threads <n>", "the engine's threads per run (default: one per core)")
  .option("--max-concurrent-runs <n>", "runs executed at once; more wait", "1")
  .action(start);
addPlatformOptions(startCommand);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`cleanroom-agent: ${(error as Error).message}\n`);
  process.exit(1);
});
