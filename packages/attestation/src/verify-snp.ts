import { AMD_ROOTS } from "./amd-roots.js";
import { parseCertificate, splitPemCertificates } from "./certificates.js";
import { type SnpClaims, snpClaims } from "./claims.js";
import { AttestationError, check } from "./errors.js";
import { type SnpEvidence, parseSnpEvidence } from "./evidence.js";
import { checkGuestPolicy, type GuestPolicyOptions } from "./guest-policy.js";
import { checkHostData } from "./host-data.js";
import { checkReportSigner, parseSnpReport, type SnpReport } from "./report.js";
import { checkReportData } from "./report-data.js";
import { verifyReportSignature } from "./report-signature.js";
import {
  type SnpProduct,
  type TcbComponents,
  describeTcb,
  firstTcbComponentBelow,
  formatTcb,
  parseTcbHex,
  productFromCpuid,
  tcbComponents,
} from "./tcb.js";
import { type UvmEndorsement, type UvmEndorsementCache, type UvmTrustedRoot, DEFAULT_UVM_ROOTS, verifyUvmEndorsement } from "./uvm-endorsement.js";
import { type AmdChainCache, type VcekExtensions, type RootOfTrust, type VerifiedAmdChain, readVcekExtensions, verifyAmdChain } from "./vcek.js";

export interface VerifySnpOptions extends GuestPolicyOptions {
  /**
   * HOST_DATA values (hex) accepted, e.g. `hostDataFromCcePolicy(ccePolicy)` for each allowed CCE policy.
   * `"unchecked"` leaves the comparison to the caller (the value is in the claims); it must be chosen explicitly.
   */
  allowedHostData: readonly string[] | "unchecked";
  /**
   * The data REPORT_DATA must bind (SHA-256 of it, then 32 zero bytes): normally the public key PEM the secret or
   * token will be wrapped to. `"unchecked"` must be chosen explicitly.
   */
  reportData: { runtimeData: string | Uint8Array } | "unchecked";
  /** Minimum TCB per product, as 16 hex digits (CCF's `set_snp_minimum_tcb_version_hex` form). */
  minimumTcb?: Partial<Readonly<Record<SnpProduct, string>>>;
  /** UVM endorsement requirements. By default an endorsement is required and checked against {@link DEFAULT_UVM_ROOTS}. */
  uvm?: { required?: boolean; roots?: readonly UvmTrustedRoot[] };
  /** The time AMD certificate validity is checked against. Default: now. */
  now?: Date;
  /**
   * DEVELOPMENT ONLY: roots of trust of virtual platforms (see `createVirtualPlatform`) accepted besides AMD's, as the
   * SHA-256 of each root's SubjectPublicKeyInfo (`VirtualPlatform.rootSpkiSha256`). Anyone holding a virtual
   * platform's keys can sign any report, so a verifier lists one only when it is explicitly told to be insecure.
   * A report anchored there needs no UVM endorsement (the virtual platform has no UVM publisher) and its result
   * says `rootOfTrust: "virtual"`.
   */
  virtualRoots?: readonly string[];
  /** Optional cache of verified AMD chains (see {@link createAmdChainCache}). Verdicts are never cached. */
  chainCache?: AmdChainCache;
  /** Optional cache of verified UVM endorsement documents (by hash); the report-specific checks always run. */
  uvmCache?: UvmEndorsementCache;
}

