#!/usr/bin/env node
// `cleanroom-runtime`: the runtime sidecar beside a confidential workload. It runs inside the workload's TEE (the
// same pod or container group) and listens on loopback only.
import { readFileSync, writeFileSync } from "node:fs";
import { Command, Option } from "commander";
import { loadVirtualPlatform } from "@cleanroom/attestation";
import { type AttestationSource, replayedEvidenceSource, skrSidecarSource, virtualPlatformSource } from "./attestation-sources.js";
import { GovernanceLink } from "./governance-link.js";
import { startRuntimeSidecar } from "./sidecar.js";
import { WorkloadKey } from "./workload-key.js";

interface StartOptions {
  governanceUrl: string;
  serviceCert: string;
  contractId: string;
  port: string;
  readyFile?: string;
  platform: "skr" | "virtual" | "replayed-test-vector";
  skrUrl: string;
  virtualPlatform?: string;
  measuredConfig?: string;
  evidence?: string;
  testKey?: string;
}

function required(value: string | undefined, flag: string, platform: string): string {
  if (value === undefined) throw new Error(`--platform ${platform} needs ${flag}.`);
  return value;
}

/** The attestation source and workload key for the chosen platform; development platforms warn loudly. */
function platformOf(options: StartOptions): { source: AttestationSource & { hostData?: string }; key: WorkloadKey } {
  switch (options.platform) {
    case "skr":
      return { source: skrSidecarSource(options.skrUrl), key: WorkloadKey.generate() };
    case "virtual": {
      process.stderr.write("WARNING: virtual platform: this workload is NOT confidential; its attestation comes from a development root of trust. Development only.\n");
      const platform = loadVirtualPlatform(JSON.parse(readFileSync(required(options.virtualPlatform, "--virtual-platform", "virtual"), "utf8")));
      return { source: virtualPlatformSource(platform, readFileSync(required(options.measuredConfig, "--measured-config", "virtual"))), key: WorkloadKey.generate() };
    }
    case "replayed-test-vector": {
      process.stderr.write("WARNING: replayed test vector: the workload key is PUBLISHED; anything released to this workload is readable by anyone. Development only.\n");
      const evidence = JSON.parse(readFileSync(required(options.evidence, "--evidence", "replayed-test-vector"), "utf8")) as Record<string, unknown>;
      return { source: replayedEvidenceSource(evidence), key: WorkloadKey.fromPem(readFileSync(required(options.testKey, "--test-key", "replayed-test-vector"), "utf8")) };
    }
  }
}

async function start(options: StartOptions): Promise<void> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Invalid --port ${options.port}.`);
  const { source, key } = platformOf(options);
  const link = new GovernanceLink({
    url: options.governanceUrl,
    serviceCertificatePem: readFileSync(options.serviceCert, "utf8"),
    contractId: options.contractId,
    key,
    source,
  });
  // Attest at start, so a misconfigured platform fails now rather than on the workload's first call.
  await link.evidence();
  const sidecar = await startRuntimeSidecar({ link, key, source, port });
  const ready = { url: sidecar.url, attestationMode: source.mode, ...(source.hostData ? { hostData: source.hostData } : {}) };
  if (options.readyFile) writeFileSync(options.readyFile, JSON.stringify(ready) + "\n");
  process.stdout.write(`runtime sidecar listening on ${sidecar.url} (${source.description})\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await sidecar.close();
}

const program = new Command("cleanroom-runtime").description("The Cleanroom runtime sidecar: a confidential workload's localhost API to governance.");
program
  .command("start")
  .description("Attest, then serve the workload's API on 127.0.0.1 until SIGINT/SIGTERM.")
  .requiredOption("--governance-url <url>", "the governance service (https://…)")
  .requiredOption("--service-cert <file>", "the governance service certificate to pin")
  .requiredOption("--contract-id <id>", "the contract this workload runs for")
  .option("--port <port>", "port on 127.0.0.1 (0 = any free port)", "0")
  .option("--ready-file <file>", "write {url, attestationMode, hostData?} as JSON here once listening")
  .addOption(new Option("--platform <platform>", "where the attestation comes from").choices(["skr", "virtual", "replayed-test-vector"]).default("skr"))
  .option("--skr-url <url>", "SKR sidecar of a Confidential ACI container group", "http://127.0.0.1:8284")
  .option("--virtual-platform <file>", "DEVELOPMENT ONLY: virtual platform file (cleanroom attestation virtual-platform init)")
  .option("--measured-config <file>", "DEVELOPMENT ONLY: the workload configuration whose SHA-256 is its host data on the virtual platform")
  .option("--evidence <file>", "DEVELOPMENT ONLY: the recorded evidence to replay")
  .option("--test-key <file>", "DEVELOPMENT ONLY: the published private key the recorded evidence is bound to")
  .action(start);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`cleanroom-runtime: ${(error as Error).message}\n`);
  process.exit(1);
});
