import { createHash, createPrivateKey, type KeyObject, randomBytes, sign, webcrypto, X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { check } from "./errors.js";
import { normalizeHostData } from "./host-data.js";
import { expectedReportData } from "./report-data.js";
import { SIGNATURE_ALGO_ECDSA_P384_SHA384, SNP_REPORT_SIZE, SNP_SIGNED_REGION_END } from "./report.js";
import { formatTcb, parseTcbHex } from "./tcb.js";
import { VCEK_OID } from "./vcek.js";
import { spkiSha256 } from "./amd-roots.js";
import { parseCertificate, splitPemCertificates } from "./certificates.js";

// A development stand-in for AMD SEV-SNP hardware. It produces reports with the genuine 1184-byte layout, signed
// by a VCEK under its own ARK → ASK chain, so that they go through exactly the verifier real evidence goes through.
// Its root is NOT AMD's: a verifier accepts it only when told to (`virtualRoots`), and the holder of this
// platform's keys can sign any report, so nothing it attests is confidential. Each workload still gets its own
// HOST_DATA (the SHA-256 of its measured configuration), so clean-room policies and delegates behave as on hardware.

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** Serialized form, as `cleanroom virtual-platform init` writes it (mode 0600: it holds the signing key). */
export interface VirtualPlatformState {
  kind: "cleanroom-virtual-sev-snp-platform";
  version: 1;
  /** VCEK, ASK, ARK (PEM). The ARK is the development root of trust verifiers must be given. */
  certificatesPem: string;
  /** PKCS#8 PEM of the VCEK's P-384 key, which signs the reports. */
  vcekPrivateKeyPem: string;
  /** CHIP_ID (128 hex digits); also the VCEK's hwID extension. */
  chipId: string;
  /** REPORTED_TCB and the VCEK's TCB, 16 hex digits. */
  tcb: string;
}

/** What a workload asks the platform to attest. */
export interface VirtualAttestationRequest {
  /** HOST_DATA, 64 hex digits: for a workload, `hostDataOfConfiguration(itsMeasuredConfiguration)`. */
  hostData: string;
  /** The data to bind (normally a public key PEM); REPORT_DATA = SHA-256 of it followed by 32 zero bytes. */
  runtimeData: string | Uint8Array;
}

/** Evidence in the SKR sidecar's `/attest/combined` shape, which the verifier and governance take as is. */
export interface VirtualEvidence {
  evidence: string;
  endorsements: string;
}

/** The MEASUREMENT every virtual report carries: there is no UVM, so it names the virtual platform instead. */
export const VIRTUAL_LAUNCH_MEASUREMENT = createHash("sha384").update("cleanroom virtual SEV-SNP platform v1").digest("hex");

/** GUEST_POLICY of virtual reports: SMT allowed, reserved bit 17, no debugging, no migration agent. */
const VIRTUAL_GUEST_POLICY = (1n << 16n) | (1n << 17n);
/** Milan, report version 3 (CPUID family 0x19, model 0x01). */
const VIRTUAL_CPUID = { family: 0x19, model: 0x01, stepping: 0x01 };
/** bootloader 4, tee 0, snp 21, microcode 211: a TCB seen on real Milan hosts, so minimum-TCB settings behave. */
const DEFAULT_TCB = "d315000000000004";

/** The pin of a virtual platform's root certificate (PEM), as `VerifySnpOptions.virtualRoots` takes it. */
export function virtualRootPin(rootCertificatePem: string): string {
  return spkiSha256(new X509Certificate(rootCertificatePem));
}

/**
 * HOST_DATA of a workload on the virtual platform: SHA-256 of its measured configuration (lowercase hex). It plays
 * the part the CCE policy plays on Confidential ACI, whose HOST_DATA is SHA-256 of the decoded policy.
 */
export function hostDataOfConfiguration(configuration: string | Uint8Array): string {
  return createHash("sha256").update(typeof configuration === "string" ? Buffer.from(configuration, "utf8") : configuration).digest("hex");
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const derTagged = (tag: number, content: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
const derInteger = (value: number): Buffer => derTagged(0x02, value >= 0x80 ? Buffer.from([0, value]) : Buffer.from([value]));

function tcbBytes(tcb: bigint): number[] {
  return Array.from({ length: 8 }, (_, index) => Number((tcb >> BigInt(index * 8)) & 0xffn));
}

const RSA_PSS = { name: "RSA-PSS", hash: "SHA-384", modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]) };
const PSS_SIGNING = { name: "RSA-PSS", saltLength: 48 };
const CERTIFICATE_YEARS = 5;

async function issue(options: {
  subject: string;
  issuer: string;
  publicKey: webcrypto.CryptoKey;
  signingKey: webcrypto.CryptoKey;
  serial: string;
  now: Date;
  extensions: x509.Extension[];
}): Promise<x509.X509Certificate> {
  const notBefore = new Date(options.now.getTime() - 24 * 3600_000);
  const notAfter = new Date(options.now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CERTIFICATE_YEARS);
  return x509.X509CertificateGenerator.create({
    serialNumber: options.serial,
    subject: options.subject,
    issuer: options.issuer,
    notBefore,
    notAfter,
    publicKey: options.publicKey,
    signingKey: options.signingKey,
    signingAlgorithm: PSS_SIGNING,
    extensions: options.extensions,
  });
}

/**
 * A virtual SEV-SNP platform (development only). Create one with {@link createVirtualPlatform}, persist it with
 * {@link VirtualPlatform.toJSON}, reload it with {@link loadVirtualPlatform}.
 */
export class VirtualPlatform {
  /** The development root (ARK) certificate, PEM: what a verifier must be given to accept this platform. */
  readonly rootCertificatePem: string;
  /** SHA-256 of the root's SubjectPublicKeyInfo: the value for `VerifySnpOptions.virtualRoots`. */
  readonly rootSpkiSha256: string;
  readonly #vcekKey: KeyObject;
  readonly #chipId: Buffer;
  readonly #tcb: bigint;

  constructor(readonly state: VirtualPlatformState) {
    check(state.kind === "cleanroom-virtual-sev-snp-platform" && state.version === 1, "MalformedEvidence", "Not a virtual platform file (kind/version).");
    const ders = splitPemCertificates(state.certificatesPem, "MalformedEvidence");
    check(ders.length === 3, "MalformedEvidence", "A virtual platform holds VCEK, ASK and ARK certificates.");
    const ark = parseCertificate(ders[2]!, "MalformedEvidence");
    this.rootCertificatePem = ark.node.toString();
    this.rootSpkiSha256 = spkiSha256(ark.node);
    this.#vcekKey = createPrivateKey(state.vcekPrivateKeyPem);
    check(/^[0-9a-f]{128}$/.test(state.chipId), "MalformedEvidence", "chipId must be 128 lowercase hex digits.");
    this.#chipId = Buffer.from(state.chipId, "hex");
    this.#tcb = parseTcbHex(state.tcb);
  }

  /** A signed report for a workload with `hostData`, binding `runtimeData`, as `{evidence, endorsements}`. */
  attest(request: VirtualAttestationRequest): VirtualEvidence {
    const hostData = normalizeHostData(request.hostData);
    check(hostData !== undefined, "MalformedEvidence", "hostData must be 64 hex digits.");
    const report = Buffer.alloc(SNP_REPORT_SIZE);
    report.writeUInt32LE(3, 0x000); // version
    report.writeBigUInt64LE(VIRTUAL_GUEST_POLICY, 0x008);
    report.writeUInt32LE(SIGNATURE_ALGO_ECDSA_P384_SHA384, 0x034);
    for (const offset of [0x038, 0x180, 0x1e0, 0x1f0]) report.writeBigUInt64LE(this.#tcb, offset); // current, reported, committed, launch
    report.writeBigUInt64LE(1n, 0x040); // platform_info: SMT enabled
    report.writeUInt32LE(0, 0x048); // signer_info: VCEK, chip key not masked
    expectedReportData(request.runtimeData).copy(report, 0x050);
    Buffer.from(VIRTUAL_LAUNCH_MEASUREMENT, "hex").copy(report, 0x090);
    Buffer.from(hostData, "hex").copy(report, 0x0c0);
    randomBytes(32).copy(report, 0x140); // report_id
    report.fill(0xff, 0x160, 0x180); // report_id_ma: no migration agent
    report.writeUInt8(VIRTUAL_CPUID.family, 0x188);
    report.writeUInt8(VIRTUAL_CPUID.model, 0x189);
    report.writeUInt8(VIRTUAL_CPUID.stepping, 0x18a);
    this.#chipId.copy(report, 0x1a0);
    for (const offset of [0x1e8, 0x1ec]) report.set([55, 55, 1], offset); // firmware 1.55.55
    const p1363 = sign("sha384", report.subarray(0, SNP_SIGNED_REGION_END), { key: this.#vcekKey, dsaEncoding: "ieee-p1363" });
    // R and S are stored little-endian in 72-byte fields.
    Buffer.from(p1363.subarray(0, 48)).reverse().copy(report, 0x2a0);
    Buffer.from(p1363.subarray(48, 96)).reverse().copy(report, 0x2e8);
    return {
      evidence: report.toString("base64"),
      endorsements: Buffer.from(this.state.certificatesPem, "utf8").toString("base64"),
    };
  }

  toJSON(): VirtualPlatformState {
    return this.state;
  }
}

/** Reloads a platform saved with {@link VirtualPlatform.toJSON}. Throws MalformedEvidence on anything else. */
export function loadVirtualPlatform(state: unknown): VirtualPlatform {
  check(typeof state === "object" && state !== null, "MalformedEvidence", "A virtual platform file is a JSON object.");
  return new VirtualPlatform(state as VirtualPlatformState);
}

/**
 * Creates a new virtual platform: an RSA-PSS ARK and ASK (as AMD's, but 3072-bit, and named INSECURE), a P-384
 * VCEK carrying AMD's extensions (product Milan, TCB, hwID) and a random CHIP_ID. The ARK and ASK private keys are
 * discarded once the chain is issued: only the VCEK key is kept, as on a real chip.
 */
export async function createVirtualPlatform(options: { now?: Date; tcb?: string } = {}): Promise<VirtualPlatform> {
  const now = options.now ?? new Date();
  const tcb = parseTcbHex(options.tcb ?? DEFAULT_TCB);
  const chipId = randomBytes(64);
  const subtle = webcrypto.subtle;
  const ark = (await subtle.generateKey(RSA_PSS, true, ["sign", "verify"]));
  const ask = (await subtle.generateKey(RSA_PSS, true, ["sign", "verify"]));
  const vcek = (await subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign", "verify"]));
  const suffix = `Cleanroom virtual platform ${randomBytes(4).toString("hex")}, INSECURE development root`;
  const arkName = `CN=ARK-Milan, O=${suffix}`;
  const askName = `CN=SEV-Milan, O=${suffix}`;
  const caExtensions = (pathLength?: number) => [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
  const bytes = tcbBytes(tcb);
  const vcekExtensions = [
    new x509.Extension(VCEK_OID.structVersion, false, derInteger(1)),
    new x509.Extension(VCEK_OID.productName, false, derTagged(0x16, Buffer.from("Milan-B0", "ascii"))),
    new x509.Extension(VCEK_OID.blSpl, false, derInteger(bytes[0]!)),
    new x509.Extension(VCEK_OID.teeSpl, false, derInteger(bytes[1]!)),
    new x509.Extension(VCEK_OID.snpSpl, false, derInteger(bytes[6]!)),
    new x509.Extension(VCEK_OID.ucodeSpl, false, derInteger(bytes[7]!)),
    // KDS stores hwID as raw bytes; so does this.
    new x509.Extension(VCEK_OID.hwId, false, chipId),
  ];
  const arkCert = await issue({ subject: arkName, issuer: arkName, publicKey: ark.publicKey, signingKey: ark.privateKey, serial: "01", now, extensions: caExtensions() });
  const askCert = await issue({ subject: askName, issuer: arkName, publicKey: ask.publicKey, signingKey: ark.privateKey, serial: "02", now, extensions: caExtensions(0) });
  const vcekCert = await issue({ subject: `CN=SEV-VCEK, O=${suffix}`, issuer: askName, publicKey: vcek.publicKey, signingKey: ask.privateKey, serial: "03", now, extensions: vcekExtensions });
  const pkcs8 = Buffer.from(await subtle.exportKey("pkcs8", vcek.privateKey));
  return new VirtualPlatform({
    kind: "cleanroom-virtual-sev-snp-platform",
    version: 1,
    certificatesPem: [vcekCert, askCert, arkCert].map((certificate) => certificate.toString("pem")).join("\n") + "\n",
    vcekPrivateKeyPem: createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }).export({ type: "pkcs8", format: "pem" }).toString(),
    chipId: chipId.toString("hex"),
    tcb: formatTcb(tcb),
  });
}
