export * from "./types.js";
export {
  InvalidReceiptError,
  LedgerClosedError,
  LedgerError,
  LedgerFailedError,
  LedgerTamperedError,
  ReservedMapError,
  TransactionInvalid,
  TransactionNotFound,
  type LedgerErrorCode,
} from "./errors.js";
export { openLedger } from "./ledger.js";
export { verifyReceipt } from "./receipt.js";
export { createLedgerSigner, nodeIdOf } from "./signer.js";
export { verifyLedger, type VerifyLedgerOptions } from "./verify-ledger.js";
export { LEDGER_FILE } from "./store.js";
export { INTERNAL_MAP_PREFIX, SIGNATURES_MAP, TREE_MAP } from "./signature-records.js";
