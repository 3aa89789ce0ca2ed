import type { WriteTx } from "@cleanroom/ledger";
import { ApiError, type Invitation } from "@cleanroom/protocol";
import type { JWTPayload } from "jose";
import { USER_IDENTITY_ID_PATTERN, type VerifiedToken } from "../auth/jwt-issuers.js";
import { getUserInvitation, writeAcceptance } from "../state/user-invitations.js";

// Accepting a user invitation (reference §2.8 "Invitation accept"): the token of a trusted issuer must carry every
// claim of the invitation with one of its allowed values; its `oid` and `tid` become the user the members may then
// register with `set_user_identity` naming the invitation (which the constitution checks against this record).

/** How the reference classifies issuers (§1.3); only Entra ID changes how claims are read (v1.0 tokens). */
export type IssuerKind = "MsPersonal" | "EntraID" | "GenericOpenID";

const MS_PERSONAL_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad";
const GUID = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}";
const MS_PERSONAL_ISSUER = new RegExp(`^https://login\\.microsoftonline\\.com/(?:${MS_PERSONAL_TENANT}|consumers)/v2\\.0$`, "i");
const ENTRA_ID_ISSUER = new RegExp(`^https://(?:login\\.microsoftonline\\.com/(?:organizations|common|${GUID})/v2\\.0|sts\\.windows\\.net/${GUID}/)$`, "i");

export function classifyIssuer(issuer: string): IssuerKind {
  // Checked first: the personal-accounts tenant is also a GUID, which the Entra ID pattern would take.
  if (MS_PERSONAL_ISSUER.test(issuer)) return "MsPersonal";
  if (ENTRA_ID_ISSUER.test(issuer)) return "EntraID";
  return "GenericOpenID";
}

/** Longer token values are cut in messages: they are the caller's own, but messages stay readable. */
const MAX_ECHOED_LENGTH = 128;
/** The constitution's limit for `set_user_identity`'s `data.tenantId`: a longer tid could never be registered. */
const MAX_TENANT_ID_LENGTH = 256;

function echo(value: string): string {
  return JSON.stringify(value.length > MAX_ECHOED_LENGTH ? `${value.slice(0, MAX_ECHOED_LENGTH)}…` : value);
}

/**
 * The token claim an invitation claim is compared with. Entra ID v1.0 tokens carry the sign-in name in `upn`, not
 * `preferred_username` (which only v2.0 tokens have), so for them the invitation's `preferred_username` reads `upn`.
 */
export function tokenClaimName(invitationClaim: string, token: VerifiedToken): string {
  if (invitationClaim === "preferred_username" && token.claims.ver === "1.0" && classifyIssuer(token.issuer) === "EntraID") return "upn";
  return invitationClaim;
}

function describeClaim(invitationClaim: string, tokenClaim: string): string {
  return tokenClaim === invitationClaim ? `'${tokenClaim}'` : `'${tokenClaim}' (read for '${invitationClaim}' in Entra ID v1.0 tokens)`;
}

/**
 * Throws TokenClaimMissing or TokenClaimMismatch (403) unless every claim of the invitation is in the token with one of
 * the allowed values. Values are compared exactly (case-sensitive), and a claim that is not a string never matches.
 * The allowed values are not named: they may be other invitees' addresses, and the caller is not registered.
 */
export function checkInvitationClaims(invitationId: string, claims: Record<string, string[]>, token: VerifiedToken): void {
  for (const [name, allowed] of Object.entries(claims)) {
    const tokenClaim = tokenClaimName(name, token);
    const value: unknown = token.claims[tokenClaim];
    if (value === undefined || value === null) {
      throw new ApiError("TokenClaimMissing", `The token has no ${describeClaim(name, tokenClaim)} claim, which invitation ${invitationId} requires.`);
    }
    if (typeof value !== "string") {
      throw new ApiError("TokenClaimMismatch", `The token's ${describeClaim(name, tokenClaim)} claim is not a string, so it matches none of the values invitation ${invitationId} allows.`);
    }
    if (!allowed.includes(value)) {
      throw new ApiError("TokenClaimMismatch", `The token's ${describeClaim(name, tokenClaim)} claim ${echo(value)} is not one of the values invitation ${invitationId} allows.`);
    }
  }
}

/** The token's `oid` as a user identity id; OidClaimMissing (404, as in the reference) when there is none usable. */
function userIdOf(claims: JWTPayload): string {
  const oid = claims.oid;
  if (typeof oid !== "string" || oid.length === 0) throw new ApiError("OidClaimMissing", "The token has no 'oid' claim: there is no user to invite.");
  if (!USER_IDENTITY_ID_PATTERN.test(oid)) {
    throw new ApiError("OidClaimMissing", `The token's 'oid' claim ${echo(oid)} cannot be a user identity id (1-128 letters, digits, '.', '_', '-').`);
  }
  return oid;
}

/** The token's `tid`: the tenant the user will be registered with, so it must be there (and registrable). */
function tenantIdOf(claims: JWTPayload): string {
  const tid = claims.tid;
  if (typeof tid !== "string" || tid.length === 0 || tid.length > MAX_TENANT_ID_LENGTH) {
    throw new ApiError("TokenClaimMissing", `The token has no usable 'tid' claim (1-${MAX_TENANT_ID_LENGTH} characters): the user is registered with its tenant.`);
  }
  return tid;
}

/**
 * Accepts the invitation for the bearer of `token` inside the write transaction `tx`, and returns the invitation as
 * it now stands. The checks and the write happen in one transaction, so two acceptances cannot both succeed.
 */
export function acceptInvitation(tx: WriteTx, invitationId: string, token: VerifiedToken): Invitation {
  const before = getUserInvitation(tx, invitationId);
  if (!before) throw new ApiError("InvitationNotFound", `No user invitation has id ${invitationId}.`);
  if (before.status !== "Open") {
    const who = before.userInfo ? ` by user ${before.userInfo.userId}` : "";
    throw new ApiError("InvitationNotOpen", `Invitation ${invitationId} is ${before.status}${who}: only an Open invitation can be accepted.`);
  }
  const userId = userIdOf(token.claims);
  checkInvitationClaims(invitationId, before.claims, token);
  const tenantId = tenantIdOf(token.claims);
  writeAcceptance(tx, invitationId, { userId, data: { tenantId } });
  const after = getUserInvitation(tx, invitationId);
  if (!after) throw new Error(`invitation ${invitationId} disappeared while being accepted`);
  return after;
}
