import { ApiError, type ErrorCode, type GovernanceEventType } from "@cleanroom/protocol";
import { recordGovernanceEvent } from "../governance/audit-events.js";
import { contractExists } from "../state/contracts.js";
import { durableWrite, type ServiceContext } from "./context.js";

/** Errors of a request made by an anonymous attested workload, before the endpoint's own. */
export const ATTESTED_REQUEST_ERRORS: readonly ErrorCode[] = [
  "AttestationMissing",
  "UnsupportedPlatform",
  "EncryptionMissing",
  "VerifySnpAttestationFailed",
  "ReportDataMismatch",
];

/**
 * Runs an attested decision (a release or a token) and, when it is refused with an ApiError, records the refusal
 * as `deniedType` in the contract's audit log before passing the error on: refusals are governance facts too.
 * They are recorded only for contracts that exist, so anonymous callers cannot create logs for arbitrary ids.
 */
export async function auditingRefusals<T>(
  ctx: ServiceContext,
  contractId: string,
  deniedType: GovernanceEventType,
  details: Record<string, unknown>,
  decide: () => Promise<T>,
): Promise<T> {
  try {
    return await decide();
  } catch (error) {
    if (error instanceof ApiError && contractExists(ctx.ledger, contractId)) {
      await durableWrite(ctx.ledger, (tx) =>
        recordGovernanceEvent(tx, ctx.lifecycle.clock, contractId, deniedType, { ...details, code: error.code, reason: error.message }),
      );
    }
    throw error;
  }
}
