import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { certificateId, createEndorsedCertificate, createSelfSignedCertificate, isEndorsedBy, parseCertificate } from "./certificates.js";
import { generateP384KeyPair, loadP384PrivateKey } from "./keys.js";
import { signDigest, verifyDigest } from "./prehashed-ecdsa.js";

const service = generateP384KeyPair();
const serviceCert = await createSelfSignedCertificate(service, { commonName: "CCF Service", isCa: true });

describe("certificates", () => {
  it("ids are the SHA-256 of the DER, as CCF member ids", () => {
    const info = parseCertificate(serviceCert);
    expect(info.id).toBe(certificateId(new X509Certificate(serviceCert).raw));
    expect(info.id).toMatch(/^[0-9a-f]{64}$/);
    expect(info.isP384).toBe(true);
    expect(info.subject).toContain("CCF Service");
  });

  it("endorses a node certificate with the service key, with the requested SANs", async () => {
    const node = generateP384KeyPair();
    const nodeCert = await createEndorsedCertificate(node.publicKeyPem, { ...service, certificatePem: serviceCert }, { commonName: "CCF Node", ipAddresses: ["127.0.0.1"], dnsNames: ["localhost"] });
    expect(isEndorsedBy(nodeCert, serviceCert)).toBe(true);
    const x = new X509Certificate(nodeCert);
    expect(x.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(x.checkHost("localhost")).toBe("localhost");
    const stranger = generateP384KeyPair();
    const strangerCert = await createSelfSignedCertificate(stranger, { commonName: "stranger", isCa: true });
    expect(isEndorsedBy(nodeCert, strangerCert)).toBe(false);
  });

  it("rejects bundles, garbage and trailing data", () => {
    expect(() => parseCertificate(serviceCert + serviceCert)).toThrow(/exactly one/);
    expect(() => parseCertificate("hello")).toThrow(/exactly one/);
    expect(() => parseCertificate(serviceCert + "junk")).toThrow(/Unexpected data/);
  });

  it("reports non-P-384 keys", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    expect(() => loadP384PrivateKey(rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString())).toThrow(/P-384/);
  });
});

describe("prehashed ECDSA", () => {
  it("signs a digest as-is and verifies, and rejects other digests or keys", () => {
    const digest = randomBytes(32);
    const signature = signDigest(digest, service.privateKeyPem);
    const publicKey = createPublicKey(createPrivateKey(service.privateKeyPem));
    expect(verifyDigest(digest, signature, publicKey)).toBe(true);
    expect(verifyDigest(randomBytes(32), signature, publicKey)).toBe(false);
    expect(verifyDigest(digest, signature, createPublicKey(generateP384KeyPair().publicKeyPem))).toBe(false);
    expect(verifyDigest(digest, Buffer.from("not a signature"), publicKey)).toBe(false);
  });
});
