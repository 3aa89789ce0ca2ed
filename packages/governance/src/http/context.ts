import type { Ledger, WriteTx } from "@cleanroom/ledger";
import { formatTxId, TX_ID_HEADER, type ErrorCode } from "@cleanroom/protocol";
import type { ConstitutionEngine } from "../constitution/engine.js";
import type { LifecycleContext } from "../governance/proposal-lifecycle.js";
import { admit, type Expectation, type ReplayGuard, type SignedRequestVerifier, type VerifiedRequest } from "../auth/signed-requests.js";
import type { ServiceIdentity } from "../identity/service-identity.js";
import type { JwtAuthenticator } from "../auth/jwt-issuers.js";
import type { AttestationSettings } from "../governance/secret-release.js";
import type { SecretsKey } from "../governance/secrets.js";

/** What route handlers share. */
export interface ServiceContext {
  ledger: Ledger;
  engine: ConstitutionEngine;
  verifier: SignedRequestVerifier;
  replayGuard: ReplayGuard;
  lifecycle: LifecycleContext;
  identity: ServiceIdentity;
  /** Authenticates JWT users of `caller` endpoints (bearer tokens from trusted issuers). */
  jwtAuthenticator: JwtAuthenticator;
  /** How attested workloads are verified (secret release). */
  attestation: AttestationSettings;
  /** The key sealing secrets and the OIDC issuer's private keys in the ledger. */
  secrets: SecretsKey;
}

/**
 * Executes a write and waits until it is durable, so a response is only ever sent for a transaction that survives
 * a crash. Returns the transaction id header to send.
 */
export async function durableWrite<T>(ledger: Ledger, fn: (tx: WriteTx) => T): Promise<{ result: T; headers: Record<string, string> }> {
  const { result, txId, committed } = ledger.transact(fn);
  await committed;
  const id = txId ?? ledger.lastTxId();
  return { result, headers: id ? { [TX_ID_HEADER]: formatTxId(id) } : {} };
}

/** Waits until all state a read may have seen is durable, then names the last transaction it reflects. */
export async function durableRead(ledger: Ledger): Promise<Record<string, string>> {
  await ledger.whenDurable();
  const id = ledger.lastTxId();
  return id ? { [TX_ID_HEADER]: formatTxId(id) } : {};
}

/** Errors every signed governance endpoint can return, before its own. */
export const SIGNED_REQUEST_ERRORS: readonly ErrorCode[] = [
  "InvalidCoseSign1",
  "UnknownSigner",
  "InvalidSignature",
  "MemberNotActive",
  "MessageTypeMismatch",
  "CreatedAtOutOfRange",
  "RequestReplayed",
  "UnsupportedContentType",
  "RequestTooLarge",
];

/**
 * The shape of every signed governance write: verify the COSE_Sign1 (off the main thread), then in one durable
 * transaction re-check the signer and record the request against replays, and run `operation`.
 */
export async function signedWrite<T>(
  ctx: ServiceContext,
  body: unknown,
  expected: Expectation,
  options: { requireActive: boolean },
  operation: (tx: WriteTx, request: VerifiedRequest) => T,
): Promise<{ result: T; request: VerifiedRequest; headers: Record<string, string> }> {
  const request = await ctx.verifier.verify(ctx.ledger, body as Uint8Array, expected);
  const { result, headers } = await durableWrite(ctx.ledger, (tx) => {
    admit(tx, ctx.replayGuard, request, options);
    return operation(tx, request);
  });
  return { result, request, headers };
}
