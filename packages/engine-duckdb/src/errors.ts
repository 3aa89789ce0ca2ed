export type EngineErrorCode =
  | "InvalidJob"
  | "SegmentProgramInvalid"
  | "StatementNotAllowed"
  | "DatasetLoadFailed"
  | "DatasetIntegrityCheckFailed"
  | "ViewNotFound"
  | "PreConditionFailed"
  | "PostFilterColumnMissing"
  | "SegmentFailed"
  | "SinkSchemaMismatch"
  | "ConsentRevoked"
  | "DatasetWriteFailed"
  | "SandboxFailed"
  | "RunFailed";

/** Every failure of a run, with a code a caller can act on and a message a person can read. */
export class EngineError extends Error {
  override readonly name = "EngineError";

  constructor(
    readonly code: EngineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Passes engine errors through and wraps anything else (DuckDB's own errors) under the given code. */
export function asEngineError(error: unknown, code: EngineErrorCode, prefix: string): EngineError {
  if (error instanceof EngineError) return error;
  return new EngineError(code, `${prefix}: ${messageOf(error)}`, { cause: error });
}

// DuckDB's reader, with mbedtls or OpenSSL, reports a failed GCM tag this way for altered bytes, a wrong key and an
// unsupported page layout alike (docs/parquet-encryption.md); to the run each of these means the same thing.
const AES_TAG_FAILURE = "Computed AES tag differs from read AES tag";

/** Whether DuckDB refused encrypted Parquet because its authentication tag did not verify. */
export function isIntegrityFailure(error: unknown): boolean {
  return messageOf(error).includes(AES_TAG_FAILURE);
}
