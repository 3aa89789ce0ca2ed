export type StorageErrorCode =
  /** DNS failure, connection refused or reset, timeout, untrusted TLS certificate. */
  | "StorageUnreachable"
  /** 401/403: a bad key, SAS or signature, an expired token, a refusal by STS or Entra ID. */
  | "StorageAccessDenied"
  /** A missing container, bucket or folder (check, list), or a missing object (read). */
  | "StorageNotFound"
  /** A released secret that is not the location kind's credentials JSON, or federation fields missing. */
  | "StorageCredentialsInvalid"
  /** A key with a `..`, `.` or empty segment, a leading `/`, a backslash or a control character. */
  | "InvalidObjectKey"
  /** Anything else. */
  | "StorageFailed";

/**
 * Every failure of a store, with a code the agent and the CLI can act on. Messages name the store and the key,
 * never a credential: they end up in audit events and run histories.
 */
export class StorageError extends Error {
  override readonly name = "StorageError";

  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// Node's, undici's and the SDKs' names for "the other side never answered".
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EPIPE",
  "REQUEST_SEND_ERROR",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
  "TimeoutError",
]);

// A certificate the client does not trust: the store cannot be reached safely, which is not a credentials problem.
const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * The network-level cause of an error, if any: the code of the error itself, of its `cause` chain, or of the
 * errors an AggregateError holds (Node's happy-eyeballs connect reports every address it tried that way).
 */
export function networkFailure(error: unknown): { code: string; tls: boolean } | undefined {
  const seen = new Set<unknown>();
  const visit = (value: unknown): { code: string; tls: boolean } | undefined => {
    if (typeof value !== "object" || value === null || seen.has(value)) return undefined;
    seen.add(value);
    const { code, name, errors, cause } = value as { code?: unknown; name?: unknown; errors?: unknown; cause?: unknown };
    for (const candidate of [code, name]) {
      if (typeof candidate !== "string") continue;
      if (UNREACHABLE_CODES.has(candidate)) return { code: candidate, tls: false };
      if (TLS_CODES.has(candidate)) return { code: candidate, tls: true };
    }
    if (Array.isArray(errors)) {
      for (const inner of errors) {
        const found = visit(inner);
        if (found) return found;
      }
    }
    return visit(cause);
  };
  return visit(error);
}

/** The StorageError for a network failure at `where`, or undefined when `error` is not one. */
export function unreachableError(error: unknown, where: string): StorageError | undefined {
  const failure = networkFailure(error);
  if (!failure) return undefined;
  const detail = failure.tls ? `its TLS certificate is not trusted (${failure.code})` : `no answer (${failure.code})`;
  return new StorageError("StorageUnreachable", `${where} could not be reached: ${detail}`, { cause: error });
}

/** Node file-system errors (ENOENT, EACCES...) as storage errors. */
export function fileSystemError(error: unknown, what: string): StorageError {
  if (error instanceof StorageError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "ENOTDIR") return new StorageError("StorageNotFound", `${what}: not found`, { cause: error });
  if (code === "EACCES" || code === "EPERM") return new StorageError("StorageAccessDenied", `${what}: permission denied`, { cause: error });
  return new StorageError("StorageFailed", `${what}: ${typeof code === "string" ? code : messageOf(error)}`, { cause: error });
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
