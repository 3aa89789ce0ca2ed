import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidReceiptError, TransactionInvalid, TransactionNotFound } from "./errors.js";
import { verifyReceipt } from "./receipt.js";
import { createTestIdentity, ledgerOpener, removeTempDirs, tempDir, utf8, type TestIdentity } from "./test-support.case.js";
import type { Receipt, SignatureReceipt, TxReceipt } from "./types.js";

let identity: TestIdentity;
let stranger: TestIdentity;

beforeAll(async () => {
  [identity, stranger] = await Promise.all([createTestIdentity(), createTestIdentity()]);
});

afterAll(removeTempDirs);

const openAt = ledgerOpener(() => identity.signer);

/** Flips one hex digit: a minimal, still well-formed tampering. */
function flipHex(hex: string, at = 0): string {
  const digit = hex[at] === "0" ? "1" : "0";
  return hex.slice(0, at) + digit + hex.slice(at + 1);
}

/** Flips one bit inside the DER signature's r value. */
function flipSignature(base64: string): string {
  const der = Buffer.from(base64, "base64");
  der[20]! ^= 1;
  return der.toString("base64");
}

describe("receipt", () => {
  it("proves an ordinary transaction under the first signature after it, in CCF's JSON format", async () => {
    const ledger = openAt(tempDir(), { signatureEveryTx: 5 });
    const claims = createHash("sha256").update("claims").digest();
    const ids = [];
    for (let i = 0; i < 7; i++) {
      ids.push(ledger.transact((tx) => {
        tx.set("public:m", `k${i}`, utf8(String(i)));
        if (i === 2) tx.setClaimsDigest(claims);
      }).txId!);
    } // signature at 6; 7 and 8 unsigned
    const receipt = (await ledger.receipt(ids[2]!)) as TxReceipt;
    expect(Object.keys(receipt).sort()).toEqual(["cert", "is_signature_transaction", "leaf_components", "node_id", "proof", "signature"]);
    expect(receipt.is_signature_transaction).toBe(false);
    expect(receipt.cert).toBe(identity.nodeCertificatePem);
    expect(receipt.node_id).toBe(identity.signer.nodeId);
    expect(receipt.leaf_components.claims_digest).toBe(claims.toString("hex"));
    expect(receipt.leaf_components.commit_evidence).toMatch(/^ce:2\.3:[0-9a-f]{64}$/);
    expect(receipt.proof).toHaveLength(3); // leaf 2 in a tree of 5 leaves
    expect(ledger.stats().signatures).toBe(1); // the existing signature covered it

    const verified = verifyReceipt(receipt, identity.serviceCertificatePem);
    expect(verified).toMatchObject({ txId: { view: 2, seqno: 3 }, isSignatureTransaction: false, nodeId: identity.signer.nodeId });

    const zeroClaims = (await ledger.receipt(ids[0]!)) as TxReceipt;
    expect(zeroClaims.leaf_components.claims_digest).toBe("0".repeat(64));
    expect(verifyReceipt(JSON.parse(JSON.stringify(zeroClaims)), identity.serviceCertificatePem).txId).toEqual({ view: 2, seqno: 1 });
  });

  it("emits a signature when none covers the transaction yet, and waits until it is durable", async () => {
    const ledger = openAt(tempDir());
    const { txId } = ledger.transact((tx) => tx.set("public:m", "a", utf8("1")));
    expect(ledger.stats().signatures).toBe(0);
    const receipt = await ledger.receipt(txId!);
    expect(ledger.stats().signatures).toBe(1);
    expect(ledger.txStatus({ view: 2, seqno: 2 })).toBe("Committed");
    expect(receipt.proof).toEqual([]); // the only leaf under the signature
    expect(verifyReceipt(receipt, identity.serviceCertificatePem).txId).toEqual(txId);
  });

  it("gives CCF's special-case receipt for a signature transaction: leaf = signed root, empty proof", async () => {
    const ledger = openAt(tempDir(), { signatureEveryTx: 2 });
    const first = ledger.transact((tx) => tx.set("public:m", "a", utf8("1"))).txId!;
    ledger.transact((tx) => tx.set("public:m", "b", utf8("2"))); // signature at 3
    const signature = (await ledger.receipt({ view: 2, seqno: 3 })) as SignatureReceipt;
    expect(Object.keys(signature).sort()).toEqual(["cert", "is_signature_transaction", "leaf", "node_id", "proof", "signature"]);
    expect(signature.is_signature_transaction).toBe(true);
    expect(signature.proof).toEqual([]);
    const verified = verifyReceipt(signature, identity.serviceCertificatePem);
    expect(verified).toMatchObject({ txId: null, isSignatureTransaction: true, root: signature.leaf });
    // The ordinary receipt under the same signature reaches the same root.
    expect(verifyReceipt(await ledger.receipt(first), identity.serviceCertificatePem).root).toBe(signature.leaf);
  });

  it("rejects unknown and invalid transaction ids with typed errors", async () => {
    const ledger = openAt(tempDir());
    ledger.transact((tx) => tx.set("public:m", "a", utf8("1")));
    await expect(ledger.receipt({ view: 2, seqno: 2 })).rejects.toBeInstanceOf(TransactionNotFound);
    await expect(ledger.receipt({ view: 2, seqno: 2 })).rejects.toMatchObject({ code: "TRANSACTION_NOT_FOUND" });
    await expect(ledger.receipt({ view: 1, seqno: 1 })).rejects.toBeInstanceOf(TransactionInvalid);
    await expect(ledger.receipt({ view: 1, seqno: 1 })).rejects.toMatchObject({ code: "TRANSACTION_INVALID" });
  });
});

