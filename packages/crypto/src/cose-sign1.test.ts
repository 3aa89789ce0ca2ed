import { createPrivateKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Tag } from "cbor-x";
import { createSelfSignedCertificate, parseCertificate } from "./certificates.js";
import { CoseFormatError, cborDecode, cborEncode, decodeCoseSign1, verifyCoseSign1 } from "./cose-sign1.js";
import { parseGovernanceMessage, signGovernanceMessage } from "./governance-message.js";
import { generateP384KeyPair } from "./keys.js";

const keys = generateP384KeyPair();
const certificatePem = await createSelfSignedCertificate(keys, { commonName: "member0" });
const cert = parseCertificate(certificatePem);
const signer = { privateKey: keys.privateKeyPem, certificatePem };

describe("governance COSE_Sign1", () => {
  it("round-trips headers and payload and verifies with the signer's certificate", () => {
    const bytes = signGovernanceMessage(signer, { type: "ballot", payload: '{"ballot":"x"}', createdAt: 1_700_000_000, proposalId: "p1" });
    const message = parseGovernanceMessage(bytes);
    expect(message.headers).toEqual({ kid: cert.id, type: "ballot", createdAt: 1_700_000_000, proposalId: "p1" });
    expect(Buffer.from(message.cose.payload).toString()).toBe('{"ballot":"x"}');
    expect(verifyCoseSign1(message.cose, cert.publicKey)).toBe(true);
  });

  it("encodes kid as the ASCII bytes of the member id, like ccf_cose_sign1", () => {
    const bytes = signGovernanceMessage(signer, { type: "proposal", payload: "{}" });
    const header = cborDecode(decodeCoseSign1(bytes).protectedBytes) as Map<unknown, unknown>;
    expect(Buffer.from(header.get(4) as Uint8Array).toString("latin1")).toBe(cert.id);
    expect(header.get(1)).toBe(-35);
  });

  it("fails verification when the payload or a protected header changes, or with another key", () => {
    const message = parseGovernanceMessage(signGovernanceMessage(signer, { type: "proposal", payload: '{"actions":[]}' }));
    expect(verifyCoseSign1({ ...message.cose, payload: Buffer.from('{"actions":[1]}') }, cert.publicKey)).toBe(false);
    const otherHeader = cborEncode(new Map<unknown, unknown>([[1, -35], [4, Buffer.from(cert.id)], ["ccf.gov.msg.type", "ack"], ["ccf.gov.msg.created_at", 1]]));
    expect(verifyCoseSign1({ ...message.cose, protectedBytes: otherHeader }, cert.publicKey)).toBe(false);
    const other = generateP384KeyPair();
    expect(verifyCoseSign1(message.cose, createPrivateKey(other.privateKeyPem))).toBe(false);
  });

  it.each([
    ["not CBOR", Buffer.from([0xff, 0x00])],
    ["truncated", signGovernanceMessage(signer, { type: "proposal", payload: "{}" }).subarray(0, 20)],
    ["trailing bytes", Buffer.concat([signGovernanceMessage(signer, { type: "proposal", payload: "{}" }), Buffer.from([0])])],
    ["an array of three", cborEncode([Buffer.alloc(0), new Map(), Buffer.alloc(0)])],
    ["the wrong tag", cborEncode(new Tag([Buffer.alloc(0), new Map(), Buffer.alloc(0), Buffer.alloc(96)], 17))],
    ["a detached payload", cborEncode([cborEncode(new Map([[1, -35]])), new Map(), null, Buffer.alloc(96)])],
    ["a protected header that is not a map", cborEncode([cborEncode([1, 2]), new Map(), Buffer.alloc(0), Buffer.alloc(96)])],
  ])("rejects %s", (_name, bytes) => {
    expect(() => decodeCoseSign1(bytes)).toThrow(CoseFormatError);
  });

  function withHeader(entries: Array<[number | string, unknown]>): Buffer {
    return cborEncode(new Tag([cborEncode(new Map(entries)), new Map(), Buffer.from("{}"), Buffer.alloc(96)], 18));
  }
  const good: Array<[number | string, unknown]> = [
    [1, -35],
    [4, Buffer.from(cert.id)],
    ["ccf.gov.msg.type", "proposal"],
    ["ccf.gov.msg.created_at", 1_700_000_000],
  ];
  const replace = (label: number | string, value: unknown) => good.map(([l, v]): [number | string, unknown] => [l, l === label ? value : v]);

  it.each([
    ["ES256", replace(1, -7), /algorithm/],
    ["a short kid", replace(4, Buffer.from("abc")), /kid/],
    ["an unknown message type", replace("ccf.gov.msg.type", "vote"), /ccf.gov.msg.type/],
    ["created_at as a string", replace("ccf.gov.msg.created_at", "2024-01-01T00:00:00Z"), /created_at/],
    ["a ballot without proposal id", replace("ccf.gov.msg.type", "ballot"), /proposal_id/],
    ["no created_at", good.filter(([l]) => l !== "ccf.gov.msg.created_at"), /created_at/],
  ])("rejects a governance message with %s", (_name, header, message) => {
    expect(() => parseGovernanceMessage(withHeader(header))).toThrow(message);
  });

  it("accepts a text-string kid", () => {
    expect(parseGovernanceMessage(withHeader(replace(4, cert.id))).headers.kid).toBe(cert.id);
  });
});
