import type { StateReader, WriteTx } from "@cleanroom/ledger";
import {
  ApiError,
  changePolicyClaims,
  checkPolicyClaims,
  DelegateTypeSchema,
  PolicyClaimsError,
  SecretIdSchema,
  type CleanRoomIdentity,
  type Delegate,
  type DelegateChange,
  type DelegateType,
  type PolicyClaims,
} from "@cleanroom/protocol";
import { readJson, writeJson } from "../state/json-state.js";
import { delegatePoliciesMap } from "../state/maps.js";
import { recordGovernanceEvent } from "./audit-events.js";
import { isContractSubject } from "./oidc-issuer.js";

/**
 * Delegate policies (reference §2.2, §4.1): a clean room the contract's policy admits may admit a second workload
 * identity (a Spark executor's host data, say) for one resource: a secret, event writing, or an ID token subject.
 * The endpoints of those resources consult the delegate when the contract's policy does not admit the caller.
 */

/** A delegate policy: its type and the resource it is for. */
export interface DelegateRef {
  type: DelegateType;
  id: string;
}

interface StoredDelegate {
  claims: PolicyClaims;
}

/** Delegate types have no `/`, so a key's first `/` ends the type (subjects may hold more). */
const keyOf = (delegate: DelegateRef) => `${delegate.type}/${delegate.id}`;

/**
 * The delegate named by a request, when it is one the service consults for this contract: `secrets/<secretId>`,
 * `events/writer`, or `oauth-federation-subjects/<sub>` for a subject the contract's workloads may be issued.
 * Anything else would be stored and never consulted, so it is refused (InvalidDelegateType).
 */
export function parseDelegate(contractId: string, type: string, id: string): DelegateRef {
  const parsed = DelegateTypeSchema.safeParse(type);
  const valid =
    parsed.success &&
    (parsed.data === "secrets" ? SecretIdSchema.safeParse(id).success : parsed.data === "events" ? id === "writer" : isContractSubject(contractId, id));
  if (!valid) {
    throw new ApiError(
      "InvalidDelegateType",
      `'${type}/${id}' is not a delegate policy of contract ${contractId}: the service consults secrets/<secretId>, events/writer and oauth-federation-subjects/<contractId>[/<name>].`,
    );
  }
  return { type: parsed.data, id };
}

/** The delegate's claims; `{}` when it has none. */
export function delegateClaims(state: StateReader, contractId: string, delegate: DelegateRef): PolicyClaims {
  return readJson<StoredDelegate>(state, delegatePoliciesMap(contractId), keyOf(delegate))?.claims ?? {};
}

/** The contract's delegates that have claims, in key order. */
export function listDelegates(state: StateReader, contractId: string): Delegate[] {
  const delegates: Delegate[] = [];
  state.forEach(delegatePoliciesMap(contractId), (key) => {
    const slash = key.indexOf("/");
    delegates.push({ delegateType: key.slice(0, slash) as DelegateType, delegateId: key.slice(slash + 1) });
  });
  return delegates;
}

/**
 * Applies an attested clean room's change to a delegate policy with the rules of `set_clean_room_policy` (the
 * same claims, add unions, remove refuses absent values), records it, and returns the delegate's claims. A delegate
 * left without claims is deleted: it no longer admits anybody and is no longer listed.
 */
export function changeDelegate(
  tx: WriteTx,
  clock: () => number,
  contractId: string,
  delegate: DelegateRef,
  change: DelegateChange,
  actor: CleanRoomIdentity,
): PolicyClaims {
  let claims: PolicyClaims;
  try {
    checkPolicyClaims(change.policyType ?? "snp-caci", change.claims);
    claims = changePolicyClaims(delegateClaims(tx, contractId, delegate), change, { policyName: `the delegate policy ${keyOf(delegate)}` });
  } catch (error) {
    if (!(error instanceof PolicyClaimsError)) throw error;
    throw new ApiError(error.absentValue ? "ClaimValueNotFound" : "InvalidInput", `Invalid delegate change: ${error.message}.`);
  }
  const map = delegatePoliciesMap(contractId);
  if (Object.keys(claims).length === 0) tx.delete(map, keyOf(delegate));
  else writeJson(tx, map, keyOf(delegate), { claims } satisfies StoredDelegate);
  recordGovernanceEvent(
    tx,
    clock,
    contractId,
    "contract.delegate.changed",
    { delegateType: delegate.type, delegateId: delegate.id, change: change.type, changedClaims: change.claims, claims },
    actor,
  );
  return claims;
}
