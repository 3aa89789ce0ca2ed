import { createHash, type KeyObject } from "node:crypto";
import { AMD_ROOTS, spkiSha256 } from "./amd-roots.js";
import { type ParsedCertificate, checkValidity, isSignedBy, parseCertificate } from "./certificates.js";
import { derIa5String, derOctetString, derUnsignedInteger } from "./der.js";
import { AttestationError, check } from "./errors.js";
import { type SnpProduct, type TcbComponents, productFromName } from "./tcb.js";

const AMD_OID = "1.3.6.1.4.1.3704.1";
export const VCEK_OID = {
  structVersion: `${AMD_OID}.1`,
  productName: `${AMD_OID}.2`,
  blSpl: `${AMD_OID}.3.1`,
  teeSpl: `${AMD_OID}.3.2`,
  snpSpl: `${AMD_OID}.3.3`,
  ucodeSpl: `${AMD_OID}.3.8`,
  fmcSpl: `${AMD_OID}.3.9`,
  hwId: `${AMD_OID}.4`,
  cspId: `${AMD_OID}.5`,
} as const;

/** What a VCEK certificate says about the chip and TCB it was derived for. */
export interface VcekExtensions {
  productName: string;
  product: SnpProduct;
  /** CHIP_ID the VCEK belongs to: 64 bytes on Milan/Genoa, the first 8 bytes of CHIP_ID on Turin. */
  hwId: Uint8Array;
  tcb: TcbComponents;
}

function requireExtension(vcek: ParsedCertificate, oid: string, name: string): Uint8Array {
  const value = vcek.extensions.get(oid);
  if (value === undefined) throw new AttestationError("VcekExtension", `The VCEK has no ${name} extension (${oid}).`);
  return value;
}

/** Reads the AMD extensions of a VCEK. A VLEK (csp_id) or a missing/malformed extension is VcekExtension. */
export function readVcekExtensions(vcek: ParsedCertificate): VcekExtensions {
  check(!vcek.extensions.has(VCEK_OID.cspId), "VcekExtension", "The leaf is a VLEK (csp_id present), not a VCEK.");
  const productName = derIa5String(requireExtension(vcek, VCEK_OID.productName, "productName"), "productName");
  const product = productFromName(productName);
  const spl = (oid: string, name: string): number => {
    const value = derUnsignedInteger(requireExtension(vcek, oid, name), name);
    check(value <= 0xff, "VcekExtension", `${name} ${value} does not fit a TCB component.`);
    return value;
  };
  const tcb: TcbComponents = {
    bootLoader: spl(VCEK_OID.blSpl, "blSPL"),
    tee: spl(VCEK_OID.teeSpl, "teeSPL"),
    snp: spl(VCEK_OID.snpSpl, "snpSPL"),
    microcode: spl(VCEK_OID.ucodeSpl, "ucodeSPL"),
  };
  if (product === "Turin") tcb.fmc = spl(VCEK_OID.fmcSpl, "fmcSPL");
  const hwIdLength = product === "Turin" ? 8 : 64;
  let hwId = requireExtension(vcek, VCEK_OID.hwId, "hwID");
  // KDS stores hwID as raw bytes with no OCTET STRING tag; accept the tagged form too.
  if (hwId.length === hwIdLength + 2) hwId = derOctetString(hwId, hwIdLength, "hwID");
  check(
    hwId.length === hwIdLength || (product === "Turin" && hwId.length === 64),
    "VcekExtension",
    `hwID is ${hwId.length} bytes; expected ${hwIdLength} for ${product}.`,
  );
  return { productName, product, hwId: Uint8Array.from(hwId), tcb };
}

/** The three AMD certificates as presented in the evidence (DER), leaf first. */
export interface AmdCertificateDers {
  vcek: Uint8Array;
  ask: Uint8Array;
  ark: Uint8Array;
}

/**
 * Who anchors a chain: AMD (the pinned ARK of the VCEK's product), or a development root of trust of the virtual
 * platform, which a verifier accepts only when the caller lists it explicitly.
 */
export type RootOfTrust = "amd" | "virtual";

/** A chain whose signatures were verified. Validity times and the pin are NOT part of it: both are checked on every use. */
export interface VerifiedAmdChain {
  /** The product of the VCEK (productName), whose pinned ARK anchors the chain. */
  product: SnpProduct;
  /** SHA-256 of the ARK's SubjectPublicKeyInfo, the anchor the pin is checked against. */
  arkSpkiSha256: string;
  vcek: VcekExtensions;
  vcekPublicKey: KeyObject;
  certificates: readonly ParsedCertificate[];
}

