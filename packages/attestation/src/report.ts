import { AttestationError, check } from "./errors.js";

/** Size of an SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP ABI, spec 56860). */
export const SNP_REPORT_SIZE = 0x4a0;
/** The report signature covers bytes [0, SNP_SIGNED_REGION_END). */
export const SNP_SIGNED_REGION_END = 0x2a0;
/** Report versions whose layout this parser knows. 2: no CPUID fields; 3: CPUID; 5: mitigation vectors. */
export const SUPPORTED_REPORT_VERSIONS: readonly number[] = [2, 3, 5];
/** SIGNATURE_ALGO value for ECDSA P-384 with SHA-384, the only one defined. */
export const SIGNATURE_ALGO_ECDSA_P384_SHA384 = 1;

/** One field of the binary layout. `reserved` fields must be zero; `signature` fields are outside the signed region. */
export interface ReportField {
  name: string;
  offset: number;
  size: number;
  reserved?: true;
}

/** The layout, in order and without gaps (a test asserts that), so tests can mutate every field. */
export const REPORT_FIELDS: readonly ReportField[] = [
  { name: "version", offset: 0x000, size: 4 },
  { name: "guest_svn", offset: 0x004, size: 4 },
  { name: "policy", offset: 0x008, size: 8 },
  { name: "family_id", offset: 0x010, size: 16 },
  { name: "image_id", offset: 0x020, size: 16 },
  { name: "vmpl", offset: 0x030, size: 4 },
  { name: "signature_algo", offset: 0x034, size: 4 },
  { name: "current_tcb", offset: 0x038, size: 8 },
  { name: "platform_info", offset: 0x040, size: 8 },
  { name: "signer_info", offset: 0x048, size: 4 },
  { name: "reserved_04c", offset: 0x04c, size: 4, reserved: true },
  { name: "report_data", offset: 0x050, size: 64 },
  { name: "measurement", offset: 0x090, size: 48 },
  { name: "host_data", offset: 0x0c0, size: 32 },
  { name: "id_key_digest", offset: 0x0e0, size: 48 },
  { name: "author_key_digest", offset: 0x110, size: 48 },
  { name: "report_id", offset: 0x140, size: 32 },
  { name: "report_id_ma", offset: 0x160, size: 32 },
  { name: "reported_tcb", offset: 0x180, size: 8 },
  { name: "cpuid_fam_id", offset: 0x188, size: 1 },
  { name: "cpuid_mod_id", offset: 0x189, size: 1 },
  { name: "cpuid_step", offset: 0x18a, size: 1 },
  { name: "reserved_18b", offset: 0x18b, size: 21, reserved: true },
  { name: "chip_id", offset: 0x1a0, size: 64 },
  { name: "committed_tcb", offset: 0x1e0, size: 8 },
  { name: "current_build", offset: 0x1e8, size: 1 },
  { name: "current_minor", offset: 0x1e9, size: 1 },
  { name: "current_major", offset: 0x1ea, size: 1 },
  { name: "reserved_1eb", offset: 0x1eb, size: 1, reserved: true },
  { name: "committed_build", offset: 0x1ec, size: 1 },
  { name: "committed_minor", offset: 0x1ed, size: 1 },
  { name: "committed_major", offset: 0x1ee, size: 1 },
  { name: "reserved_1ef", offset: 0x1ef, size: 1, reserved: true },
  { name: "launch_tcb", offset: 0x1f0, size: 8 },
  { name: "launch_mit_vector", offset: 0x1f8, size: 8 },
  { name: "current_mit_vector", offset: 0x200, size: 8 },
  { name: "reserved_208", offset: 0x208, size: 0x2a0 - 0x208, reserved: true },
  { name: "signature_r", offset: 0x2a0, size: 72 },
  { name: "signature_s", offset: 0x2e8, size: 72 },
  { name: "signature_reserved", offset: 0x330, size: SNP_REPORT_SIZE - 0x330, reserved: true },
];

