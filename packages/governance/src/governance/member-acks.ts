import type { WriteTx } from "@cleanroom/ledger";
import { ApiError, StateDigestSchema } from "@cleanroom/protocol";
import { decodeText, readJson, writeJson } from "../state/json-state.js";
import { Maps, SINGLE_KEY } from "../state/maps.js";
import { getMember, type StoredMemberAck } from "../state/members.js";

const NO_SIGNATURE_YET = "0".repeat(64);

function requireMember(tx: WriteTx, memberId: string) {
  const member = getMember(tx, memberId);
  if (!member) throw new ApiError("MemberNotFound", `Member ${memberId} does not exist.`);
  return member;
}

/**
 * `state_digest`: issues the member the service's current state digest (the Merkle root of the latest signature
 * transaction), which the member then acknowledges. As in CCF, acknowledging binds the member's activation to a
 * state of the ledger they have seen.
 */
export function issueStateDigest(tx: WriteTx, memberId: string): string {
  requireMember(tx, memberId);
  const signature = readJson<{ root?: string }>(tx, Maps.signatures, SINGLE_KEY);
  const stateDigest = signature?.root ?? NO_SIGNATURE_YET;
  writeJson(tx, Maps.membersAcks, memberId, { state_digest: stateDigest } satisfies StoredMemberAck);
  return stateDigest;
}

/** `ack`: an Accepted member echoes its state digest and becomes Active. */
export function acknowledgeStateDigest(tx: WriteTx, memberId: string, payload: Uint8Array): void {
  const member = requireMember(tx, memberId);
  if (member.info.status === "Active") throw new ApiError("MemberAlreadyActive", `Member ${memberId} is already Active.`);
  let body: unknown;
  try {
    body = JSON.parse(decodeText(payload));
  } catch {
    throw new ApiError("InvalidInput", 'An ack payload is {"stateDigest": "<hex digest from :update>"}.');
  }
  const parsed = StateDigestSchema.safeParse(body);
  if (!parsed.success) throw new ApiError("InvalidInput", 'An ack payload is {"stateDigest": "<64 hex characters>"}.');
  const issued = readJson<StoredMemberAck>(tx, Maps.membersAcks, memberId);
  if (!issued) throw new ApiError("StateDigestNotRequested", `Member ${memberId} must request a state digest (:update) first.`);
  if (issued.state_digest !== parsed.data.stateDigest) {
    throw new ApiError("StateDigestMismatch", "The acknowledged state digest is not the one issued by :update; request a new one.");
  }
  writeJson(tx, Maps.membersInfo, memberId, { ...member.info, status: "Active" });
}
