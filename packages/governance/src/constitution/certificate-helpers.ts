/** Host side of the certificate helpers exposed to constitutions (`ccf.pemToId`, `ccf.crypto.*`, `cleanroom.*`). */
import { parseCertificate } from "@cleanroom/crypto";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** What `cleanroom.certificateInfo(pem)` returns inside the VM (dates as ISO strings, so the value is JSON). */
export interface VmCertificateInfo {
  id: string;
  subject: string;
  isP384: boolean;
  notBefore: string;
  notAfter: string;
}

/** Lowercase hex SHA-256 of the DER of the single certificate in `pem` (the CCF member id). Throws if invalid. */
export function pemToId(pem: string): string {
  return parseCertificate(pem).id;
}

/** Summary of exactly one PEM certificate; throws on anything else (bundles, garbage, trailing data). */
export function certificateInfo(pem: string): VmCertificateInfo {
  const info = parseCertificate(pem);
  return {
    id: info.id,
    subject: info.subject,
    isP384: info.isP384,
    notBefore: info.notBefore.toISOString(),
    notAfter: info.notAfter.toISOString(),
  };
}

/** True when `pem` is one or more PEM certificates, each a valid X.509 certificate, and nothing else. */
export function isValidX509CertBundle(pem: string): boolean {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0 || pem.replace(PEM_CERTIFICATE, "").trim().length > 0) return false;
  try {
    for (const block of blocks) parseCertificate(block);
    return true;
  } catch {
    return false;
  }
}
