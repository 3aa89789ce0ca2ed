import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { formatRecord } from "../io.js";
import type { Run } from "./types.js";

export function registerReceiptCommands(program: Command, run: Run): void {
  const receipt = program.command("receipt").description("Transaction receipts (CCF format).");

  run(
    receipt
      .command("get")
      .description("Fetch the receipt of a transaction.")
      .requiredOption("--transaction-id <id>", "transaction id <view>.<seqno>")
      .option("--out <file>", "write the receipt JSON here"),
    async (ctx, options: { transactionId: string; out?: string }) => {
      const value = await (await ctx.client()).receipt(options.transactionId);
      if (options.out) {
        writeFileSync(ctx.path(options.out), JSON.stringify(value, null, 2) + "\n");
        ctx.printer.note(`receipt for ${options.transactionId} written to ${options.out}`);
      } else {
        ctx.printer.value(value);
      }
    },
  );

  run(
    receipt
      .command("verify")
      .description("Verify a receipt offline against the service certificate. Exit code 1 if it does not verify.")
      .requiredOption("--receipt <file>", "receipt JSON")
      .requiredOption("--service-cert <file>", "the service certificate (PEM)"),
    async (ctx, options: { receipt: string; serviceCert: string }) => {
      const { verifyReceipt } = await import("@cleanroom/ledger");
      let receiptJson: unknown;
      try {
        receiptJson = JSON.parse(ctx.readFile(options.receipt));
      } catch {
        throw new Error(`${options.receipt} is not JSON.`);
      }
      try {
        const verified = verifyReceipt(receiptJson, ctx.readFile(options.serviceCert));
        const result = {
          ok: true,
          transactionId: verified.txId ? `${verified.txId.view}.${verified.txId.seqno}` : "signature transaction",
          root: verified.root,
          nodeId: verified.nodeId,
        };
        ctx.printer.value(result, () => formatRecord(result));
      } catch (error) {
        const result = { ok: false, error: (error as Error).message };
        ctx.printer.value(result, () => formatRecord(result));
        ctx.exitCode = 1;
      }
    },
  );
}
