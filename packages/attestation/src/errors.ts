/**
 * Every reason a piece of SEV-SNP evidence can be rejected. The codes are stable: services map them to HTTP errors
 * and tests assert on them, so add new ones rather than renaming.
 */
export const ATTESTATION_FAILURE_REASONS = [
  "MalformedEvidence",
  "ReportSize",
  "ReportVersion",
  "ReportReservedNonZero",
  "SignatureAlgorithm",
  "SigningKeyNotVcek",
  "ChipKeyMasked",
  "UnknownProduct",
  "ProductMismatch",
  "ArkNotPinned",
  "ChainSignature",
  "CertificateExpired",
  "CertificateNotYetValid",
  "VcekExtension",
  "ChipIdMismatch",
  "TcbBelowVcek",
  "ReportSignature",
  "TcbBelowMinimum",
  "EndorsedTcbMismatch",
  "DebugPolicy",
  "MigrationAgent",
  "VmplNotZero",
  "UvmMissing",
  "UvmMalformed",
  "UvmSignature",
  "UvmIssuer",
  "UvmMeasurementMismatch",
  "UvmFeed",
  "UvmSvnTooLow",
  "HostDataNotAllowed",
  "ReportDataMismatch",
  "InternalError",
] as const;

export type AttestationFailureReason = (typeof ATTESTATION_FAILURE_REASONS)[number];

/** The one error type verification throws. `reason` is the stable code; `message` is for people. */
export class AttestationError extends Error {
  override readonly name = "AttestationError";
  constructor(
    readonly reason: AttestationFailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Throws an {@link AttestationError} unless `condition` holds. */
export function check(condition: boolean, reason: AttestationFailureReason, message: string): asserts condition {
  if (!condition) throw new AttestationError(reason, message);
}

/**
 * Runs `fn`, turning any exception that is not already an {@link AttestationError} into one with `reason`, so a bug
 * or a library throwing on odd input can only ever reject evidence, never accept it.
 */
export function failClosed<T>(reason: AttestationFailureReason, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof AttestationError) throw error;
    throw new AttestationError(reason, `${what}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}
