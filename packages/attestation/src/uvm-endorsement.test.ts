import { describe, expect, it } from "vitest";
import { cborDecode, cborEncode } from "@cleanroom/crypto";
import { Tag } from "cbor-x";
import { type ParsedCertificate, parseCertificate } from "./certificates.js";
import { parseDidX509, resolveDidX509 } from "./did-x509.js";
import { ALLOWALL, POLICY2, SIDECAR, TEST_NOW, expected, vectorFile, reasonOf } from "./test-support.case.js";
import { createUvmEndorsementCache, DEFAULT_UVM_ROOTS, verifyUvmEndorsement } from "./uvm-endorsement.js";

const ACI_DID = "did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.2";
const FEED = "ContainerPlat-AMD-UVM";

const measurementOf = (vector: string) => Buffer.from(expected(vector).measurement, "hex");
const uvmOf = (vector: string) => vectorFile(vector, "uvm_endorsements.cose");

function x5chainOf(vector: string): ParsedCertificate[] {
  const outer = cborDecode(uvmOf(vector)) as Tag;
  const [protectedBytes] = outer.value as [Uint8Array];
  const header = cborDecode(protectedBytes) as Map<number, Uint8Array[]>;
  return header.get(33)!.map((der) => parseCertificate(der, "UvmMalformed"));
}

describe("verifyUvmEndorsement", () => {
  it.each([ALLOWALL, POLICY2])("accepts the %s endorsement with CCF's default roots", (vector) => {
    const want = expected(vector).uvm_endorsements!;
    const result = verifyUvmEndorsement(uvmOf(vector), measurementOf(vector));
    expect(result).toEqual({
      did: want.iss_did,
      feed: want.feed,
      svn: Number(want.payload["x-ms-sevsnpvm-guestsvn"]),
      launchMeasurement: want.payload["x-ms-sevsnpvm-launchmeasurement"],
    });
    expect(DEFAULT_UVM_ROOTS).toEqual([{ did: ACI_DID, feed: FEED, minimumSvn: 100 }]);
  });

  it("ignores the validity period of the x5chain (the ContainerPlat leaf has expired)", () => {
    const leafNotAfter = new Date(expected(ALLOWALL).uvm_endorsements!.leaf_not_after);
    expect(leafNotAfter.getTime()).toBeLessThan(TEST_NOW.getTime());
    expect(x5chainOf(ALLOWALL)[0]!.notAfter.getTime()).toBeLessThan(Date.now());
    expect(reasonOf(() => verifyUvmEndorsement(uvmOf(ALLOWALL), measurementOf(ALLOWALL)))).toBe("accepted");
  });

  it("rejects vector 3's svn 22 with UvmSvnTooLow and accepts it when the minimum is lowered", () => {
    expect(reasonOf(() => verifyUvmEndorsement(uvmOf(SIDECAR), measurementOf(SIDECAR)))).toBe("UvmSvnTooLow");
    const roots = [{ did: ACI_DID, feed: FEED, minimumSvn: 22 }];
    expect(verifyUvmEndorsement(uvmOf(SIDECAR), measurementOf(SIDECAR), roots).svn).toBe(22);
    expect(reasonOf(() => verifyUvmEndorsement(uvmOf(SIDECAR), measurementOf(SIDECAR), [{ ...roots[0]!, minimumSvn: 23 }]))).toBe(
      "UvmSvnTooLow",
    );
    expect(reasonOf(() => verifyUvmEndorsement(uvmOf(ALLOWALL), measurementOf(ALLOWALL), [{ ...roots[0]!, minimumSvn: 104 }]))).toBe(
      "UvmSvnTooLow",
    );
  });

  it("rejects an endorsement for another launch measurement", () => {
    expect(reasonOf(() => verifyUvmEndorsement(uvmOf(SIDECAR), measurementOf(ALLOWALL)))).toBe("UvmMeasurementMismatch");
    expect(reasonOf(() => verifyUvmEndorsement(uvmOf(ALLOWALL), measurementOf(SIDECAR)))).toBe("UvmMeasurementMismatch");
  });

  it("caches a verified document by its hash but still checks the report's measurement and the roots each time", () => {
    const cache = createUvmEndorsementCache();
    const roots = [{ did: ACI_DID, feed: FEED, minimumSvn: 22 }];
    const first = verifyUvmEndorsement(uvmOf(SIDECAR), measurementOf(SIDECAR), roots, cache);
    expect(verifyUvmEndorsement(uvmOf(SIDECAR), measurementOf(SIDECAR), roots, cache)).toEqual(first);
    expect(reasonOf(() => verifyUvmEndorsement(uvmOf(SIDECAR), measurementOf(ALLOWALL), roots, cache))).toBe("UvmMeasurementMismatch");
    expect(reasonOf(() => verifyUvmEndorsement(uvmOf(SIDECAR), measurementOf(SIDECAR), DEFAULT_UVM_ROOTS, cache))).toBe("UvmSvnTooLow");
    // A different document is verified on its own, never served from another's entry.
    const altered = Buffer.from(uvmOf(ALLOWALL));
    altered[altered.length - 1] = (altered[altered.length - 1] ?? 0) ^ 1;
    expect(reasonOf(() => verifyUvmEndorsement(altered, measurementOf(ALLOWALL), DEFAULT_UVM_ROOTS, cache))).toBe("UvmSignature");
  });

  it("rejects untrusted issuers and feeds", () => {
    const otherDid = ACI_DID.replace(/59\.1\.2$/, "59.1.5");
    expect(reasonOf(() => verifyUvmEndorsement(uvmOf(ALLOWALL), measurementOf(ALLOWALL), [{ did: otherDid, feed: FEED, minimumSvn: 1 }]))).toBe(
      "UvmIssuer",
    );
    expect(reasonOf(() => verifyUvmEndorsement(uvmOf(ALLOWALL), measurementOf(ALLOWALL), [{ did: ACI_DID, feed: "ConfAKS-AMD-UVM", minimumSvn: 1 }]))).toBe(
      "UvmFeed",
    );
    expect(reasonOf(() => verifyUvmEndorsement(uvmOf(ALLOWALL), measurementOf(ALLOWALL), []))).toBe("UvmIssuer");
  });

  it("rejects a flipped bit in the signature, the payload or the protected header with UvmSignature", () => {
    const bytes = uvmOf(ALLOWALL);
    const outer = cborDecode(bytes) as Tag;
    const [protectedBytes, unprotected, payload, signature] = outer.value as [Buffer, unknown, Buffer, Buffer];
    const rebuild = (p: Buffer, pl: Buffer, s: Buffer) => cborEncode(new Tag([p, unprotected, pl, s], 18));
    // Re-encoding the untouched message must still verify, so the mutations below test only the flipped bit.
    expect(reasonOf(() => verifyUvmEndorsement(rebuild(protectedBytes, payload, signature), measurementOf(ALLOWALL)))).toBe("accepted");
    const flip = (b: Buffer, index: number) => {
      const copy = Buffer.from(b);
      copy[index]! ^= 0x01;
      return copy;
    };
    expect(reasonOf(() => verifyUvmEndorsement(rebuild(protectedBytes, payload, flip(signature, 10)), measurementOf(ALLOWALL)))).toBe("UvmSignature");
    expect(reasonOf(() => verifyUvmEndorsement(rebuild(protectedBytes, flip(payload, 5), signature), measurementOf(ALLOWALL)))).toBe("UvmSignature");
    const feedAt = protectedBytes.indexOf(Buffer.from(FEED));
    expect(reasonOf(() => verifyUvmEndorsement(rebuild(flip(protectedBytes, feedAt), payload, signature), measurementOf(ALLOWALL)))).toBe("UvmSignature");
  });

  it("rejects malformed documents with UvmMalformed", () => {
    const bytes = uvmOf(ALLOWALL);
    const outer = cborDecode(bytes) as Tag;
    expect(reasonOf(() => verifyUvmEndorsement(cborEncode(outer.value), measurementOf(ALLOWALL)))).toBe("UvmMalformed");
    expect(reasonOf(() => verifyUvmEndorsement(bytes.subarray(0, bytes.length - 1), measurementOf(ALLOWALL)))).toBe("UvmMalformed");
    expect(reasonOf(() => verifyUvmEndorsement(new Uint8Array(0), measurementOf(ALLOWALL)))).toBe("UvmMalformed");
    expect(reasonOf(() => verifyUvmEndorsement(Buffer.from([0xd2, 0x80]), measurementOf(ALLOWALL)))).toBe("UvmMalformed");
  });
});

