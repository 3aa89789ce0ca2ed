import { createHash } from "node:crypto";
import { type ParsedCertificate, extendedKeyUsages, isSignedBy } from "./certificates.js";
import { AttestationError, check } from "./errors.js";

const HASH_LENGTHS: Readonly<Record<string, number>> = { sha256: 32, sha384: 48, sha512: 64 };

/** A parsed `did:x509:0:<hash>:<base64url CA fingerprint>::eku:<oid>` identifier. Only the `eku` policy is supported. */
export interface DidX509 {
  hashAlgorithm: string;
  caFingerprint: Buffer;
  eku: string[];
}

/** Parses a did:x509 (version 0) with one or more `eku` policies. Anything else is UvmIssuer. */
export function parseDidX509(did: string): DidX509 {
  const [head, ...policies] = did.split("::");
  const parts = (head ?? "").split(":");
  check(
    parts.length === 5 && parts[0] === "did" && parts[1] === "x509" && parts[2] === "0",
    "UvmIssuer",
    `"${did}" is not a did:x509 version 0 identifier.`,
  );
  const hashAlgorithm = parts[3] ?? "";
  const expectedLength = HASH_LENGTHS[hashAlgorithm];
  check(expectedLength !== undefined, "UvmIssuer", `did:x509 hash algorithm "${hashAlgorithm}" is not supported.`);
  const encoded = parts[4] ?? "";
  check(/^[A-Za-z0-9_-]+$/.test(encoded), "UvmIssuer", "The did:x509 CA fingerprint is not base64url.");
  const caFingerprint = Buffer.from(encoded, "base64url");
  check(
    caFingerprint.length === expectedLength && caFingerprint.toString("base64url") === encoded,
    "UvmIssuer",
    "The did:x509 CA fingerprint has the wrong length or a non-canonical encoding.",
  );
  check(policies.length > 0, "UvmIssuer", "The did:x509 identifier has no policy.");
  const eku: string[] = [];
  for (const policy of policies) {
    const match = /^eku:([0-9]+(?:\.[0-9]+)+)$/.exec(policy);
    if (match?.[1] === undefined) {
      throw new AttestationError("UvmIssuer", `did:x509 policy "${policy}" is not supported (only eku:<oid>).`);
    }
    eku.push(match[1]);
  }
  return { hashAlgorithm, caFingerprint, eku };
}

/**
 * Resolves a did:x509 against an x5chain (leaf first), ignoring validity times as CCF does: every certificate must
 * be signed by the next, the last must be self-signed, every certificate but the leaf must be a CA, one of the CA
 * certificates must have the DID's fingerprint, and the leaf must carry every EKU the DID names. Throws UvmIssuer.
 */
export function resolveDidX509(did: string, chain: readonly ParsedCertificate[]): void {
  const parsed = parseDidX509(did);
  check(chain.length >= 2, "UvmIssuer", "A did:x509 chain needs at least a leaf and a CA certificate.");
  for (let i = 0; i < chain.length; i++) {
    const certificate = chain[i]!;
    const issuer = chain[i + 1] ?? certificate;
    check(isSignedBy(certificate, issuer), "UvmIssuer", `x5chain certificate ${i} is not signed by the next one.`);
    if (i > 0) check(certificate.node.ca, "UvmIssuer", `x5chain certificate ${i} is not a CA certificate.`);
  }
  const fingerprintMatches = chain
    .slice(1)
    .some((ca) => createHash(parsed.hashAlgorithm).update(ca.der).digest().equals(parsed.caFingerprint));
  check(fingerprintMatches, "UvmIssuer", "No CA certificate in the x5chain has the did:x509 fingerprint.");
  const leafEkus = extendedKeyUsages(chain[0]!);
  for (const eku of parsed.eku) {
    check(leafEkus.includes(eku), "UvmIssuer", `The x5chain leaf lacks the extended key usage ${eku}.`);
  }
}
