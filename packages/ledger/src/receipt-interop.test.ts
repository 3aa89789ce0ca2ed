// Interoperability: receipts must verify with CCF's own Python verifier (the `ccf` PyPI package, installed into
// .cache/python by `node scripts/setup.mjs`).
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openLedger } from "./ledger.js";
import { createTestIdentity, removeTempDirs, tempDir, utf8, type TestIdentity } from "./test-support.case.js";
import type { Receipt, TxReceipt } from "./types.js";

const here = dirname(fileURLToPath(import.meta.url));
const python = resolve(here, "../../../.cache/python/bin/python");
const script = join(here, "testdata", "verify_receipts.py");

let identity: TestIdentity;
let receipts: Receipt[];

beforeAll(async () => {
  identity = await createTestIdentity();
  const ledger = openLedger({ dir: tempDir(), signer: identity.signer, signatureEveryTx: 6, signatureIntervalMs: 60_000 });
  const claims = new Uint8Array(32).fill(0xab);
  for (let i = 0; i < 13; i++) {
    ledger.transact((tx) => {
      tx.set("public:m", `k${i}`, utf8(`value ${i}`));
      if (i === 4) tx.setClaimsDigest(claims);
    });
  } // signatures at 7 and 14
  receipts = await Promise.all([
    ledger.receipt({ view: 2, seqno: 1 }), // first leaf
    ledger.receipt({ view: 2, seqno: 5 }), // with a claims digest
    ledger.receipt({ view: 2, seqno: 6 }), // last leaf before a signature
    ledger.receipt({ view: 2, seqno: 7 }), // a signature transaction
    ledger.receipt({ view: 2, seqno: 8 }), // proven by the second signature, with an odd-sized tree
    ledger.receipt({ view: 2, seqno: 14 }), // another signature transaction
  ]);
  await ledger.close();
});

afterAll(removeTempDirs);

function runCcfVerifier(toVerify: Receipt[]): { status: number | null; output: string } {
  if (!existsSync(python)) {
    throw new Error(`No Python interop environment at ${python}: run \`node scripts/setup.mjs\` once.`);
  }
  const dir = tempDir();
  const serviceCertificate = join(dir, "service_cert.pem");
  writeFileSync(serviceCertificate, identity.serviceCertificatePem);
  const files = toVerify.map((receipt, i) => {
    const file = join(dir, `receipt-${i}.json`);
    writeFileSync(file, JSON.stringify(receipt, null, 2));
    return file;
  });
  const result = spawnSync(python, [script, serviceCertificate, ...files], { encoding: "utf8", timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("CCF's python verifier (ccf.receipt)", () => {
  it("verifies receipts of ordinary and signature transactions", () => {
    expect(receipts.filter((r) => r.is_signature_transaction)).toHaveLength(2);
    const { status, output } = runCcfVerifier(receipts);
    expect(output).not.toMatch(/FAIL/);
    expect(output.match(/^OK /gm)).toHaveLength(receipts.length);
    expect(status).toBe(0);
  });

  it("rejects a tampered receipt", () => {
    const tampered = JSON.parse(JSON.stringify(receipts[1])) as TxReceipt;
    const digest = tampered.leaf_components.write_set_digest;
    tampered.leaf_components.write_set_digest = (digest[0] === "0" ? "1" : "0") + digest.slice(1);
    const { status, output } = runCcfVerifier([receipts[0]!, tampered]);
    expect(output).toMatch(/receipt-1\.json: InvalidSignature/);
    expect(status).toBe(1);
  });

  it("rejects a receipt whose node the service did not endorse", async () => {
    const stranger = await createTestIdentity();
    const ledger = openLedger({ dir: tempDir(), signer: stranger.signer, signatureIntervalMs: 60_000 });
    const { txId } = ledger.transact((tx) => tx.set("public:m", "a", utf8("1")));
    const foreign = await ledger.receipt(txId!);
    await ledger.close();
    const { status, output } = runCcfVerifier([foreign]);
    expect(output).toMatch(/FAIL .*receipt-0\.json: InvalidSignature/);
    expect(status).toBe(1);
  });
});
