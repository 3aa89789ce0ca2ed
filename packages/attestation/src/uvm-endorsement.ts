import { constants, createHash, verify, type KeyObject } from "node:crypto";
import { coseToBeSigned, decodeCoseSign1, type CoseSign1 } from "@cleanroom/crypto";
import { type ParsedCertificate, parseCertificate } from "./certificates.js";
import { resolveDidX509 } from "./did-x509.js";
import { AttestationError, check, failClosed } from "./errors.js";

/** A trusted UVM endorsement source: who (did:x509), which feed, and the lowest acceptable SVN. */
export interface UvmTrustedRoot {
  did: string;
  feed: string;
  minimumSvn: number;
}

/**
 * CCF's default root of trust for Confidential ACI UVMs (Microsoft's ContainerPlat signing chain, feed
 * ContainerPlat-AMD-UVM, SVN at least 100).
 */
export const DEFAULT_UVM_ROOTS: readonly UvmTrustedRoot[] = [
  {
    did: "did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.2",
    feed: "ContainerPlat-AMD-UVM",
    minimumSvn: 100,
  },
];

/** What a verified UVM endorsement says. */
export interface UvmEndorsement {
  did: string;
  feed: string;
  svn: number;
  /** Lowercase hex SHA-384 launch measurement the document endorses (equal to the report's MEASUREMENT). */
  launchMeasurement: string;
}

const HEADER_ALG = 1;
const HEADER_CRIT = 2;
const HEADER_CONTENT_TYPE = 3;
const HEADER_X5CHAIN = 33;
const COSE_SIGN1_TAG_BYTE = 0xd2;

interface CoseAlgorithm {
  hash: string;
  kind: "rsa-pss" | "ecdsa";
  saltLength?: number;
  curve?: string;
}

const COSE_ALGORITHMS: ReadonlyMap<number, CoseAlgorithm> = new Map([
  [-37, { hash: "sha256", kind: "rsa-pss", saltLength: 32 }],
  [-38, { hash: "sha384", kind: "rsa-pss", saltLength: 48 }],
  [-39, { hash: "sha512", kind: "rsa-pss", saltLength: 64 }],
  [-7, { hash: "sha256", kind: "ecdsa", curve: "prime256v1" }],
  [-35, { hash: "sha384", kind: "ecdsa", curve: "secp384r1" }],
  [-36, { hash: "sha512", kind: "ecdsa", curve: "secp521r1" }],
]);

function verifyCoseSignature(message: CoseSign1, algorithm: CoseAlgorithm, key: KeyObject): boolean {
  const toBeSigned = coseToBeSigned(message);
  if (algorithm.kind === "rsa-pss") {
    if (key.asymmetricKeyType !== "rsa" && key.asymmetricKeyType !== "rsa-pss") return false;
    return verify(
      algorithm.hash,
      toBeSigned,
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: algorithm.saltLength },
      message.signature,
    );
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== algorithm.curve) return false;
  return verify(algorithm.hash, toBeSigned, { key, dsaEncoding: "ieee-p1363" }, message.signature);
}

function stringHeader(message: CoseSign1, label: string | number, name: string): string {
  const value = message.protectedHeader.get(label);
  check(typeof value === "string" && value !== "", "UvmMalformed", `The protected header has no ${name}.`);
  return value;
}

function x5chain(message: CoseSign1): ParsedCertificate[] {
  const value = message.protectedHeader.get(HEADER_X5CHAIN);
  const ders = value instanceof Uint8Array ? [value] : Array.isArray(value) ? (value as unknown[]) : [];
  check(ders.length > 0, "UvmMalformed", "The protected header has no x5chain.");
  return ders.map((der) => {
    check(der instanceof Uint8Array, "UvmMalformed", "x5chain entries must be byte strings.");
    return parseCertificate(der, "UvmMalformed");
  });
}

function parseSvn(value: unknown): number {
  const text = typeof value === "number" ? String(value) : value;
  check(
    typeof text === "string" && /^(0|[1-9][0-9]{0,8})$/.test(text),
    "UvmMalformed",
    "The UVM endorsement SVN is not a non-negative integer.",
  );
  return Number(text);
}

function parsePayload(message: CoseSign1): { launchMeasurement: string; svn: number } {
  const payload = failClosed("UvmMalformed", "The UVM endorsement payload is not JSON", (): unknown =>
    JSON.parse(Buffer.from(message.payload).toString("utf8")),
  );
  check(
    typeof payload === "object" && payload !== null && !Array.isArray(payload),
    "UvmMalformed",
    "The UVM endorsement payload is not a JSON object.",
  );
  const fields = payload as Record<string, unknown>;
  const measurement = fields["x-ms-sevsnpvm-launchmeasurement"];
  check(
    typeof measurement === "string" && /^[0-9a-fA-F]{96}$/.test(measurement),
    "UvmMalformed",
    "The UVM endorsement has no 48-byte hex launch measurement.",
  );
  const svn = parseSvn(fields["x-ms-sevsnpvm-guestsvn"]);
  if (fields["x-ms-sevsnpvm-guestsvn-int"] !== undefined) {
    check(
      parseSvn(fields["x-ms-sevsnpvm-guestsvn-int"]) === svn,
      "UvmMalformed",
      "The UVM endorsement's string and integer SVNs differ.",
    );
  }
  return { launchMeasurement: measurement.toLowerCase(), svn };
}

