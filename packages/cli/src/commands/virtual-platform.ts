import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { hostDataFromCcePolicy, hostDataOfConfiguration } from "@cleanroom/attestation";
import type { CommandContext } from "../context.js";
import type { Run } from "./types.js";

const VIRTUAL_WARNING =
  "WARNING: the virtual platform is NOT a confidential computer. Its root of trust is a key on this machine: whoever holds the platform file can sign any report and obtain every secret released to it. Development only.\n";

interface InitOptions {
  rootOut?: string;
  force?: boolean;
}

async function init(ctx: CommandContext, file: string, options: InitOptions): Promise<void> {
  const target = ctx.path(file);
  if (existsSync(target) && !options.force) throw new Error(`${file} exists; pass --force to replace the platform (workloads attested by the old one will no longer verify).`);
  const { createVirtualPlatform } = await import("@cleanroom/attestation");
  const platform = await createVirtualPlatform();
  // The file holds the VCEK private key.
  writeFileSync(target, JSON.stringify(platform.toJSON(), null, 2) + "\n", { mode: 0o600 });
  if (options.rootOut) writeFileSync(ctx.path(options.rootOut), platform.rootCertificatePem);
  ctx.io.stderr(VIRTUAL_WARNING);
  const result = { platform: target, rootSpkiSha256: platform.rootSpkiSha256, ...(options.rootOut ? { rootCertificate: ctx.path(options.rootOut) } : {}) };
  ctx.printer.value(result, () =>
    `virtual platform written to ${result.platform}\nroot of trust (ARK SPKI SHA-256): ${result.rootSpkiSha256}\n` +
    (result.rootCertificate ? `root certificate: ${result.rootCertificate} (give it to the governance service with --virtual-platform-root)\n` : ""),
  );
}

interface HostDataOptions {
  config?: string;
  ccePolicy?: string;
}

/** Host data from exactly one of a measured configuration (virtual platform) or a CCE policy (Confidential ACI). */
function hostDataFrom(ctx: CommandContext, options: HostDataOptions): string {
  if ((options.config === undefined) === (options.ccePolicy === undefined)) throw new Error("Give exactly one of --config or --cce-policy.");
  return options.config !== undefined ? hostDataOfConfiguration(readFileSync(ctx.path(options.config))) : hostDataFromCcePolicy(ctx.readFile(options.ccePolicy!).trim());
}

interface AttestOptions {
  config?: string;
  hostData?: string;
  runtimeData: string;
  out?: string;
}

async function attest(ctx: CommandContext, file: string, options: AttestOptions): Promise<void> {
  const { loadVirtualPlatform } = await import("@cleanroom/attestation");
  const platform = loadVirtualPlatform(JSON.parse(ctx.readFile(file)));
  if ((options.config === undefined) === (options.hostData === undefined)) throw new Error("Give exactly one of --config or --host-data.");
  const hostData = options.hostData ?? hostDataFrom(ctx, { config: options.config! });
  const evidence = platform.attest({ hostData, runtimeData: readFileSync(ctx.path(options.runtimeData)) });
  ctx.io.stderr(VIRTUAL_WARNING);
  if (options.out) writeFileSync(ctx.path(options.out), JSON.stringify(evidence) + "\n");
  ctx.printer.value(evidence, () => (options.out ? `evidence written to ${ctx.path(options.out)}\n` : JSON.stringify(evidence) + "\n"));
}

/** `cleanroom attestation host-data` and `cleanroom attestation virtual-platform init|attest`. */
export function registerVirtualPlatformCommands(attestation: Command, run: Run): void {
  run(
    attestation
      .command("host-data")
      .description("Print the host data a workload attests with: SHA-256 of its measured configuration (virtual platform) or of its decoded CCE policy (Confidential ACI).")
      .option("--config <file>", "the workload's measured configuration (virtual platform)")
      .option("--cce-policy <file>", "the workload's base64 CCE policy (Confidential ACI)"),
    (ctx, options: HostDataOptions) => {
      const hostData = hostDataFrom(ctx, options);
      ctx.printer.value({ hostData }, () => `${hostData}\n`);
    },
  );
  const virtual = attestation
    .command("virtual-platform")
    .description("DEVELOPMENT ONLY: a virtual SEV-SNP platform whose reports have the genuine layout but a local root of trust.");
  run(
    virtual
      .command("init")
      .description("Create a virtual platform (ARK → ASK → VCEK chain and chip id) and save it, with its signing key, to <file> (mode 0600).")
      .argument("<file>", "platform file to write")
      .option("--root-out <file>", "also write the root certificate, for the governance service's --virtual-platform-root")
      .option("--force", "replace an existing platform file"),
    (ctx, file: string, options: InitOptions) => init(ctx, file, options),
  );
  run(
    virtual
      .command("attest")
      .description("Produce evidence ({evidence, endorsements}) for a workload on the virtual platform.")
      .argument("<file>", "platform file written by init")
      .requiredOption("--runtime-data <file>", "the data to bind into REPORT_DATA (the workload's public key PEM)")
      .option("--config <file>", "the workload's measured configuration; host data = its SHA-256")
      .option("--host-data <hex>", "the host data itself (64 hex digits)")
      .option("--out <file>", "write the evidence here instead of printing it"),
    (ctx, file: string, options: AttestOptions) => attest(ctx, file, options),
  );
}
