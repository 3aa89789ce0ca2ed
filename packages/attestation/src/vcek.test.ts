import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AMD_ROOTS, spkiSha256 } from "./amd-roots.js";
import { type ParsedCertificate, parseCertificate, splitPemCertificates } from "./certificates.js";
import { SNP_PRODUCTS } from "./tcb.js";
import { ALL_REPORT_VECTORS, TEST_NOW, expected, vectorJson, vectorText, reasonOf } from "./test-support.case.js";
import { type AmdCertificateDers, createAmdChainCache, readVcekExtensions, verifyAmdChain } from "./vcek.js";

function certificates(pem: string): ParsedCertificate[] {
  return splitPemCertificates(pem, "MalformedEvidence").map((der) => parseCertificate(der, "MalformedEvidence"));
}

function chainOf(vector: string): AmdCertificateDers {
  const [vcek, ask, ark] = splitPemCertificates(vectorText(vector, "endorsements.pem"), "MalformedEvidence");
  return { vcek: vcek!, ask: ask!, ark: ark! };
}

function rootsOf(product: string): { ask: Uint8Array; ark: Uint8Array } {
  const [ask, ark] = splitPemCertificates(vectorText("amd-roots", `${product.toLowerCase()}_ask_ark.pem`), "MalformedEvidence");
  return { ask: ask!, ark: ark! };
}

describe("pinned AMD roots", () => {
  const fingerprints = vectorJson<Record<string, { ark_cert_sha256: string; ark_spki_sha256: string; ask_cert_sha256: string }>>(
    "amd-roots",
    "fingerprints.json",
  );
  it.each(SNP_PRODUCTS)("embeds the %s ARK and ASK that fingerprints.json lists", (product) => {
    const root = AMD_ROOTS[product];
    const want = fingerprints[product]!;
    const [ark] = certificates(root.arkPem);
    const [ask] = certificates(root.askPem);
    expect(root.arkSpkiSha256).toBe(want.ark_spki_sha256);
    expect(spkiSha256(ark!.node)).toBe(want.ark_spki_sha256);
    expect(createHash("sha256").update(ark!.der).digest("hex")).toBe(want.ark_cert_sha256);
    expect(createHash("sha256").update(ask!.der).digest("hex")).toBe(want.ask_cert_sha256);
  });
});

describe("VCEK extensions", () => {
  it.each(ALL_REPORT_VECTORS)("reads product, TCB and hwID of the %s VCEK as expected.json says", (vector) => {
    const want = expected(vector).vcek_extensions;
    const extensions = readVcekExtensions(parseCertificate(chainOf(vector).vcek, "MalformedEvidence"));
    expect(extensions.productName).toBe(want["1.3.6.1.4.1.3704.1.2"]);
    expect(extensions.product).toBe("Milan");
    expect(extensions.tcb).toEqual({
      bootLoader: want["1.3.6.1.4.1.3704.1.3.1"],
      tee: want["1.3.6.1.4.1.3704.1.3.2"],
      snp: want["1.3.6.1.4.1.3704.1.3.3"],
      microcode: want["1.3.6.1.4.1.3704.1.3.8"],
    });
    expect(Buffer.from(extensions.hwId).toString("hex")).toBe(want["1.3.6.1.4.1.3704.1.4"]);
  });

  it("rejects a certificate without the AMD extensions (e.g. the ASK in the VCEK position)", () => {
    expect(reasonOf(() => readVcekExtensions(parseCertificate(chainOf("caci-milan-v3-allowall").ask, "MalformedEvidence")))).toBe("VcekExtension");
  });
});