/**
 * Verifies a UVM endorsement (the CACI `reference-info`, a COSE_Sign1 with tag 18) against the report's
 * MEASUREMENT and the trusted roots, in this order: structure (UvmMalformed), signature by the x5chain leaf
 * (UvmSignature), did:x509 issuer resolved against the x5chain ignoring validity times (UvmIssuer), launch
 * measurement equals the report's (UvmMeasurementMismatch), then a trusted root with the same did (UvmIssuer), the
 * same feed (UvmFeed) and svn at least its minimum (UvmSvnTooLow).
 *
 * Only the JSON payload format is supported (content type application/json); the newer CWT-claims format is rejected
 * as UvmMalformed.
 */
export function verifyUvmEndorsement(
  bytes: Uint8Array,
  reportMeasurement: Uint8Array,
  roots: readonly UvmTrustedRoot[] = DEFAULT_UVM_ROOTS,
  cache?: UvmEndorsementCache,
): UvmEndorsement {
  // The document's own checks depend on its bytes alone (certificate times are deliberately not checked), so a
  // verified document can be remembered by its hash; the comparisons with this report and these roots never are.
  const key = cache ? createHash("sha256").update(bytes).digest("hex") : undefined;
  let document = key === undefined ? undefined : cache?.get(key);
  if (document === undefined) {
    document = verifyUvmDocument(bytes);
    if (key !== undefined) cache?.set(key, document);
  }
  const { did, feed } = document;
  const payload = document;
  const reportHex = Buffer.from(reportMeasurement).toString("hex");
  check(
    payload.launchMeasurement === reportHex,
    "UvmMeasurementMismatch",
    `The UVM endorsement is for launch measurement ${payload.launchMeasurement}, the report has ${reportHex}.`,
  );

  const forDid = roots.filter((root) => root.did === did);
  check(forDid.length > 0, "UvmIssuer", `UVM endorsement issuer ${did} is not trusted.`);
  const forFeed = forDid.filter((root) => root.feed === feed);
  check(forFeed.length > 0, "UvmFeed", `Feed "${feed}" is not trusted for issuer ${did}.`);
  check(
    forFeed.some((root) => payload.svn >= root.minimumSvn),
    "UvmSvnTooLow",
    `UVM SVN ${payload.svn} is below the minimum ${Math.min(...forFeed.map((root) => root.minimumSvn))} for feed "${feed}".`,
  );
  return { did, feed, svn: payload.svn, launchMeasurement: payload.launchMeasurement };
}

/** Verified UVM endorsement documents by the SHA-256 of their bytes (see {@link createUvmEndorsementCache}). */
export interface UvmEndorsementCache {
  get(key: string): UvmEndorsement | undefined;
  set(key: string, document: UvmEndorsement): void;
}

/** A small in-memory cache of verified UVM endorsement documents; the oldest entry goes first when full. */
export function createUvmEndorsementCache(maxEntries = 64): UvmEndorsementCache {
  const entries = new Map<string, UvmEndorsement>();
  return {
    get: (key) => entries.get(key),
    set(key, document) {
      entries.set(key, document);
      const oldest = entries.keys().next();
      if (entries.size > maxEntries && oldest.done !== true) entries.delete(oldest.value);
    },
  };
}

/** The checks of the document itself: COSE structure, signature by the x5chain leaf, did:x509 issuer, payload. */
function verifyUvmDocument(bytes: Uint8Array): UvmEndorsement {
  check(bytes[0] === COSE_SIGN1_TAG_BYTE, "UvmMalformed", "The UVM endorsement is not a tagged COSE_Sign1 (tag 18).");
  const message = failClosed("UvmMalformed", "The UVM endorsement is not a COSE_Sign1", () => decodeCoseSign1(bytes));
  check(!message.protectedHeader.has(HEADER_CRIT), "UvmMalformed", "Critical COSE headers are not supported.");
  const algId = message.protectedHeader.get(HEADER_ALG);
  const algorithm = typeof algId === "number" ? COSE_ALGORITHMS.get(algId) : undefined;
  if (algorithm === undefined) {
    throw new AttestationError("UvmMalformed", `COSE algorithm ${String(algId)} is not supported.`);
  }
  check(
    message.protectedHeader.get(HEADER_CONTENT_TYPE) === "application/json",
    "UvmMalformed",
    "Only UVM endorsements with an application/json payload are supported.",
  );
  const did = stringHeader(message, "iss", "iss");
  const feed = stringHeader(message, "feed", "feed");
  const chain = x5chain(message);
  const leafKey = chain[0]?.node.publicKey;
  check(leafKey !== undefined, "UvmMalformed", "The x5chain is empty.");
  const signatureValid = failClosed("UvmSignature", "The UVM endorsement signature could not be checked", () =>
    verifyCoseSignature(message, algorithm, leafKey),
  );
  check(signatureValid, "UvmSignature", "The UVM endorsement signature does not verify with the x5chain leaf.");
  resolveDidX509(did, chain);

  const payload = parsePayload(message);
  return { did, feed, svn: payload.svn, launchMeasurement: payload.launchMeasurement };
}
