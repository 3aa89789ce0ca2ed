import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { createSelfSignedCertificate, generateP384KeyPair, parseCertificate } from "@cleanroom/crypto";
import { GovernanceClient } from "@cleanroom/governance-client";
import { formatRecord } from "../io.js";
import { cleanroomHome } from "../profiles.js";
import type { CommandContext } from "../context.js";
import { stackDown, stackUp, type StackFile } from "../stack/local-stack.js";
import type { Run } from "./types.js";

export const OPERATOR_PROFILE = "operator";

/** Where `up` keeps the stack: `--dir`, else `$CLEANROOM_HOME/stack`. */
export function stackDirectory(ctx: CommandContext, dir: string | undefined): string {
  return dir ? ctx.path(dir) : join(cleanroomHome(ctx.io.env), "stack");
}

/** The operator's member identity, created on first use: the stack's first member, who admits the others. */
export async function operatorIdentity(directory: string): Promise<{ certificate: string; privateKey: string }> {
  const certificate = join(directory, "operator_cert.pem");
  const privateKey = join(directory, "operator_privk.pem");
  if (!existsSync(certificate) || !existsSync(privateKey)) {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const keys = generateP384KeyPair();
    writeFileSync(privateKey, keys.privateKeyPem, { mode: 0o600 });
    writeFileSync(certificate, await createSelfSignedCertificate(keys, { commonName: "operator" }));
  }
  return { certificate, privateKey };
}

/** Saves the operator's profile for the stack and activates the operator if it is not active yet. */
async function connectOperator(ctx: CommandContext, stack: StackFile): Promise<void> {
  ctx.store.save(
    OPERATOR_PROFILE,
    {
      serviceUrl: stack.governance.url,
      serviceCertificate: stack.governance.serviceCertificate,
      certificate: stack.operator.certificate,
      privateKey: stack.operator.privateKey,
      agentUrl: stack.agent.url,
      agentCertificate: stack.agent.certificate,
    },
    ctx.store.read().current === undefined,
  );
  const client = new GovernanceClient({
    url: stack.governance.url,
    serviceCertificatePem: readFileSync(stack.governance.serviceCertificate, "utf8"),
    certificatePem: readFileSync(stack.operator.certificate, "utf8"),
    privateKeyPem: readFileSync(stack.operator.privateKey, "utf8"),
  });
  try {
    const id = parseCertificate(readFileSync(stack.operator.certificate, "utf8")).id;
    const member = await client.member(id);
    if (member.status !== "Active") await client.activate(id);
  } finally {
    client.close();
  }
}

function describe(stack: StackFile): Record<string, unknown> {
  return {
    contract: stack.contractId,
    governance: stack.governance.url,
    agent: stack.agent.url,
    agentHostData: stack.agent.hostData,
    attestation: "virtual platform (development only)",
  };
}

export function registerStackCommands(program: Command, run: Run): void {
  run(
    program
      .command("up")
      .description(
        "Start a local clean room with no cloud account: the governance service, the agent of one contract with the embedded engine, and the virtual attestation platform (development only). Creates the operator member and its profile on first use.",
      )
      .option("--dir <dir>", "where the stack keeps its ledger, run history and logs (default: $CLEANROOM_HOME/stack)")
      .option("--contract-id <id>", "the contract the agent runs queries for", "collab")
      .option("--memory-limit <size>", "the engine's memory limit per run; beyond it, it spills to disk", "4GB"),
    async (ctx: CommandContext, options: { dir?: string; contractId: string; memoryLimit: string }) => {
      const directory = stackDirectory(ctx, options.dir);
      ctx.io.stderr("WARNING: `cleanroom up` runs on the virtual attestation platform: nothing is confidential. Development only.\n");
      const stack = await stackUp({ directory, contractId: options.contractId, operator: await operatorIdentity(directory), memoryLimit: options.memoryLimit });
      await connectOperator(ctx, stack);
      const summary = describe(stack);
      ctx.printer.value(summary, () => `${formatRecord(summary)}profile '${OPERATOR_PROFILE}' is the operator; next: cleanroom demo\n`);
    },
  );
  run(
    program
      .command("down")
      .description("Stop the local clean room started by `cleanroom up`; its ledger and run history stay for the next `up`.")
      .option("--dir <dir>", "the stack's folder (default: $CLEANROOM_HOME/stack)"),
    async (ctx: CommandContext, options: { dir?: string }) => {
      const stopped = await stackDown(stackDirectory(ctx, options.dir));
      ctx.printer.value({ stopped: stopped !== undefined }, () => (stopped ? "stopped the governance service and the agent\n" : "nothing was running\n"));
    },
  );
}

export function registerDemoCommand(program: Command, run: Run): void {
  run(
    program
      .command("demo")
      .description(
        "Drive a complete two-party collaboration on a fresh local stack (`cleanroom up`): members, a contract, encrypted datasets, a sink, a query with a minimum-group-size guard, approvals, a run, the decrypted result, a consent revocation and the audit timeline. Every step is a real cleanroom command, printed before it runs.",
      )
      .option("--dir <dir>", "the demo's folder, wiped first (default: $CLEANROOM_HOME/demo)")
      .option("--rows <n>", "rows per dataset", "1000000")
      .option("--memory-limit <size>", "the engine's memory limit per run", "4GB")
      .option("--keep-running", "leave the stack running afterwards (stop it with cleanroom down --dir <dir>/stack)"),
    async (ctx: CommandContext, options: { dir?: string; rows: string; memoryLimit: string; keepRunning?: boolean }) => {
      const rows = Number(options.rows);
      if (!Number.isSafeInteger(rows) || rows < 1000) throw new Error(`--rows must be an integer of at least 1000, got ${options.rows}.`);
      const { runDemo } = await import("../demo/run-demo.js");
      const { runCli } = await import("../run-cli.js");
      const directory = options.dir ? ctx.path(options.dir) : join(cleanroomHome(ctx.io.env), "demo");
      ctx.io.stderr("WARNING: the demo runs on the virtual attestation platform: nothing is confidential. Development only.\n");
      ctx.exitCode = await runDemo({ directory, rows, keepRunning: options.keepRunning ?? false, memoryLimit: options.memoryLimit }, ctx.io, runCli, operatorIdentity);
    },
  );
}
