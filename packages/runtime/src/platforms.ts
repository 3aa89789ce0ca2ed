import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { loadVirtualPlatform } from "@cleanroom/attestation";
import { type AttestationSource, replayedEvidenceSource, skrSidecarSource, virtualPlatformSource } from "./attestation-sources.js";
import { GovernanceLink } from "./governance-link.js";
import { WorkloadKey } from "./workload-key.js";

/** The platform options every confidential workload's command line takes (the runtime sidecar, the agent). */
export interface PlatformOptions {
  platform: "skr" | "virtual" | "replayed-test-vector";
  skrUrl: string;
  virtualPlatform?: string;
  measuredConfig?: string;
  evidence?: string;
  testKey?: string;
}

/** Adds the `--platform` option family to a command. */
export function addPlatformOptions(command: Command): Command {
  return command
    .addOption(new Option("--platform <platform>", "where the attestation comes from").choices(["skr", "virtual", "replayed-test-vector"]).default("skr"))
    .option("--skr-url <url>", "SKR sidecar of a Confidential ACI container group", "http://127.0.0.1:8284")
    .option("--virtual-platform <file>", "DEVELOPMENT ONLY: virtual platform file (cleanroom attestation virtual-platform init)")
    .option("--measured-config <file>", "DEVELOPMENT ONLY: the workload configuration whose SHA-256 is its host data on the virtual platform")
    .option("--evidence <file>", "DEVELOPMENT ONLY: the recorded evidence to replay")
    .option("--test-key <file>", "DEVELOPMENT ONLY: the published private key the recorded evidence is bound to");
}

function required(value: string | undefined, flag: string, platform: string): string {
  if (value === undefined) throw new Error(`--platform ${platform} needs ${flag}.`);
  return value;
}

/** The attestation source and workload key for the chosen platform; development platforms warn loudly on stderr. */
export function attestationPlatform(options: PlatformOptions): { source: AttestationSource & { hostData?: string }; key: WorkloadKey } {
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

/** What a workload's command line gives to reach governance: the service, its pinned certificate, the contract. */
export interface GovernanceOptions extends PlatformOptions {
  governanceUrl: string;
  serviceCert: string;
  contractId: string;
}

/**
 * The workload's attested link to governance, attested at once: a misconfigured platform fails at start rather
 * than on the workload's first call.
 */
export async function attestedLink(options: GovernanceOptions): Promise<{ link: GovernanceLink; key: WorkloadKey; source: AttestationSource & { hostData?: string } }> {
  const { source, key } = attestationPlatform(options);
  const link = new GovernanceLink({
    url: options.governanceUrl,
    serviceCertificatePem: readFileSync(options.serviceCert, "utf8"),
    contractId: options.contractId,
    key,
    source,
  });
  await link.evidence();
  return { link, key, source };
}

/** Resolves on the first SIGINT or SIGTERM: how a foreground workload waits until it is told to stop. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