/** Guest policy bits (ABI spec, "GUEST_POLICY"). Bits 26..63 must be zero and bit 17 must be one. */
export interface GuestPolicy {
  abiMinor: number;
  abiMajor: number;
  smt: boolean;
  migrateMa: boolean;
  debug: boolean;
  singleSocket: boolean;
  cxlAllow: boolean;
  memAes256Xts: boolean;
  raplDis: boolean;
  ciphertextHiding: boolean;
  pageSwapDisable: boolean;
}

export interface FirmwareVersion {
  build: number;
  minor: number;
  major: number;
}

/** A parsed, not yet verified, attestation report. Byte fields are copies; TCB values are the raw little-endian u64. */
export interface SnpReport {
  version: number;
  guestSvn: number;
  policy: bigint;
  policyDecoded: GuestPolicy;
  familyId: Uint8Array;
  imageId: Uint8Array;
  vmpl: number;
  signatureAlgo: number;
  currentTcb: bigint;
  platformInfo: bigint;
  authorKeyEn: boolean;
  maskChipKey: boolean;
  /** 0 = VCEK, 1 = VLEK, 7 = none. */
  signingKey: number;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  reportedTcb: bigint;
  /** CPUID family/model/stepping (report version 3 and later); undefined for version 2. */
  cpuid: { family: number; model: number; stepping: number } | undefined;
  chipId: Uint8Array;
  committedTcb: bigint;
  currentVersion: FirmwareVersion;
  committedVersion: FirmwareVersion;
  launchTcb: bigint;
  /** Mitigation vectors (version 5 and later); undefined before. */
  launchMitVector: bigint | undefined;
  currentMitVector: bigint | undefined;
  /** The two 72-byte little-endian signature components as stored. */
  signatureR: Uint8Array;
  signatureS: Uint8Array;
  /** The exact bytes the signature covers. */
  signedBytes: Uint8Array;
}

const POLICY_RESERVED_MUST_BE_ONE = 1n << 17n;
const POLICY_MBZ_MASK = ~((1n << 26n) - 1n) & 0xffff_ffff_ffff_ffffn;
const SIGNER_INFO_MBZ_MASK = 0xffff_ffe0;

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}

function decodePolicy(policy: bigint): GuestPolicy {
  const bit = (n: number): boolean => ((policy >> BigInt(n)) & 1n) === 1n;
  return {
    abiMinor: Number(policy & 0xffn),
    abiMajor: Number((policy >> 8n) & 0xffn),
    smt: bit(16),
    migrateMa: bit(18),
    debug: bit(19),
    singleSocket: bit(20),
    cxlAllow: bit(21),
    memAes256Xts: bit(22),
    raplDis: bit(23),
    ciphertextHiding: bit(24),
    pageSwapDisable: bit(25),
  };
}

/**
 * Parses the 1184-byte report. Rejects a wrong size (ReportSize), a version whose layout is unknown (ReportVersion)
 * and non-zero reserved fields or policy bits (ReportReservedNonZero). Says nothing about authenticity.
 */
