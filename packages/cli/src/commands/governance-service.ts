import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { MemberDataSchema } from "@cleanroom/protocol";
import { jsonArgument, type CommandContext } from "../context.js";
import type { Run } from "./types.js";

interface StartOptions {
  dataDir: string;
  host: string;
  port: string;
  initialMember: string[];
  initialMemberData: string[];
  constitution?: string;
  serviceCertOut?: string;
  readyFile?: string;
  insecureVirtualAttestation?: boolean;
  virtualPlatformRoot: string[];
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Waits for SIGINT or SIGTERM, then resolves. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

async function start(ctx: CommandContext, options: StartOptions): Promise<void> {
  if (options.initialMemberData.length > options.initialMember.length) {
    throw new Error("More --initial-member-data than --initial-member options.");
  }
  const initialMembers = options.initialMember.map((certFile, index) => {
    const raw = options.initialMemberData[index];
    const data = MemberDataSchema.parse(raw ? jsonArgument(ctx, raw, "--initial-member-data") : { identifier: `member${index}` });
    return { certificatePem: ctx.readFile(certFile), memberData: data };
  });
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Invalid --port ${options.port}.`);
  if (options.virtualPlatformRoot.length > 0 && !options.insecureVirtualAttestation) {
    throw new Error("--virtual-platform-root needs --insecure-virtual-attestation: a virtual platform is not a confidential computer.");
  }
  if (options.insecureVirtualAttestation) {
    // Loud on purpose: secrets released in this mode can be unwrapped by anyone holding the published test key.
    ctx.io.stderr(
      "WARNING: --insecure-virtual-attestation: attestations bound to PUBLISHED TEST KEYS are accepted. Secrets released to them are readable by anyone. Development only.\n",
    );
  }
  for (const root of options.virtualPlatformRoot) {
    ctx.io.stderr(
      `WARNING: --virtual-platform-root ${root}: reports signed by this DEVELOPMENT root of trust are accepted as if they came from AMD hardware. Whoever holds the platform file can obtain every secret released to it. Development only.\n`,
    );
  }
  const { startGovernanceService } = await import("@cleanroom/governance");
  const service = await startGovernanceService({
    dataDir: ctx.path(options.dataDir),
    host: options.host,
    port,
    initialMembers,
    ...(options.constitution ? { constitution: ctx.readFile(options.constitution) } : {}),
    ...(options.insecureVirtualAttestation ? { insecureVirtualAttestation: true } : {}),
    ...(options.virtualPlatformRoot.length > 0 ? { virtualPlatformRoots: options.virtualPlatformRoot.map((file) => ctx.readFile(file)) } : {}),
  });
  if (options.serviceCertOut) writeFileSync(ctx.path(options.serviceCertOut), service.serviceCertificatePem);
  const ready = { url: service.url, serviceCertificate: `${ctx.path(options.dataDir)}/identity/service_cert.pem` };
  if (options.readyFile) (await import("@cleanroom/runtime")).writeReadyFile(ctx.path(options.readyFile), ready);
  ctx.printer.value(ready, () => `governance service listening on ${service.url}\nservice certificate: ${ready.serviceCertificate}\n`);
  const signal = await untilSignal();
  ctx.printer.note(`${signal}: stopping`);
  await service.close();
}

export function registerGovernanceServiceCommands(governance: Command, run: Run): void {
  const service = governance.command("service").description("Run the governance service.");
  run(
    service
      .command("start")
      .description("Start the governance service in the foreground (Ctrl-C stops it). Creates identity and ledger on first start.")
      .requiredOption("--data-dir <dir>", "directory for the service identity and ledger")
      .option("--host <host>", "address to listen on", "127.0.0.1")
      .option("--port <port>", "port (0 = any free port)", "0")
      .option("--initial-member <cert>", "certificate of an initial member (repeatable; first start only)", collect, [])
      .option("--initial-member-data <json>", "member_data for the initial member at the same position (JSON or @file)", collect, [])
      .option("--constitution <file>", "constitution for a new service (default: Cleanroom's)")
      .option("--service-cert-out <file>", "also write the service certificate here")
      .option("--ready-file <file>", "write {url, serviceCertificate} as JSON here once listening")
      .option("--insecure-virtual-attestation", "DEVELOPMENT ONLY: accept attestations bound to published test keys (releases are marked)")
      .option(
        "--virtual-platform-root <cert>",
        "DEVELOPMENT ONLY, needs --insecure-virtual-attestation: also accept reports of the virtual platform with this root certificate (repeatable)",
        collect,
        [],
      ),
    start,
  );
}
