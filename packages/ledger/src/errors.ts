/** Machine-readable codes of the errors the ledger throws (Node-style, like `SQLITE_BUSY`). */
export type LedgerErrorCode =
  | "TRANSACTION_NOT_FOUND"
  | "TRANSACTION_INVALID"
  | "RESERVED_MAP"
  | "LEDGER_TAMPERED"
  | "LEDGER_FAILED"
  | "LEDGER_CLOSED"
  | "INVALID_RECEIPT";

/** Base class of the ledger's typed errors. */
export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The transaction id has not been assigned (yet): it may still be, in the current view. */
export class TransactionNotFound extends LedgerError {
  constructor(message: string) {
    super("TRANSACTION_NOT_FOUND", message);
  }
}

/** The transaction id can never be committed: its seqno belongs to another view, or its view is over. */
export class TransactionInvalid extends LedgerError {
  constructor(message: string) {
    super("TRANSACTION_INVALID", message);
  }
}

/** An application tried to write a map reserved for the ledger (`public:ccf.internal.*`). */
export class ReservedMapError extends LedgerError {
  constructor(map: string) {
    super("RESERVED_MAP", `The map ${map} is written only by the ledger itself.`);
  }
}

/** The stored ledger does not match its own signatures: the node refuses to start on it. */
export class LedgerTamperedError extends LedgerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("LEDGER_TAMPERED", `The ledger was tampered with: ${message}`, options);
  }
}

/** A commit failed earlier: in-memory state may differ from disk, so the ledger refuses all further work. */
export class LedgerFailedError extends LedgerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("LEDGER_FAILED", message, options);
  }
}

/** The ledger was closed. */
export class LedgerClosedError extends LedgerError {
  constructor() {
    super("LEDGER_CLOSED", "The ledger is closed.");
  }
}

/** A receipt failed verification; the message says which check. */
export class InvalidReceiptError extends LedgerError {
  constructor(message: string) {
    super("INVALID_RECEIPT", message);
  }
}
