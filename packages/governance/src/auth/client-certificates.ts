import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { certificateId, parseCertificate } from "@cleanroom/crypto";
import type { StateReader } from "@cleanroom/ledger";
import { ApiError, type ErrorCode, type Identity } from "@cleanroom/protocol";
import { getMember, getUser } from "../state/members.js";
import type { VerifiedToken } from "./jwt-issuers.js";

/** Errors any `caller` endpoint can return before its own. */
export const CALLER_AUTH_ERRORS: readonly ErrorCode[] = ["InvalidAuthenticationInfo", "CallerNotAuthorized", "CallerTenantNotAuthorized"];

/** Authenticates the bearer of a token (see JwtAuthenticator); an interface so this module stays about certificates. */
export interface BearerTokenAuthenticator {
  authenticate(token: string): Promise<Identity>;
}

/** Verifies a bearer token without requiring its subject to be registered (see JwtAuthenticator.verifyToken). */
export interface BearerTokenVerifier {
  verifyToken(token: string): Promise<VerifiedToken>;
}

const peerIds = new WeakMap<TLSSocket, string | null>();

/** The id (SHA-256 of DER) of the TLS client certificate on this connection, cached per connection. */
export function peerCertificateId(socket: TLSSocket): string | null {
  let id = peerIds.get(socket);
  if (id === undefined) {
    const cert = typeof socket.getPeerCertificate === "function" ? socket.getPeerCertificate(false) : undefined;
    id = cert?.raw ? certificateId(cert.raw) : null;
    peerIds.set(socket, id);
  }
  return id;
}

function tenantOf(data: Record<string, unknown>): { tenantId?: string } {
  return typeof data.tenantId === "string" ? { tenantId: data.tenantId } : {};
}

/**
 * The registered member (any status) or certificate user whose certificate has this id, if any. The id is the hash
 * of the presented DER, so matching an id means presenting exactly the registered certificate.
 */
export function certificateIdentity(state: StateReader, id: string): Identity | undefined {
  const member = getMember(state, id);
  if (member) {
    return { kind: "member", id: member.id, status: member.info.status, data: member.info.member_data, authenticatedBy: "certificate", ...tenantOf(member.info.member_data) };
  }
  const user = getUser(state, id);
  if (user) return { kind: "user", id: user.userId, data: user.userData, authenticatedBy: "certificate", ...tenantOf(user.userData) };
  return undefined;
}

/**
 * The registered member (any status) or certificate user holding the certificate in `pem`, as a TLS client
 * presenting it would be authenticated: its id is the same SHA-256 of the DER (`certificateId`, which
 * `parseCertificate` applies). Exactly one PEM certificate, else InvalidInput: a bundle must not be taken for its
 * first certificate.
 */
export function certificatePemIdentity(state: StateReader, pem: string): { id: string; identity: Identity | undefined } {
  let id: string;
  try {
    id = parseCertificate(pem).id;
  } catch (error) {
    throw new ApiError("InvalidInput", `The certificate is not one PEM X.509 certificate: ${(error as Error).message}`);
  }
  return { id, identity: certificateIdentity(state, id) };
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 7235); 401 for any other. */
export function bearerToken(authorization: string): string {
  const match = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(authorization);
  if (!match?.[1]) {
    throw new ApiError("InvalidAuthenticationInfo", "The Authorization header must be 'Bearer <token>'; no other scheme is supported.");
  }
  return match[1];
}

/**
 * Authenticates the caller of a `caller` endpoint, in this order: a registered TLS client certificate (member of any
 * status, or certificate user); else a bearer token (JWT user); else 401. A certificate that is not registered does
 * not prevent a bearer token from being used: clients may present a certificate for unrelated reasons.
 */
export async function authenticateCaller(state: StateReader, tokens: BearerTokenAuthenticator, request: IncomingMessage): Promise<Identity> {
  const presentedId = peerCertificateId(request.socket as TLSSocket);
  const byCertificate = presentedId === null ? undefined : certificateIdentity(state, presentedId);
  if (byCertificate) return byCertificate;
  const authorization = request.headers.authorization;
  if (authorization !== undefined) return tokens.authenticate(bearerToken(authorization));
  if (presentedId !== null) {
    throw new ApiError("InvalidAuthenticationInfo", `The client certificate ${presentedId} is not registered as a member or user.`);
  }
  throw new ApiError(
    "InvalidAuthenticationInfo",
    "This endpoint requires a TLS client certificate of a member or user, or an 'Authorization: Bearer <JWT>' header of a registered user.",
  );
}

/**
 * Authenticates the bearer of a `bearer` endpoint (accepting an invitation): only an `Authorization: Bearer <JWT>`
 * of a trusted issuer, whose `oid` need not be registered. A member's or user's certificate does not identify an
 * invitee, so without a token the request is unauthenticated (401) whatever certificate it presents; with one, any
 * certificate is ignored, as for `caller` endpoints when the certificate is not registered.
 */
export async function authenticateBearer(state: StateReader, tokens: BearerTokenVerifier, request: IncomingMessage): Promise<VerifiedToken> {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) return tokens.verifyToken(bearerToken(authorization));
  const presentedId = peerCertificateId(request.socket as TLSSocket);
  const registered = presentedId === null ? undefined : certificateIdentity(state, presentedId);
  if (registered) {
    throw new ApiError(
      "InvalidAuthenticationInfo",
      `This endpoint takes only an 'Authorization: Bearer <JWT>' header of the invitee; the client certificate of ${registered.kind} ${registered.id} does not identify an invitee.`,
    );
  }
  throw new ApiError("InvalidAuthenticationInfo", "This endpoint requires an 'Authorization: Bearer <JWT>' header from a trusted issuer.");
}