export function parseSnpReport(input: Uint8Array): SnpReport {
  check(input instanceof Uint8Array, "ReportSize", "The report must be bytes.");
  check(
    input.length === SNP_REPORT_SIZE,
    "ReportSize",
    `An SEV-SNP report is ${SNP_REPORT_SIZE} bytes; got ${input.length}.`,
  );
  const bytes = Uint8Array.from(input);
  const view = new DataView(bytes.buffer);
  const u8 = (offset: number): number => view.getUint8(offset);
  const u32 = (offset: number): number => view.getUint32(offset, true);
  const u64 = (offset: number): bigint => view.getBigUint64(offset, true);
  const slice = (offset: number, size: number): Uint8Array => bytes.slice(offset, offset + size);

  const version = u32(0x000);
  check(
    SUPPORTED_REPORT_VERSIONS.includes(version),
    "ReportVersion",
    `Report version ${version} is not supported (supported: ${SUPPORTED_REPORT_VERSIONS.join(", ")}).`,
  );

  for (const field of REPORT_FIELDS) {
    if (field.reserved && field.offset < SNP_SIGNED_REGION_END && !isZero(slice(field.offset, field.size))) {
      throw new AttestationError("ReportReservedNonZero", `Reserved field ${field.name} is not zero.`);
    }
  }
  const cpuidBytes = slice(0x188, 3);
  if (version < 3) {
    check(isZero(cpuidBytes), "ReportReservedNonZero", "CPUID fields must be zero in a version 2 report.");
  }
  const mitigation = slice(0x1f8, 16);
  if (version < 5) {
    check(isZero(mitigation), "ReportReservedNonZero", "Mitigation vectors must be zero before report version 5.");
  }

  const policy = u64(0x008);
  check((policy & POLICY_MBZ_MASK) === 0n, "ReportReservedNonZero", "Guest policy bits 26-63 must be zero.");
  check(
    (policy & POLICY_RESERVED_MUST_BE_ONE) !== 0n,
    "ReportReservedNonZero",
    "Guest policy bit 17 (reserved) must be one.",
  );
  const signerInfo = u32(0x048);
  check((signerInfo & SIGNER_INFO_MBZ_MASK) === 0, "ReportReservedNonZero", "Signer info bits 5-31 must be zero.");

  return {
    version,
    guestSvn: u32(0x004),
    policy,
    policyDecoded: decodePolicy(policy),
    familyId: slice(0x010, 16),
    imageId: slice(0x020, 16),
    vmpl: u32(0x030),
    signatureAlgo: u32(0x034),
    currentTcb: u64(0x038),
    platformInfo: u64(0x040),
    authorKeyEn: (signerInfo & 1) === 1,
    maskChipKey: ((signerInfo >> 1) & 1) === 1,
    signingKey: (signerInfo >> 2) & 0b111,
    reportData: slice(0x050, 64),
    measurement: slice(0x090, 48),
    hostData: slice(0x0c0, 32),
    idKeyDigest: slice(0x0e0, 48),
    authorKeyDigest: slice(0x110, 48),
    reportId: slice(0x140, 32),
    reportIdMa: slice(0x160, 32),
    reportedTcb: u64(0x180),
    cpuid: version >= 3 ? { family: u8(0x188), model: u8(0x189), stepping: u8(0x18a) } : undefined,
    chipId: slice(0x1a0, 64),
    committedTcb: u64(0x1e0),
    currentVersion: { build: u8(0x1e8), minor: u8(0x1e9), major: u8(0x1ea) },
    committedVersion: { build: u8(0x1ec), minor: u8(0x1ed), major: u8(0x1ee) },
    launchTcb: u64(0x1f0),
    launchMitVector: version >= 5 ? u64(0x1f8) : undefined,
    currentMitVector: version >= 5 ? u64(0x200) : undefined,
    signatureR: slice(0x2a0, 72),
    signatureS: slice(0x2e8, 72),
    signedBytes: slice(0, SNP_SIGNED_REGION_END),
  };
}

/**
 * Structural checks on who signed the report, made before any cryptography: only VCEK-signed reports are accepted
 * (SigningKeyNotVcek), with an unmasked chip id (ChipKeyMasked), signed with ECDSA P-384/SHA-384 (SignatureAlgorithm).
 */
export function checkReportSigner(report: SnpReport): void {
  check(
    report.signatureAlgo === SIGNATURE_ALGO_ECDSA_P384_SHA384,
    "SignatureAlgorithm",
    `SIGNATURE_ALGO ${report.signatureAlgo} is not ECDSA P-384 with SHA-384 (1).`,
  );
  check(
    report.signingKey === 0,
    "SigningKeyNotVcek",
    `The report is signed by key type ${report.signingKey}; only the VCEK (0) is accepted.`,
  );
  check(!report.maskChipKey, "ChipKeyMasked", "MASK_CHIP_KEY is set: the chip id is hidden.");
  check(!isZero(report.chipId), "ChipKeyMasked", "The chip id is all zero.");
}