describe("did:x509", () => {
  const chain = x5chainOf(ALLOWALL);
  const fingerprints = expected(ALLOWALL).uvm_endorsements!.x5chain_sha256_b64url;

  it("resolves the ACI did against vector 1's chain, by root or intermediate fingerprint", () => {
    expect(() => resolveDidX509(ACI_DID, chain)).not.toThrow();
    expect(() => resolveDidX509(`did:x509:0:sha256:${fingerprints[1]}::eku:1.3.6.1.4.1.311.76.59.1.2`, chain)).not.toThrow();
    expect(() => resolveDidX509(`${ACI_DID}::eku:1.3.6.1.4.1.311.76.59.1.1`, chain)).not.toThrow();
  });

  it("rejects the leaf's fingerprint, an absent EKU, unsupported policies and bad syntax", () => {
    const cases = [
      `did:x509:0:sha256:${fingerprints[0]}::eku:1.3.6.1.4.1.311.76.59.1.2`,
      ACI_DID.replace(/59\.1\.2$/, "59.1.5"),
      `did:x509:0:sha256:${fingerprints[2]}::subject:CN:ContainerPlat`,
      `did:x509:0:sha256:${fingerprints[2]}`,
      `did:x509:1:sha256:${fingerprints[2]}::eku:1.2.3`,
      `did:x509:0:md5:${fingerprints[2]}::eku:1.2.3`,
      `did:x509:0:sha256:${fingerprints[2]}AA::eku:1.2.3`,
      `did:web:example.com`,
    ];
    for (const did of cases) expect(reasonOf(() => resolveDidX509(did, chain)), did).toBe("UvmIssuer");
    expect(parseDidX509(ACI_DID).eku).toEqual(["1.3.6.1.4.1.311.76.59.1.2"]);
  });

  it("rejects reordered, truncated or foreign chains", () => {
    const [leaf, intermediate, root] = chain;
    const otherLeaf = x5chainOf(SIDECAR)[0]!;
    expect(reasonOf(() => resolveDidX509(ACI_DID, [intermediate!, leaf!, root!]))).toBe("UvmIssuer");
    expect(reasonOf(() => resolveDidX509(ACI_DID, [leaf!, root!]))).toBe("UvmIssuer");
    expect(reasonOf(() => resolveDidX509(ACI_DID, [leaf!]))).toBe("UvmIssuer");
    expect(reasonOf(() => resolveDidX509(ACI_DID, [leaf!, intermediate!]))).toBe("UvmIssuer");
    // Vector 3's leaf is issued by the same intermediate, so it resolves too: the signature decides what it signed.
    expect(reasonOf(() => resolveDidX509(ACI_DID, [otherLeaf, intermediate!, root!]))).toBe("accepted");
  });
});