describe("verifyReceipt", () => {
  let txReceipt: TxReceipt;
  let signatureReceipt: SignatureReceipt;

  beforeAll(async () => {
    const ledger = openAt(tempDir(), { signatureEveryTx: 4 });
    for (let i = 0; i < 4; i++) ledger.transact((tx) => tx.set("public:m", `k${i}`, utf8(String(i)))); // signature at 5
    txReceipt = (await ledger.receipt({ view: 2, seqno: 2 })) as TxReceipt;
    signatureReceipt = (await ledger.receipt({ view: 2, seqno: 5 })) as SignatureReceipt;
    await ledger.close();
  });

  const clone = <T extends Receipt>(receipt: T): T => JSON.parse(JSON.stringify(receipt)) as T;

  it("accepts the untouched receipts", () => {
    expect(verifyReceipt(clone(txReceipt), identity.serviceCertificatePem).txId).toEqual({ view: 2, seqno: 2 });
    expect(verifyReceipt(clone(signatureReceipt), identity.serviceCertificatePem).isSignatureTransaction).toBe(true);
  });

  const txTampering: Array<[string, (r: TxReceipt) => void, RegExp]> = [
    ["write_set_digest", (r) => (r.leaf_components.write_set_digest = flipHex(r.leaf_components.write_set_digest)), /signature does not verify/],
    ["claims_digest", (r) => (r.leaf_components.claims_digest = flipHex(r.leaf_components.claims_digest)), /signature does not verify/],
    ["commit_evidence nonce", (r) => (r.leaf_components.commit_evidence = flipHex(r.leaf_components.commit_evidence, 10)), /signature does not verify/],
    ["commit_evidence id", (r) => (r.leaf_components.commit_evidence = r.leaf_components.commit_evidence.replace("ce:2.2:", "ce:2.3:")), /signature does not verify/],
    ["a proof hash", (r) => (r.proof[0] = "left" in r.proof[0]! ? { left: flipHex(r.proof[0].left) } : { right: flipHex(r.proof[0]!.right) }), /signature does not verify/],
    ["a proof side", (r) => (r.proof[0] = "left" in r.proof[0]! ? { right: r.proof[0].left } : { left: r.proof[0]!.right }), /signature does not verify/],
    ["the proof length", (r) => r.proof.pop(), /signature does not verify/],
    ["the signature", (r) => (r.signature = flipSignature(r.signature)), /signature does not verify/],
    ["the certificate", (r) => (r.cert = stranger.nodeCertificatePem), /node_id does not match/],
    ["the node id", (r) => (r.node_id = flipHex(r.node_id)), /node_id does not match/],
    ["is_signature_transaction", (r) => ((r as unknown as { is_signature_transaction: boolean }).is_signature_transaction = true), /empty proof/],
    ["the shape of a proof step", (r) => ((r.proof as unknown[])[0] = { left: "00", right: "11" }), /exactly one key/],
    ["the commit evidence format", (r) => (r.leaf_components.commit_evidence = "ce:2.2"), /commit_evidence is not/],
  ];

  it.each(txTampering)("rejects a transaction receipt with a changed %s", (_name, tamper, message) => {
    const receipt = clone(txReceipt);
    tamper(receipt);
    expect(() => verifyReceipt(receipt, identity.serviceCertificatePem)).toThrow(message);
    expect(() => verifyReceipt(receipt, identity.serviceCertificatePem)).toThrow(InvalidReceiptError);
  });

  const signatureTampering: Array<[string, (r: SignatureReceipt) => void, RegExp]> = [
    ["leaf", (r) => (r.leaf = flipHex(r.leaf)), /signature does not verify/],
    ["proof", (r) => void (r.proof as unknown[]).push({ left: r.leaf }), /empty proof/],
    ["signature", (r) => (r.signature = flipSignature(r.signature)), /signature does not verify/],
    ["node id", (r) => (r.node_id = flipHex(r.node_id)), /node_id does not match/],
  ];

  it.each(signatureTampering)("rejects a signature transaction receipt with a changed %s", (_name, tamper, message) => {
    const receipt = clone(signatureReceipt);
    tamper(receipt);
    expect(() => verifyReceipt(receipt, identity.serviceCertificatePem)).toThrow(message);
  });

  it("rejects a receipt signed by a node the service did not endorse", () => {
    // A self-consistent receipt from another service's node: everything verifies except the endorsement.
    expect(() => verifyReceipt(clone(txReceipt), stranger.serviceCertificatePem)).toThrow(/not endorsed/);
  });

  it("rejects things that are not receipts", () => {
    expect(() => verifyReceipt(null, identity.serviceCertificatePem)).toThrow(/JSON object/);
    expect(() => verifyReceipt([], identity.serviceCertificatePem)).toThrow(/JSON object/);
    expect(() => verifyReceipt({ ...clone(txReceipt), proof: "x" }, identity.serviceCertificatePem)).toThrow(/proof must be an array/);
    expect(() => verifyReceipt({ ...clone(txReceipt), cert: "not a cert" }, identity.serviceCertificatePem)).toThrow(/not a PEM certificate/);
    expect(() => verifyReceipt({ ...clone(txReceipt), signature: "***" }, identity.serviceCertificatePem)).toThrow(/base64/);
    expect(() => verifyReceipt({ ...clone(txReceipt), is_signature_transaction: "false" }, identity.serviceCertificatePem)).toThrow(/boolean/);
    expect(() => verifyReceipt(clone(txReceipt), "garbage")).toThrow(/service certificate is not/);
  });
});