/**
 * A cache of verified chains keyed by the SHA-256 of the three certificates. Only successful chain verifications
 * are stored, never a verdict on a report; validity times are re-checked on every use.
 */
export interface AmdChainCache {
  get(key: string): VerifiedAmdChain | undefined;
  set(key: string, chain: VerifiedAmdChain): void;
}

/** A small in-memory LRU {@link AmdChainCache}. */
export function createAmdChainCache(maxEntries = 256): AmdChainCache {
  const entries = new Map<string, VerifiedAmdChain>();
  return {
    get(key) {
      const chain = entries.get(key);
      if (chain !== undefined) {
        entries.delete(key);
        entries.set(key, chain);
      }
      return chain;
    },
    set(key, chain) {
      entries.delete(key);
      entries.set(key, chain);
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done === true) break;
        entries.delete(oldest.value);
      }
    },
  };
}

function chainCacheKey(ders: AmdCertificateDers): string {
  const hash = createHash("sha256");
  for (const der of [ders.vcek, ders.ask, ders.ark]) hash.update(createHash("sha256").update(der).digest());
  return hash.digest("hex");
}

/**
 * The anchor of a chain: AMD's pinned ARK for the product, else one of the virtual roots the caller accepts
 * (ARK SPKI SHA-256, lowercase hex). Anything else is ArkNotPinned.
 */
function rootOfTrust(arkSpki: string, product: SnpProduct, subject: string, virtualRoots: readonly string[]): RootOfTrust {
  if (arkSpki === AMD_ROOTS[product].arkSpkiSha256) return "amd";
  if (virtualRoots.includes(arkSpki)) return "virtual";
  throw new AttestationError("ArkNotPinned", `The ARK "${subject}" is not the pinned AMD root for ${product}.`);
}

function verifySignatures(ders: AmdCertificateDers, virtualRoots: readonly string[]): VerifiedAmdChain {
  const vcek = parseCertificate(ders.vcek, "MalformedEvidence");
  const ask = parseCertificate(ders.ask, "MalformedEvidence");
  const ark = parseCertificate(ders.ark, "MalformedEvidence");
  const extensions = readVcekExtensions(vcek);
  const { product } = extensions;
  const arkSpkiSha256 = spkiSha256(ark.node);
  // Pinned before any signature work, so an unknown root costs nothing.
  rootOfTrust(arkSpkiSha256, product, ark.subject, virtualRoots);
  check(isSignedBy(ark, ark), "ChainSignature", "The ARK is not validly self-signed.");
  check(isSignedBy(ask, ark), "ChainSignature", "The ASK is not signed by the ARK.");
  check(isSignedBy(vcek, ask), "ChainSignature", "The VCEK is not signed by the ASK.");
  const vcekPublicKey = vcek.node.publicKey;
  check(
    vcekPublicKey.asymmetricKeyType === "ec" && vcekPublicKey.asymmetricKeyDetails?.namedCurve === "secp384r1",
    "VcekExtension",
    "The VCEK key is not ECDSA P-384.",
  );
  return { product, arkSpkiSha256, vcek: extensions, vcekPublicKey, certificates: [vcek, ask, ark] };
}

/**
 * Verifies ARK (pinned by SPKI SHA-256 for the VCEK's product, or one of `virtualRoots`, self-signed) → ASK → VCEK
 * (RSA-PSS), then the validity period of all three against `now`. With a cache, parsing and signature work are
 * skipped for a chain seen before; the pin and the validity times are always checked, so a cache shared between
 * verifiers that accept different roots cannot widen either.
 */
export function verifyAmdChain(
  ders: AmdCertificateDers,
  now: Date,
  cache?: AmdChainCache,
  virtualRoots: readonly string[] = [],
): VerifiedAmdChain & { rootOfTrust: RootOfTrust } {
  const key = cache === undefined ? undefined : chainCacheKey(ders);
  let chain = key === undefined ? undefined : cache?.get(key);
  if (chain === undefined) {
    chain = verifySignatures(ders, virtualRoots);
    if (key !== undefined) cache?.set(key, chain);
  }
  const root = rootOfTrust(chain.arkSpkiSha256, chain.product, chain.certificates[2]?.subject ?? "ARK", virtualRoots);
  for (const certificate of chain.certificates) checkValidity(certificate, now);
  return { ...chain, rootOfTrust: root };
}
