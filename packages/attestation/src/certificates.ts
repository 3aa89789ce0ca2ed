import { X509Certificate } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate, ExtendedKeyUsage, id_ce_extKeyUsage } from "@peculiar/asn1-x509";
import { AttestationError, type AttestationFailureReason, failClosed } from "./errors.js";

/** A certificate parsed twice: by Node (signatures, keys) and by an ASN.1 schema (extensions, exact validity). */
export interface ParsedCertificate {
  der: Uint8Array;
  node: X509Certificate;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  /** extnID → raw extnValue contents (the bytes inside the OCTET STRING). Duplicate extensions are rejected. */
  extensions: ReadonlyMap<string, Uint8Array>;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

/**
 * Splits a PEM bundle into certificate DERs. Only CERTIFICATE blocks and whitespace are allowed; anything else
 * (other block types, stray text) is rejected rather than skipped.
 */
export function splitPemCertificates(pem: string, reason: AttestationFailureReason): Uint8Array[] {
  const ders: Uint8Array[] = [];
  let rest = pem;
  for (const match of pem.matchAll(PEM_BLOCK)) {
    ders.push(Buffer.from((match[1] ?? "").replace(/\s+/g, ""), "base64"));
    rest = rest.replace(match[0], "");
  }
  if (rest.trim() !== "") throw new AttestationError(reason, "The PEM bundle contains something other than certificates.");
  return ders;
}

/** Parses a DER certificate; any parse failure becomes `reason`. */
export function parseCertificate(der: Uint8Array, reason: AttestationFailureReason): ParsedCertificate {
  return failClosed(reason, "Unparseable certificate", () => {
    const node = new X509Certificate(der);
    // Decoded now, inside the fail-closed scope: a certificate whose key does not decode is unusable, and every later
    // use of `node.publicKey` may then rely on it.
    void node.publicKey;
    const asn = AsnConvert.parse(der, Certificate);
    const extensions = new Map<string, Uint8Array>();
    for (const extension of asn.tbsCertificate.extensions ?? []) {
      if (extensions.has(extension.extnID)) {
        throw new AttestationError(reason, `Duplicate certificate extension ${extension.extnID}.`);
      }
      extensions.set(extension.extnID, new Uint8Array(extension.extnValue.buffer));
    }
    const { notBefore, notAfter } = asn.tbsCertificate.validity;
    return {
      der: Uint8Array.from(der),
      node,
      subject: node.subject.replace(/\n/g, ", "),
      notBefore: notBefore.getTime(),
      notAfter: notAfter.getTime(),
      extensions,
    };
  });
}

/** Extended key usage OIDs of a certificate (empty when it has no EKU extension). */
export function extendedKeyUsages(certificate: ParsedCertificate): string[] {
  const raw = certificate.extensions.get(id_ce_extKeyUsage);
  if (raw === undefined) return [];
  return AsnConvert.parse(raw, ExtendedKeyUsage).map(String);
}

/** Throws CertificateExpired / CertificateNotYetValid unless `now` is inside the certificate's validity period. */
export function checkValidity(certificate: { subject: string; notBefore: Date; notAfter: Date }, now: Date): void {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new AttestationError("InternalError", "The verification clock is not a valid date.");
  }
  if (now.getTime() < certificate.notBefore.getTime()) {
    throw new AttestationError(
      "CertificateNotYetValid",
      `Certificate "${certificate.subject}" is not valid before ${certificate.notBefore.toISOString()}.`,
    );
  }
  if (now.getTime() > certificate.notAfter.getTime()) {
    throw new AttestationError(
      "CertificateExpired",
      `Certificate "${certificate.subject}" expired at ${certificate.notAfter.toISOString()}.`,
    );
  }
}

/** `child` names `parent` as issuer and carries a valid signature by `parent`'s key (times not considered). */
export function isSignedBy(child: ParsedCertificate, parent: ParsedCertificate): boolean {
  try {
    return child.node.checkIssued(parent.node) && child.node.verify(parent.node.publicKey);
  } catch {
    return false;
  }
}
