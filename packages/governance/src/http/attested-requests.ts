import { ApiError, parseOrThrow, type ErrorCode, type GovernanceEventType } from "@cleanroom/protocol";
import type { z } from "zod";
import { recordGovernanceEvent } from "../governance/audit-events.js";
import { attestationMissing, type VerifiedWorkload } from "../governance/secret-release.js";
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

/** Errors of a signed request by an attested workload (its `sign` and `data`), besides ATTESTED_REQUEST_ERRORS. */
export const SIGNED_REQUEST_ERRORS: readonly ErrorCode[] = ["SignatureMissing", "DataMissing", "SignatureMismatch"];

/**
 * The body of an anonymous caller of a route members and users call too. Without `attestation` the caller is as
 * likely a member who forgot their certificate as a workload, and AttestationMissing tells either what an anonymous
 * caller needs, where the attested schema would complain about the fields of a member's body.
 */
export function parseAttestedBody<A>(schema: z.ZodType<A>, body: unknown): A {
  if (typeof body !== "object" || body === null || (body as { attestation?: unknown }).attestation == null) throw attestationMissing();
  return parseOrThrow(schema, body, "InvalidInput");
}

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

/**
 * Records that `value` (already wrapped to the workload's key) was released, as `releasedType` with `details` and
 * how the workload was attested, and answers with it: every attested release answers and audits the same way.
 */
export async function answerRelease(
  ctx: ServiceContext,
  contractId: string,
  releasedType: GovernanceEventType,
  details: Record<string, unknown>,
  workload: VerifiedWorkload,
  value: string,
): Promise<{ body: { value: string; attestationMode: VerifiedWorkload["attestationMode"] }; headers: Record<string, string> }> {
  const { headers } = await durableWrite(ctx.ledger, (tx) =>
    recordGovernanceEvent(tx, ctx.lifecycle.clock, contractId, releasedType, {
      ...details,
      attestationMode: workload.attestationMode,
      hostData: workload.claims["x-ms-sevsnpvm-hostdata"],
    }),
  );
  return { body: { value, attestationMode: workload.attestationMode }, headers };
}
