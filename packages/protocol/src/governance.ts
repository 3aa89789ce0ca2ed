import { z } from "zod";
import { TxIdStringSchema } from "./transactions.js";

/** Member and user ids: lowercase hex SHA-256 of the certificate DER. */
export const IdentityIdSchema = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex characters");

/** Roles exclude a member from the voting population (reference §1.4). */
export const MEMBER_ROLES = ["operator", "recoveryOperator", "cgsOperator", "contractOperator"] as const;
export const MemberRoleSchema = z.enum(MEMBER_ROLES);
export type MemberRole = z.infer<typeof MemberRoleSchema>;

/** `member_data`: who the member is. Extra fields are kept as given. */
export const MemberDataSchema = z.looseObject({
  identifier: z.string().min(1).max(256),
  tenantId: z.string().min(1).max(256).optional(),
  roles: z.array(MemberRoleSchema).max(MEMBER_ROLES.length).optional(),
});
export type MemberData = z.infer<typeof MemberDataSchema>;

export const MemberStatusSchema = z.enum(["Accepted", "Active"]);
export type MemberStatus = z.infer<typeof MemberStatusSchema>;

export const MemberInfoSchema = z.object({
  memberId: IdentityIdSchema,
  certificate: z.string(),
  memberData: z.record(z.string(), z.unknown()),
  status: MemberStatusSchema,
});
export type MemberInfo = z.infer<typeof MemberInfoSchema>;

export const MemberListSchema = z.object({ value: z.array(MemberInfoSchema) });

export const UserInfoSchema = z.object({
  userId: IdentityIdSchema,
  certificate: z.string(),
  userData: z.record(z.string(), z.unknown()),
});
export type UserInfo = z.infer<typeof UserInfoSchema>;
export const UserListSchema = z.object({ value: z.array(UserInfoSchema) });

/** An action of a proposal: a name the constitution knows, with its arguments. */
export const ProposalActionSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "an action name is an identifier"),
  args: z.unknown().optional(),
});
export type ProposalAction = z.infer<typeof ProposalActionSchema>;

/** The signed payload of a `proposal` message. */
export const ProposalBodySchema = z.strictObject({
  actions: z.array(ProposalActionSchema).min(1, "a proposal needs at least one action").max(64),
});
export type ProposalBody = z.infer<typeof ProposalBodySchema>;

/** The signed payload of a `ballot` message: the source of a `vote(proposal, proposerId)` module. */
export const BallotBodySchema = z.strictObject({ ballot: z.string().min(1).max(64 * 1024) });
export type BallotBody = z.infer<typeof BallotBodySchema>;

/** Canonical ballots: what `proposal vote --action accept|reject` submits, recognised without running code. */
export const ACCEPT_BALLOT = "export function vote (proposal, proposerId) { return true }";
export const REJECT_BALLOT = "export function vote (proposal, proposerId) { return false }";

export const ProposalStateSchema = z.enum(["Open", "Accepted", "Withdrawn", "Rejected", "Failed", "Dropped"]);
export type ProposalState = z.infer<typeof ProposalStateSchema>;

export const VoteSchema = z.object({ memberId: IdentityIdSchema, vote: z.boolean() });
export type Vote = z.infer<typeof VoteSchema>;

export const FailureSchema = z.object({ reason: z.string(), trace: z.string().optional() });

/**
 * A proposal's state. CCF's fields (proposalId, proposerId, proposalState, ballotCount, finalVotes, voteFailures,
 * failure) plus what CCF lacks: the votes counted so far, the members whose votes are still required while Open,
 * and the transactions that created and last changed it.
 */
export const ProposalInfoSchema = z.object({
  proposalId: z.string(),
  proposerId: IdentityIdSchema,
  proposalState: ProposalStateSchema,
  ballotCount: z.number().int().nonnegative(),
  votes: z.array(VoteSchema),
  pendingVoters: z.array(IdentityIdSchema).optional(),
  finalVotes: z.record(z.string(), z.boolean()).optional(),
  voteFailures: z.record(z.string(), FailureSchema).optional(),
  failure: FailureSchema.optional(),
  createdTxId: TxIdStringSchema,
  lastTxId: TxIdStringSchema,
  createdAt: z.string(),
});
export type ProposalInfo = z.infer<typeof ProposalInfoSchema>;

export const ProposalListSchema = z.object({ value: z.array(ProposalInfoSchema), nextLink: z.string().optional() });
export type ProposalList = z.infer<typeof ProposalListSchema>;

/** One step of a proposal's life, read from the ledger's history of its state. */
export const ProposalHistoryEntrySchema = z.object({
  transactionId: TxIdStringSchema,
  timestamp: z.string(),
  event: z.enum(["created", "ballot", "withdrawn", "accepted", "rejected", "failed", "dropped"]),
  memberId: IdentityIdSchema.optional(),
  proposalState: ProposalStateSchema,
  ballotCount: z.number().int().nonnegative(),
});
export const ProposalHistorySchema = z.object({ proposalId: z.string(), value: z.array(ProposalHistoryEntrySchema) });
export type ProposalHistory = z.infer<typeof ProposalHistorySchema>;

export const BallotResponseSchema = z.object({ ballot: z.string() });

/** A member's state digest, issued by `:update` and echoed back by `:ack` to become Active. */
export const StateDigestSchema = z.strictObject({ stateDigest: z.string().regex(/^[0-9a-f]{64}$/) });
export const StateDigestResponseSchema = z.object({ memberId: IdentityIdSchema, stateDigest: z.string() });

export const ServiceInfoSchema = z.object({
  serviceStatus: z.enum(["Open"]),
  serviceCertificate: z.string(),
  serviceId: z.string(),
  currentViewSince: z.string().optional(),
  constitutionDigest: z.string(),
  lastTransactionId: TxIdStringSchema.optional(),
});
export type ServiceInfo = z.infer<typeof ServiceInfoSchema>;

/**
 * Who the caller is, as the service authenticated it. Members and certificate users are identified by their
 * certificate's id; JWT users by the token's `oid` claim (registered with `set_user_identity`).
 */
export const IdentitySchema = z.object({
  kind: z.enum(["member", "user"]),
  id: z.string(),
  status: MemberStatusSchema.optional(),
  data: z.record(z.string(), z.unknown()),
  authenticatedBy: z.enum(["certificate", "jwt"]).default("certificate"),
  /** The caller's tenant: member_data/user_data `tenantId`, or the token's `tid`. */
  tenantId: z.string().optional(),
});
export type Identity = z.infer<typeof IdentitySchema>;
