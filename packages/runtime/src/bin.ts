#!/usr/bin/env node
// `cleanroom-runtime`: the runtime sidecar beside a confidential workload. It runs inside the workload's TEE (the
// same pod or container group) and listens on loopback only.
import { Command } from "commander";
import { addPlatformOptions, attestedLink, untilSignal, type GovernanceOptions } from "./platforms.js";
import { writeReadyFile } from "./ready-file.js";
import { startRuntimeSidecar } from "./sidecar.js";

interface StartOptions extends GovernanceOptions {
  port: string;
  readyFile?: string;
}

async function start(options: StartOptions): Promise<void> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Invalid --port ${options.port}.`);
  const { link, key, source } = await attestedLink(options);
  const sidecar = await startRuntimeSidecar({ link, key, source, port });
  const ready = { url: sidecar.url, attestationMode: source.mode, ...(source.hostData ? { hostData: source.hostData } : {}) };
  if (options.readyFile) writeReadyFile(options.readyFile, ready);
  process.stdout.write(`runtime sidecar listening on ${sidecar.url} (${source.description})\n`);
  await untilSignal();
  await sidecar.close();
}

const program = new Command("cleanroom-runtime").description("The Cleanroom runtime sidecar: a confidential workload's localhost API to governance.");
const startCommand = program
  .command("start")
  .description("Attest, then serve the workload's API on 127.0.0.1 until SIGINT/SIGTERM.")
  .requiredOption("--governance-url <url>", "the governance service (https://…)")
  .requiredOption("--service-cert <file>", "the governance service certificate to pin")
  .requiredOption("--contract-id <id>", "the contract this workload runs for")
  .option("--port <port>", "port on 127.0.0.1 (0 = any free port)", "0")
  .option("--ready-file <file>", "write {url, attestationMode, hostData?} as JSON here once listening")
  .action(start);
addPlatformOptions(startCommand);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`cleanroom-runtime: ${(error as Error).message}\n`);
  process.exit(1);
});