/** The outcome of a successful verification. */
export interface SnpVerificationResult {
  report: SnpReport;
  product: SnpProduct;
  /** `"virtual"` when the chain is anchored at one of `options.virtualRoots`: never trust it outside development. */
  rootOfTrust: RootOfTrust;
  /** REPORTED_TCB in the 16-hex-digit form and by component. */
  reportedTcb: { hex: string; components: TcbComponents };
  vcek: VcekExtensions;
  /** The verified UVM endorsement, when one was given. */
  uvm?: UvmEndorsement;
  claims: SnpClaims;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function readEndorsements(pem: string): Uint8Array[] {
  check(typeof pem === "string", "MalformedEvidence", "The endorsements must be PEM text.");
  const ders = splitPemCertificates(pem, "MalformedEvidence");
  check(
    ders.length === 1 || ders.length === 3,
    "MalformedEvidence",
    `The endorsements hold ${ders.length} certificates; expected VCEK, ASK, ARK (or the VCEK alone).`,
  );
  return ders;
}

const pinnedDers = new Map<SnpProduct, { ask: Uint8Array; ark: Uint8Array }>();

/** The embedded ASK and ARK of `product`, for evidence that carries only the VCEK. */
function pinnedAskArk(product: SnpProduct): { ask: Uint8Array; ark: Uint8Array } {
  let ders = pinnedDers.get(product);
  if (ders === undefined) {
    const [ask] = splitPemCertificates(AMD_ROOTS[product].askPem, "InternalError");
    const [ark] = splitPemCertificates(AMD_ROOTS[product].arkPem, "InternalError");
    if (ask === undefined || ark === undefined) throw new AttestationError("InternalError", "Pinned AMD certificates are missing.");
    ders = { ask, ark };
    pinnedDers.set(product, ders);
  }
  return ders;
}

function checkProduct(report: SnpReport, chain: VerifiedAmdChain): void {
  if (report.cpuid === undefined) return; // version 2: the VCEK's product, anchored by its pinned ARK
  const product = productFromCpuid(report.cpuid);
  check(
    product === chain.product,
    "ProductMismatch",
    `The report's CPUID says ${product}; the VCEK is for ${chain.vcek.productName}.`,
  );
}

function checkChipId(report: SnpReport, vcek: VcekExtensions): void {
  const chipId = vcek.hwId.length === 8 ? report.chipId.subarray(0, 8) : report.chipId;
  check(
    equalBytes(chipId, vcek.hwId),
    "ChipIdMismatch",
    "The report's CHIP_ID is not the hwID the VCEK was issued for.",
  );
}

function runPipeline(evidence: SnpEvidence, options: VerifySnpOptions): SnpVerificationResult {
  // 1. Layout and who signed it.
  const report = parseSnpReport(evidence.report);
  checkReportSigner(report);

  // 2. The AMD chain: product, pinned ARK, signatures, validity.
  const [vcek, ask, ark] = readEndorsements(evidence.endorsementsPem) as [Uint8Array, ...Uint8Array[]];
  const roots =
    ask !== undefined && ark !== undefined
      ? { ask, ark }
      : pinnedAskArk(readVcekExtensions(parseCertificate(vcek, "MalformedEvidence")).product);
  const chain = verifyAmdChain({ vcek, ...roots }, options.now ?? new Date(), options.chainCache, options.virtualRoots);
  checkProduct(report, chain);
  const { product } = chain;

  // 3. The report against the VCEK: chip, TCB, signature.
  checkChipId(report, chain.vcek);
  const reported = tcbComponents(report.reportedTcb, product);
  const belowVcek = firstTcbComponentBelow(reported, chain.vcek.tcb);
  if (belowVcek !== undefined) {
    throw new AttestationError(
      "TcbBelowVcek",
      `REPORTED_TCB (${describeTcb(reported)}) is below the VCEK's TCB (${describeTcb(chain.vcek.tcb)}) in ${belowVcek}.`,
    );
  }
  verifyReportSignature(report, evidence.report, chain.vcekPublicKey);

  // 4. Platform and guest policy.
  const minimum = options.minimumTcb?.[product];
  if (minimum !== undefined) {
    const required = tcbComponents(parseTcbHex(minimum), product);
    const below = firstTcbComponentBelow(reported, required);
    if (below !== undefined) {
      throw new AttestationError(
        "TcbBelowMinimum",
        `REPORTED_TCB (${describeTcb(reported)}) is below the minimum for ${product} (${describeTcb(required)}) in ${below}.`,
      );
    }
  }
  const reportedHex = formatTcb(report.reportedTcb);
  if (evidence.endorsedTcb !== undefined) {
    check(
      evidence.endorsedTcb.toLowerCase() === reportedHex,
      "EndorsedTcbMismatch",
      `endorsed_tcb ${evidence.endorsedTcb} differs from REPORTED_TCB ${reportedHex}.`,
    );
  }
  checkGuestPolicy(report, options);

  // 5. The UVM the guest runs, as endorsed by its publisher.
  let uvm: UvmEndorsement | undefined;
  if (evidence.uvmEndorsements !== undefined) {
    uvm = verifyUvmEndorsement(evidence.uvmEndorsements, report.measurement, options.uvm?.roots ?? DEFAULT_UVM_ROOTS, options.uvmCache);
  } else {
    check(options.uvm?.required === false || chain.rootOfTrust === "virtual", "UvmMissing", "No UVM endorsement was given.");
  }

  // 6. What the guest runs (the CCE policy) and the key the report is bound to.
  if (options.allowedHostData !== "unchecked") checkHostData(report.hostData, options.allowedHostData);
  if (options.reportData !== "unchecked") checkReportData(report.reportData, options.reportData.runtimeData);

  return {
    report,
    product,
    rootOfTrust: chain.rootOfTrust,
    reportedTcb: { hex: reportedHex, components: reported },
    vcek: chain.vcek,
    ...(uvm === undefined ? {} : { uvm }),
    claims: snpClaims(report, reported, uvm !== undefined),
  };
}

/**
 * Verifies SEV-SNP evidence from a Confidential ACI workload. Checks, in order: report size, version and reserved
 * fields; signer (ECDSA P-384, VCEK, unmasked chip key); AMD chain (VCEK extensions, ARK pinned for the VCEK's
 * product, signatures, validity at `now`); the report's product; CHIP_ID and REPORTED_TCB against the VCEK; the
 * report signature; minimum TCB; endorsed_tcb consistency; debug, migration agent and VMPL; the UVM endorsement;
 * HOST_DATA; REPORT_DATA. Throws an {@link AttestationError} on the first failure; any other exception is turned
 * into one (InternalError), so nothing unexpected passes.
 */
export function verifySnpAttestation(evidence: SnpEvidence, options: VerifySnpOptions): SnpVerificationResult {
  try {
    return runPipeline(evidence, options);
  } catch (error) {
    if (error instanceof AttestationError) throw error;
    throw new AttestationError(
      "InternalError",
      `Verification failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/** {@link verifySnpAttestation} for the JSON evidence shape `{evidence, endorsements, uvm_endorsements?, endorsed_tcb?}`. */
export function verifySnpEvidence(evidence: unknown, options: VerifySnpOptions): SnpVerificationResult {
  let parsed: SnpEvidence;
  try {
    parsed = parseSnpEvidence(evidence);
  } catch (error) {
    if (error instanceof AttestationError) throw error;
    throw new AttestationError("MalformedEvidence", "The evidence could not be parsed.", { cause: error });
  }
  return verifySnpAttestation(parsed, options);
}