describe("verifyAmdChain", () => {
  it.each(ALL_REPORT_VECTORS)("verifies the %s chain against the pinned Milan ARK", (vector) => {
    const chain = verifyAmdChain(chainOf(vector), TEST_NOW);
    expect(chain.product).toBe("Milan");
    expect(chain.vcekPublicKey.asymmetricKeyDetails?.namedCurve).toBe("secp384r1");
  });

  it("rejects Genoa or Turin roots for a Milan VCEK with ArkNotPinned", () => {
    const { vcek } = chainOf("caci-milan-v3-allowall");
    for (const product of ["Genoa", "Turin"]) {
      expect(reasonOf(() => verifyAmdChain({ vcek, ...rootsOf(product) }, TEST_NOW)), product).toBe("ArkNotPinned");
    }
  });

  it("rejects swapped certificates with ArkNotPinned or ChainSignature", () => {
    const { vcek, ask, ark } = chainOf("caci-milan-v3-allowall");
    const genoa = rootsOf("Genoa");
    expect(reasonOf(() => verifyAmdChain({ vcek, ask: ark, ark: ask }, TEST_NOW))).toBe("ArkNotPinned");
    expect(reasonOf(() => verifyAmdChain({ vcek, ask: genoa.ask, ark }, TEST_NOW))).toBe("ChainSignature");
    expect(reasonOf(() => verifyAmdChain({ vcek: ask, ask, ark }, TEST_NOW))).toBe("VcekExtension");
    // Another Milan chip's VCEK chains fine; verifySnpAttestation catches it with ChipIdMismatch.
    const { vcek: otherVcek } = chainOf("caci-milan-v3-policy2");
    expect(reasonOf(() => verifyAmdChain({ vcek: otherVcek, ask, ark }, TEST_NOW))).toBe("accepted");
  });

  it("rejects a tampered VCEK signature", () => {
    const { vcek, ask, ark } = chainOf("caci-milan-v3-allowall");
    const tampered = Buffer.from(vcek);
    tampered[tampered.length - 10]! ^= 0x01;
    expect(reasonOf(() => verifyAmdChain({ vcek: tampered, ask, ark }, TEST_NOW))).toBe("ChainSignature");
  });

  it("checks the validity of every AMD certificate against the injected clock", () => {
    const chain = chainOf("caci-milan-v3-allowall");
    const [notBefore, notAfter] = expected("caci-milan-v3-allowall").vcek_validity.map((text) => new Date(text));
    expect(reasonOf(() => verifyAmdChain(chain, new Date("2050-01-01T00:00:00Z")))).toBe("CertificateExpired");
    expect(reasonOf(() => verifyAmdChain(chain, new Date(notAfter!.getTime() + 1000)))).toBe("CertificateExpired");
    expect(reasonOf(() => verifyAmdChain(chain, notAfter!))).toBe("accepted");
    expect(reasonOf(() => verifyAmdChain(chain, new Date(notBefore!.getTime() - 1000)))).toBe("CertificateNotYetValid");
    expect(reasonOf(() => verifyAmdChain(chain, new Date(Number.NaN)))).toBe("InternalError");
  });

  it("caches verified chains but still checks validity times on every use", () => {
    const cache = createAmdChainCache(2);
    const chain = chainOf("caci-milan-v3-allowall");
    const first = verifyAmdChain(chain, TEST_NOW, cache);
    expect(verifyAmdChain(chain, TEST_NOW, cache).certificates).toBe(first.certificates);
    expect(reasonOf(() => verifyAmdChain(chain, new Date("2050-01-01T00:00:00Z"), cache))).toBe("CertificateExpired");
    // Other certificates are another cache entry, so the pin is still enforced.
    expect(reasonOf(() => verifyAmdChain({ ...chain, ...rootsOf("Genoa") }, TEST_NOW, cache))).toBe("ArkNotPinned");
    // Eviction keeps at most two entries.
    verifyAmdChain(chainOf("caci-milan-v3-policy2"), TEST_NOW, cache);
    verifyAmdChain(chainOf("sidecar-milan-v2"), TEST_NOW, cache);
    expect(verifyAmdChain(chain, TEST_NOW, cache).certificates).not.toBe(first.certificates);
  });
});
