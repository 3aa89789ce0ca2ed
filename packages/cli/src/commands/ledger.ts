import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { formatRecord } from "../io.js";
import type { CommandContext } from "../context.js";
import type { Run } from "./types.js";

/** Accepts a service data directory (with identity/ and ledger/) or a ledger directory itself. */
function locate(ctx: CommandContext, dir: string, serviceCert?: string): { ledgerDir: string; serviceCertificatePem?: string } {
  const base = ctx.path(dir);
  const ledgerDir = existsSync(join(base, "ledger", "ledger.sqlite")) ? join(base, "ledger") : base;
  if (!existsSync(join(ledgerDir, "ledger.sqlite"))) throw new Error(`No ledger found in ${base} (expected ledger.sqlite or ledger/ledger.sqlite).`);
  const certPath = serviceCert ? ctx.path(serviceCert) : [join(base, "identity", "service_cert.pem"), join(base, "..", "identity", "service_cert.pem")].find(existsSync);
  return { ledgerDir, ...(certPath ? { serviceCertificatePem: readFileSync(certPath, "utf8") } : {}) };
}

export function registerLedgerCommands(program: Command, run: Run): void {
  const ledger = program.command("ledger").description("The governance ledger, offline.");
  run(
    ledger
      .command("verify <dir>")
      .description("Re-verify a whole ledger offline: order, content, Merkle roots, signatures, state tables. Exit code 1 on the first problem.")
      .option("--service-cert <file>", "service certificate the node certificates must be endorsed by (default: <dir>/identity/service_cert.pem)"),
    async (ctx, dir: string, options: { serviceCert?: string }) => {
      const { verifyLedger } = await import("@cleanroom/ledger");
      const { ledgerDir, serviceCertificatePem } = locate(ctx, dir, options.serviceCert);
      if (!serviceCertificatePem) ctx.printer.note("warning: no service certificate given; node endorsements are not checked");
      const report = verifyLedger(ledgerDir, serviceCertificatePem ? { serviceCertificatePem } : {});
      const summary = {
        ok: report.ok,
        transactions: report.transactions,
        signatures: report.signatures,
        lastTransaction: report.lastTxId ? `${report.lastTxId.view}.${report.lastTxId.seqno}` : "none",
        lastSignedSeqno: report.lastSignedSeqno,
        unsignedTail: report.unsignedTail,
        ...(report.problem ? { problem: `${report.problem.kind} at seqno ${report.problem.seqno}: ${report.problem.message}` } : {}),
      };
      ctx.printer.value(report, () => formatRecord(summary));
      if (!report.ok) ctx.exitCode = 1;
    },
  );
}
