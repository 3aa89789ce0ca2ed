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

// Pages DuckDB 1.5 cannot decrypt end in one of these instead of a tag failure: data pages V2 (outside the encrypted
// profile, docs/parquet-encryption.md) do, and so could altered length fields. The run cannot tell which, and DuckDB's
// text (an internal assertion, with a native stack trace) must not reach the run's status.
const UNREADABLE_PAGES = ["DecryptionTransport::Finalize", "Too many bytes requested from crypto buffer"];

/**
 * The run's `DatasetIntegrityCheckFailed` for an error DuckDB raised reading encrypted Parquet (a tag that did not
 * verify, or pages it could not decrypt at all), or undefined for any other error. Encrypted inputs are read lazily,
 * so this surfaces where a dataset is loaded and in the first segment that reads it.
 */
export function integrityFailure(error: unknown, where: { dataset: string } | { segment: number }): EngineError | undefined {
  const message = messageOf(error);
  const tagFailed = message.includes(AES_TAG_FAILURE);
  if (!tagFailed && !UNREADABLE_PAGES.some((text) => message.includes(text))) return undefined;
  const [opening, encrypted] =
    "dataset" in where
      ? [`integrity check failed for dataset ${where.dataset}`, (part: string) => `its encrypted ${part}`]
      : [`integrity check failed in segment ${where.segment}`, (part: string) => `the encrypted ${part} of an input`];
  const detail = tagFailed
    ? `${encrypted("data")} was altered or does not match the key`
    : `${encrypted("pages")} could not be decrypted; they were altered or are outside the supported profile (such as Parquet data pages V2, docs/parquet-encryption.md)`;
  return new EngineError("DatasetIntegrityCheckFailed", `${opening}: ${detail}`, { cause: error });
}
