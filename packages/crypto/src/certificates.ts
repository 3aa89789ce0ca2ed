import "reflect-metadata";
import { X509Certificate, createHash, randomBytes, webcrypto, type KeyObject } from "node:crypto";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import * as x509 from "@peculiar/x509";
import { isP384 } from "./keys.js";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ECDSA_P384 = { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" } as const;
const DAY_MS = 86_400_000;

/** Options for a certificate Cleanroom issues (service, node and member identities). */
export interface CertificateOptions {
  /** Common name placed in the subject, e.g. `CCF Service` or a member's identifier. */
  commonName: string;
  /** Certificate validity in days, counted from one hour before now to tolerate clock skew. */
  validityDays?: number;
  /** Marks the certificate as a CA (the service identity endorses node certificates). */
  isCa?: boolean;
  /** Subject alternative names: IP addresses and DNS names. */
  ipAddresses?: string[];
  dnsNames?: string[];
}

async function toCryptoKeys(privateKeyPem: string, publicKeyPem: string): Promise<CryptoKeyPair> {
  const privateKey = await webcrypto.subtle.importKey("pkcs8", pemBody(privateKeyPem), ECDSA_P384, false, ["sign"]);
  const publicKey = await webcrypto.subtle.importKey("spki", pemBody(publicKeyPem), ECDSA_P384, true, ["verify"]);
  return { privateKey, publicKey };
}

function pemBody(pem: string): Buffer {
  const body = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, "").replace(/\s+/g, "");
  return Buffer.from(body, "base64");
}

function extensionsFor(options: CertificateOptions, publicKey: CryptoKey): Promise<x509.Extension[]> {
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(options.isCa ?? false, undefined, true)];
  const names: x509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  return x509.SubjectKeyIdentifierExtension.create(publicKey).then((ski) => [...extensions, ski]);
}

function validity(options: CertificateOptions): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Date.now() - 3_600_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + (options.validityDays ?? 365) * DAY_MS) };
}

function serialNumber(): string {
  // A positive 128-bit serial: clear the top bit so DER does not need a sign byte.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

/** Creates a self-signed ECDSA P-384 certificate (ecdsa-with-SHA384) for the given key pair. */
export async function createSelfSignedCertificate(
  keyPair: { privateKeyPem: string; publicKeyPem: string },
  options: CertificateOptions,
): Promise<string> {
  const keys = await toCryptoKeys(keyPair.privateKeyPem, keyPair.publicKeyPem);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${escapeDn(options.commonName)}`,
    ...validity(options),
    signingAlgorithm: ECDSA_P384,
    keys,
    extensions: await extensionsFor(options, keys.publicKey),
  });
  return cert.toString("pem") + "\n";
}

/** Issues a certificate for `subjectPublicKeyPem`, signed by the issuer's key (e.g. the service endorsing a node). */
export async function createEndorsedCertificate(
  subjectPublicKeyPem: string,
  issuer: { privateKeyPem: string; publicKeyPem: string; certificatePem: string },
  options: CertificateOptions,
): Promise<string> {
  const issuerKeys = await toCryptoKeys(issuer.privateKeyPem, issuer.publicKeyPem);
  const subjectKey = await webcrypto.subtle.importKey("spki", pemBody(subjectPublicKeyPem), ECDSA_P384, true, ["verify"]);
  const issuerCert = new x509.X509Certificate(issuer.certificatePem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${escapeDn(options.commonName)}`,
    issuer: issuerCert.subject,
    ...validity(options),
    signingAlgorithm: ECDSA_P384,
    publicKey: subjectKey,
    signingKey: issuerKeys.privateKey,
    extensions: [
      ...(await extensionsFor(options, subjectKey)),
      await x509.AuthorityKeyIdentifierExtension.create(issuerKeys.publicKey),
    ],
  });
  return cert.toString("pem") + "\n";
}

function escapeDn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, "\\$1");
}

/** What Cleanroom needs to know about an identity certificate. */
export interface CertificateInfo {
  /** Lowercase hex SHA-256 of the DER encoding: the member or user id, as in CCF. */
  id: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  isP384: boolean;
  /** The certificate normalised to a single PEM block with a trailing newline. */
  pem: string;
}

/**
 * Parses a PEM certificate. Throws on anything that is not exactly one X.509 certificate, so that a bundle or
 * trailing garbage never silently registers a different identity than the one the caller looked at.
 */
export function parseCertificate(pem: string): CertificateInfo {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const [block] = blocks;
  if (block === undefined || blocks.length !== 1) throw new Error(`Expected exactly one PEM certificate, found ${blocks.length}.`);
  if (pem.replace(block, "").trim().length > 0) throw new Error("Unexpected data around the PEM certificate.");
  const cert = new X509Certificate(block);
  return {
    id: certificateId(cert.raw),
    subject: cert.subject,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    publicKey: cert.publicKey,
    isP384: isP384(cert.publicKey),
    pem: cert.toString().trim() + "\n",
  };
}

/** Member/user id for a certificate: lowercase hex SHA-256 of its DER bytes. */
export function certificateId(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}

/** True when `certificatePem` carries a valid signature by `issuerCertificatePem`'s key (an endorsement). */
export function isEndorsedBy(certificatePem: string, issuerCertificatePem: string): boolean {
  const cert = new X509Certificate(certificatePem);
  const issuer = new X509Certificate(issuerCertificatePem);
  return cert.verify(issuer.publicKey);
}
