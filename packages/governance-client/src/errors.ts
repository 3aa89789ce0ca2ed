import type { ErrorCode } from "@cleanroom/protocol";

/**
 * A check the client makes before calling the service failed (the reference's cgs-client checks, e.g. proposing a
 * contract at a stale version). Nothing was sent; `code` is one of the catalogue's "(client)" codes.
 */
export class ClientCheckError extends Error {
  override readonly name = "ClientCheckError";
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
