import type { StateReader } from "@cleanroom/ledger";
import { ApiError, type CallerStatus, type ErrorCode, type Identity } from "@cleanroom/protocol";
import { CALLER_AUTH_ERRORS, certificatePemIdentity } from "../auth/client-certificates.js";

/** Errors of a read by a member or user, before the endpoint's own. */
export const CALLER_READ_ERRORS: readonly ErrorCode[] = [...CALLER_AUTH_ERRORS, "InvalidParameter"];
/** Errors of a JSON write by an Active member or user, before the endpoint's own. */
export const CALLER_WRITE_ERRORS: readonly ErrorCode[] = [...CALLER_READ_ERRORS, "MemberNotActive", "InvalidInput", "MalformedJson", "RequestTooLarge"];

/** The authenticated caller; routes with `auth: "caller"` always have one. */
export function requireCaller(caller: Identity | undefined): Identity {
  if (!caller) throw new ApiError("InvalidAuthenticationInfo", "This endpoint requires an authenticated member or user.");
  return caller;
}

/**
 * A caller that may change state: an Active member or a user. Members still Accepted may read but not act
 * (reference §1.3 lets any registered member through; acting before acknowledging is refused here).
 */
export function requireActiveCaller(caller: Identity | undefined): Identity {
  const identity = requireCaller(caller);
  if (identity.kind === "member" && identity.status !== "Active") {
    throw new ApiError("MemberNotActive", `Member ${identity.id} must acknowledge (activate) before acting.`);
  }
  return identity;
}

/** An Active member: contract drafts and execution consent are the members' business. */
export function requireActiveMember(caller: Identity | undefined): Identity {
  const identity = requireCaller(caller);
  if (identity.kind !== "member") throw new ApiError("MemberOnly", "Only consortium members may call this endpoint.");
  return requireActiveCaller(identity);
}

/** Who the service takes an authenticated identity to be: the answer of every caller status check. */
export function callerStatus(identity: Identity): CallerStatus {
  return {
    active: true,
    kind: identity.kind,
    id: identity.id,
    authenticatedBy: identity.authenticatedBy,
    ...(identity.tenantId !== undefined ? { tenantId: identity.tenantId } : {}),
  };
}

/**
 * A clean room's check of the TLS client certificate its caller presented: active exactly when the service would
 * let a TLS client with that certificate act (an Active member or a certificate user). Otherwise 403:
 * CertificateNotRegistered, or MemberNotActive for a member who has not acknowledged.
 */
export function certificateCallerStatus(state: StateReader, certificatePem: string): CallerStatus {
  const { id, identity } = certificatePemIdentity(state, certificatePem);
  if (!identity) throw new ApiError("CertificateNotRegistered", `The certificate ${id} is not registered as a member or user.`);
  return callerStatus(requireActiveCaller(identity));
}
