import type { StateReader, WriteTx } from "@cleanroom/ledger";
import { formatTxId, type Invitation, type InvitationUserInfo } from "@cleanroom/protocol";
import { z } from "zod";
import { readParsed, writeJson } from "./json-state.js";
import { Maps } from "./maps.js";

// User invitations (reference §2.8): the claims live in a constitution-written map, acceptances in a map only the
// service writes, finalizations in another constitution-written map. Every value is parsed again on the way out; one
// that does not fit is treated as absent, so a malformed entry can never let a token in.

const StoredInvitationSchema = z.object({
  accountType: z.string(),
  // At least one claim with at least one value: an invitation without claims would match any token, so it is
  // treated as absent (the constitution refuses to write one).
  claims: z
    .record(z.string(), z.array(z.string()).min(1))
    .refine((claims) => Object.keys(claims).length > 0, "an invitation needs at least one claim"),
});

const StoredAcceptanceSchema = z.object({
  status: z.literal("Accepted"),
  userInfo: z.object({ userId: z.string(), data: z.object({ tenantId: z.string() }) }),
  /** The invitation's version when it was accepted: a later change of the invitation voids the acceptance. */
  invitationVersion: z.string(),
});

const StoredFinalizedSchema = z.object({ userId: z.string(), tenantId: z.string(), finalizedBy: z.string() });

function getStoredInvitation(state: StateReader, invitationId: string): z.infer<typeof StoredInvitationSchema> | undefined {
  return readParsed(StoredInvitationSchema, state, Maps.userInvitations, invitationId);
}

/** The invitation's version (its last write), which an acceptance must name to count. */
function invitationVersion(state: StateReader, invitationId: string): string | undefined {
  const version = state.version(Maps.userInvitations, invitationId);
  return version === undefined ? undefined : formatTxId(version);
}

/** Who accepted the invitation as it stands now; undefined when nobody did, or did before it last changed. */
function currentAcceptance(state: StateReader, invitationId: string): InvitationUserInfo | undefined {
  const acceptance = readParsed(StoredAcceptanceSchema, state, Maps.userInvitationsInfo, invitationId);
  if (!acceptance || acceptance.invitationVersion !== invitationVersion(state, invitationId)) return undefined;
  return { userId: acceptance.userInfo.userId, data: { tenantId: acceptance.userInfo.data.tenantId } };
}

/**
 * The invitation as the API shows it, with its derived status: Finalized (a `set_user_identity` proposal registered
 * the user who accepted it) > Accepted (a matching token accepted its current version) > Open.
 */
export function getUserInvitation(state: StateReader, invitationId: string): Invitation | undefined {
  const stored = getStoredInvitation(state, invitationId);
  if (!stored) return undefined;
  const base = { invitationId, accountType: stored.accountType, claims: stored.claims };
  const finalized = readParsed(StoredFinalizedSchema, state, Maps.acceptedUserInvitations, invitationId);
  if (finalized) {
    return { ...base, status: "Finalized", userInfo: { userId: finalized.userId, data: { tenantId: finalized.tenantId } }, finalizedBy: finalized.finalizedBy };
  }
  const userInfo = currentAcceptance(state, invitationId);
  return userInfo ? { ...base, status: "Accepted", userInfo } : { ...base, status: "Open" };
}

/** Every invitation, in id order. */
export function listUserInvitations(state: StateReader): Invitation[] {
  const invitations: Invitation[] = [];
  state.forEach(Maps.userInvitations, (invitationId) => {
    const invitation = getUserInvitation(state, invitationId);
    if (invitation) invitations.push(invitation);
  });
  return invitations;
}

/** Records that the user accepted the invitation at its current version (which must exist). */
export function writeAcceptance(tx: WriteTx, invitationId: string, userInfo: InvitationUserInfo): void {
  const version = invitationVersion(tx, invitationId);
  if (version === undefined) throw new Error(`invitation ${invitationId} has no version`);
  writeJson(tx, Maps.userInvitationsInfo, invitationId, { status: "Accepted", userInfo, invitationVersion: version });
}
