import type { TLSSocket } from "node:tls";
import { certificateId } from "@cleanroom/crypto";
import type { StateReader } from "@cleanroom/ledger";
import { ApiError, type Identity } from "@cleanroom/protocol";
import { getMember, getUser } from "../state/members.js";

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

/**
 * Authenticates the caller by TLS client certificate: a registered member (any status) or user. The id is the
 * hash of the presented DER, so matching an id means presenting exactly the registered certificate.
 */
export function authenticateCaller(state: StateReader, certificateIdOrNull: string | null): Identity {
  if (certificateIdOrNull === null) {
    throw new ApiError("InvalidAuthenticationInfo", "This endpoint requires a TLS client certificate of a member or user.");
  }
  const member = getMember(state, certificateIdOrNull);
  if (member) return { kind: "member", id: member.id, status: member.info.status, data: member.info.member_data };
  const user = getUser(state, certificateIdOrNull);
  if (user) return { kind: "user", id: user.userId, data: user.userData };
  throw new ApiError("InvalidAuthenticationInfo", `The client certificate ${certificateIdOrNull} is not registered as a member or user.`);
}
