import { z } from "zod";
import { IdentityIdSchema, VoteSchema } from "./governance.js";
import { TxIdStringSchema } from "./transactions.js";

// Wire types of the governance service's application endpoints (`/app/...`): contracts, their runtime options,
// user documents with approvers, audit events, user identities and invitations. Reference: upstream-governance.md
// §2.1–§2.8.

/** Contract and document ids: URL-safe, no `/` (they are path segments and ledger key parts). */
export const ResourceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "expected 1-128 characters: letters, digits, '.', '_' or '-', starting with a letter or digit");

/** An optimistic-concurrency token: the transaction id of the resource's last write, compared as a string. */
export const VersionSchema = z.string().min(1).max(64);

// ---------------------------------------------------------------------------------------------------------------
// Contracts

export const ContractStateSchema = z.enum(["Draft", "Proposed", "Accepted"]);
export type ContractState = z.infer<typeof ContractStateSchema>;

/**
 * `PUT /app/contracts/{contractId}`: create (no version) or update (the current version). `data` is any JSON; when
 * it is an object (or a string holding one) `data.metadata.voters.requiredMembers` names the members who decide.
 * `data` is optional in the schema only so that its absence gets the reference's `DataMissing` code.
 */
export const PutContractBodySchema = z.strictObject({
  version: VersionSchema.optional(),
  data: z.unknown().optional(),
});
export type PutContractBody = z.infer<typeof PutContractBodySchema>;

export const WriteResultSchema = z.object({ id: z.string(), version: TxIdStringSchema });
export type WriteResult = z.infer<typeof WriteResultSchema>;

/**
 * A contract as the service sees it. State is derived: Accepted (accepted by governance), Proposed (an open
 * `set_contract` proposal exists; `data`/`version` are the proposed snapshot) or Draft.
 */
export const ContractSchema = z.object({
  id: ResourceIdSchema,
  version: TxIdStringSchema,
  state: ContractStateSchema,
  data: z.unknown(),
  /** The open (Proposed) or accepting (Accepted) proposal; empty for a Draft. */
  proposalId: z.string(),
  /** `data.metadata.voters.requiredMembers`, when set: only these members decide. */
  requiredMembers: z.array(IdentityIdSchema).optional(),
  /** Proposed: ballots counted so far. */
  votes: z.array(VoteSchema).optional(),
  /** Proposed: members whose votes acceptance still needs. */
  pendingVoters: z.array(IdentityIdSchema).optional(),
  /** Accepted: every ballot of the accepting proposal. */
  finalVotes: z.array(VoteSchema).optional(),
});
export type Contract = z.infer<typeof ContractSchema>;

export const ContractListSchema = z.object({ value: z.array(z.object({ id: ResourceIdSchema, state: ContractStateSchema })) });
export type ContractList = z.infer<typeof ContractListSchema>;
export const ContractListQuerySchema = z.strictObject({ state: ContractStateSchema.optional() });

/** The `set_contract` action's arguments: the contract id and the snapshot (a GET response) being proposed. */
export interface SetContractArgs {
  contractId: string;
  contract: Contract;
}

// ---------------------------------------------------------------------------------------------------------------
// Runtime options

export const ContractRuntimeOptionSchema = z.enum(["execution", "logging", "telemetry"]);
export type ContractRuntimeOption = z.infer<typeof ContractRuntimeOptionSchema>;
export const UserDocumentRuntimeOptionSchema = z.enum(["execution", "telemetry"]);
export type UserDocumentRuntimeOption = z.infer<typeof UserDocumentRuntimeOptionSchema>;
export const RuntimeOptionActionSchema = z.enum(["enable", "disable"]);
export type RuntimeOptionAction = z.infer<typeof RuntimeOptionActionSchema>;

export const RuntimeOptionStatusSchema = z.object({
  status: z.enum(["enabled", "disabled"]),
  /** Why it is disabled: ContractNotAccepted, ContractDisabled, UserDocumentNotAccepted, UserDocumentRejected, UserDocumentRuntimeOptionDisabled. */
  reason: z.object({ code: z.string(), message: z.string() }).optional(),
  /** Who has it disabled (execution consent and user documents): member or approver ids. */
  disabledBy: z.array(z.string()).optional(),
  /** Logging/telemetry: open proposals that would change it (enable and disable). */
  proposalIds: z.array(z.string()).optional(),
});
export type RuntimeOptionStatus = z.infer<typeof RuntimeOptionStatusSchema>;

/** Governance actions that change a contract's logging or telemetry option; `args: {contractId}`. */
export const CONTRACT_RUNTIME_OPTION_ACTIONS = {
  logging: { enable: "set_contract_runtime_options_enable_logging", disable: "set_contract_runtime_options_disable_logging" },
  telemetry: { enable: "set_contract_runtime_options_enable_telemetry", disable: "set_contract_runtime_options_disable_telemetry" },
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Clean-room policies

/** Attestation kinds a policy can be written for: SEV-SNP confidential containers, and JWT workloads. */
export const PolicyTypeSchema = z.enum(["snp-caci", "jwt"]);
export type PolicyType = z.infer<typeof PolicyTypeSchema>;
export const PolicyClaimValueSchema = z.union([z.string(), z.boolean(), z.number().int().nonnegative()]);
/** Claim → allowed values: a workload matches when each claim's value is one of them. */
export const PolicyClaimsSchema = z.record(z.string(), z.array(PolicyClaimValueSchema));
export type PolicyClaims = z.infer<typeof PolicyClaimsSchema>;

/** `set_clean_room_policy` arguments: add or remove allowed values (booleans replace). */
export interface SetCleanRoomPolicyArgs {
  contractId: string;
  type: "add" | "remove";
  policyType?: PolicyType;
  claims: Record<string, z.infer<typeof PolicyClaimValueSchema> | Array<z.infer<typeof PolicyClaimValueSchema>>>;
}

export const CleanRoomPolicySchema = z.object({
  /** Open set_clean_room_policy proposals for the contract. */
  proposalIds: z.array(z.string()),
  /** The snp-caci policy (the reference's single `policy`). */
  policy: PolicyClaimsSchema,
  /** Every policy type's claims. */
  policies: z.partialRecord(PolicyTypeSchema, PolicyClaimsSchema),
});
export type CleanRoomPolicy = z.infer<typeof CleanRoomPolicySchema>;

/**
 * Delegate policies (reference §2.2, §4.1): claims of a second workload identity (e.g. a Spark executor's host data)
 * admitted for one resource of the contract besides the contract's policy. Only the delegates the service consults:
 * `secrets/<secretId>` (secret release), `events/writer` (attested event writes) and
 * `oauth-federation-subjects/<contractId>[/<name>]` (ID tokens for that subject).
 */
export const DelegateTypeSchema = z.enum(["secrets", "events", "oauth-federation-subjects"]);
export type DelegateType = z.infer<typeof DelegateTypeSchema>;
export const DelegateSchema = z.object({ delegateType: DelegateTypeSchema, delegateId: z.string() });
export type Delegate = z.infer<typeof DelegateSchema>;
export const DelegateListSchema = z.object({ value: z.array(DelegateSchema) });
/** A delegate's claims; `{}` when it has none (never set, or every value removed). */
export const DelegateClaimsSchema = z.object({ claims: PolicyClaimsSchema });

/**
 * The signed `data` of a delegate change: like `set_clean_room_policy` (same claims, same add/remove rules), for an
 * SEV-SNP delegate.
 */
export const DelegateChangeSchema = z.strictObject({
  type: z.enum(["add", "remove"]),
  policyType: z.literal("snp-caci").optional(),
  claims: z.record(z.string(), z.union([PolicyClaimValueSchema, z.array(PolicyClaimValueSchema)])),
});
export type DelegateChange = z.infer<typeof DelegateChangeSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Secrets (the KMS): stored sealed in the ledger, released only to attested workloads (issue 4)

/** Longest secret value, in characters (the reference's limit). */
export const MAX_SECRET_LENGTH = 25_600;

/** `PUT /app/contracts/{contractId}/secrets/{secretName}`; `value` is optional only so its absence gets ValueMissing. */
export const PutSecretBodySchema = z.strictObject({ value: z.string().optional() });
/** Secret ids are `<owner>_<name>`: the owner's id (member or user id, a JWT user's oid, or `cleanroom`) and a resource id. */
export const SecretIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,256}$/, "expected a secret id");
/** The owner prefix of secrets written by attested clean rooms (reference §4.2). */
export const CLEAN_ROOM_SECRET_OWNER = "cleanroom";
export const SecretIdResultSchema = z.object({ secretId: z.string() });
export const SecretListSchema = z.object({ value: z.array(z.object({ secretId: z.string() })) });
export type SecretList = z.infer<typeof SecretListSchema>;

/**
 * `POST /app/contracts/{contractId}/secrets/{secretId}` by an attested workload: `attestation` is the SEV-SNP
 * evidence `{evidence, endorsements, uvm_endorsements, endorsed_tcb?}` (base64), bound by REPORT_DATA to
 * `encrypt.publicKey` (base64 of an RSA public key PEM), to which the secret is wrapped. Fields are optional in the
 * schema only so that their absence gets the reference's codes.
 */
export const ReleaseSecretBodySchema = z.object({
  attestation: z.unknown().optional(),
  encrypt: z.object({ publicKey: z.string().max(16_384).optional() }).optional(),
  platform: z.string().max(32).optional(),
});
/**
 * Body of a runtime-option status check by an anonymous attested workload (the clean room's consent check):
 * `attestation`, and optionally `encrypt.publicKey` to bind the report to. Members and users send no body.
 */
export const AttestedCheckBodySchema = ReleaseSecretBodySchema.optional();

/** How a workload's attestation was rooted: only `sevsnp` (AMD hardware) keeps what is released confidential. */
export const AttestationModeSchema = z.enum(["sevsnp", "replayed-test-vector", "virtual-platform"]);
export type AttestationMode = z.infer<typeof AttestationModeSchema>;

/**
 * An attested clean room as the writer of an event or the actor of a governance decision: it has no registered
 * identity, so it is known by what it runs (its host data, also its `id`) and by how it was attested.
 */
export const CleanRoomIdentitySchema = z.object({
  kind: z.literal("cleanroom"),
  id: z.string(),
  hostData: z.string(),
  attestationMode: AttestationModeSchema,
});
export type CleanRoomIdentity = z.infer<typeof CleanRoomIdentitySchema>;

/**
 * `sign` of a signed request: an RSA-PSS (SHA-256, salt 32) signature over the base64-decoded `data`, and the
 * signing key as base64 of its PEM, which must be the key the attestation binds. Optional fields only so that their
 * absence gets SignatureMissing.
 */
export const SignSchema = z.strictObject({
  signature: z.string().max(4096).optional(),
  publicKey: z.string().max(16_384).optional(),
});

/**
 * Body of a signed write by an attested clean room (delegate changes, clean-room secrets): the attestation binds
 * `encrypt.publicKey`, `sign` is made with that key over `data` (base64 of JSON). Fields are optional only so that
 * their absence gets the reference's codes.
 */
export const SignedAttestedBodySchema = z.strictObject({
  attestation: z.unknown().optional(),
  platform: z.string().max(32).optional(),
  encrypt: z.strictObject({ publicKey: z.string().max(16_384).optional() }).optional(),
  sign: SignSchema.optional(),
  data: z.string().optional(),
});
export type SignedAttestedBody = z.infer<typeof SignedAttestedBodySchema>;

/** A value released to an attested workload: a secret, or (as JSON) an accepted user document. */
export const ReleasedSecretSchema = z.object({
  /** base64 of RSA-OAEP-SHA-256(AES-256 key) ‖ AES-KWP(value): CKM_RSA_AES_KEY_WRAP to `encrypt.publicKey`. */
  value: z.string(),
  /**
   * `sevsnp` for genuine hardware evidence; `replayed-test-vector` when the key is a published test key;
   * `virtual-platform` when a development root of trust signed the report. Only `sevsnp` is confidential.
   */
  attestationMode: AttestationModeSchema,
});

/**
 * `POST /app/contracts/{contractId}/oauth/token?sub&aud[&lifetime]` by an attested workload (same body as a secret
 * release). `sub` is the contract id or `<contractId>/<name>`: a workload can only speak for its own contract.
 */
export const TokenQuerySchema = z.strictObject({
  sub: z.string().min(1).max(256).optional(),
  aud: z.string().min(1).max(512).optional(),
  /** Seconds; capped by the service (at most one hour, default five minutes). */
  lifetime: z.coerce.number().int().positive().optional(),
});
export const IssuedTokenSchema = z.object({
  /** base64 of the JWT wrapped (CKM_RSA_AES_KEY_WRAP) to `encrypt.publicKey`. */
  value: z.string(),
  attestationMode: AttestationModeSchema,
});

// ---------------------------------------------------------------------------------------------------------------
// OIDC issuer (identity provider for attested workloads, issue 4)

/** The one signing algorithm the issuer uses, and advertises (the reference advertised RS256 but signed PS256). */
export const OIDC_SIGNING_ALGORITHM = "RS256";

export const OidcIssuerInfoSchema = z.object({
  enabled: z.boolean(),
  issuerUrl: z.string().optional(),
  /** Bumped by each accepted rotation proposal; a member then has the service generate that generation's key. */
  keyGeneration: z.number().int().nonnegative(),
  /** The key signing new tokens, once generated for the current generation. */
  currentKid: z.string().optional(),
});
export type OidcIssuerInfo = z.infer<typeof OidcIssuerInfoSchema>;

export const SigningKeyResultSchema = z.object({ kid: z.string(), generation: z.number().int().positive() });

export const JwksSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), use: z.string() })) });
export type Jwks = z.infer<typeof JwksSchema>;

export const OpenIdConfigurationSchema = z.object({
  issuer: z.string(),
  jwks_uri: z.string(),
  response_types_supported: z.array(z.string()),
  subject_types_supported: z.array(z.string()),
  id_token_signing_alg_values_supported: z.array(z.string()),
});

// ---------------------------------------------------------------------------------------------------------------
// User documents

export const ApproverIdTypeSchema = z.enum(["member", "user"]);
export type ApproverIdType = z.infer<typeof ApproverIdTypeSchema>;

/** An approver: a member id, or a user id (certificate user's id, or a JWT user's `oid`). */
export const ApproverSchema = z.strictObject({
  approverId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "an approver id is a member or user id"),
  approverIdType: ApproverIdTypeSchema,
});
export type Approver = z.infer<typeof ApproverSchema>;

const LABEL_PART = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
export const LabelsSchema = z
  .record(z.string().regex(LABEL_PART, "a label name is 1-128 characters: letters, digits, '.', '_', '/', '-'"), z.string().regex(LABEL_PART, "a label value is 1-128 characters: letters, digits, '.', '_', '/', '-'"))
  .refine((labels) => Object.keys(labels).length <= 32, "at most 32 labels");
export type Labels = z.infer<typeof LabelsSchema>;

/** `PUT /app/contracts/{contractId}/userdocuments/{documentId}`. Approvers default to every counted Active member. */
export const PutUserDocumentBodySchema = z.strictObject({
  version: VersionSchema.optional(),
  /** Optional; must equal the contract id in the path (upstream carried it in the body). */
  contractId: z.string().optional(),
  data: z.unknown().optional(),
  labels: LabelsSchema.optional(),
  approvers: z.array(ApproverSchema).max(64).optional(),
});
export type PutUserDocumentBody = z.infer<typeof PutUserDocumentBodySchema>;

export const UserDocumentStateSchema = z.enum(["Draft", "Proposed", "Accepted", "Rejected"]);
export type UserDocumentState = z.infer<typeof UserDocumentStateSchema>;

export const ApprovalActionSchema = z.enum(["accept", "reject"]);
export type ApprovalAction = z.infer<typeof ApprovalActionSchema>;

/** `POST /app/contracts/{contractId}/userdocuments/{documentId}/approval`. */
export const ApprovalBodySchema = z.strictObject({ version: VersionSchema, action: ApprovalActionSchema });
export type ApprovalBody = z.infer<typeof ApprovalBodySchema>;

export const ApprovalSchema = z.object({
  approverId: z.string(),
  approverIdType: ApproverIdTypeSchema,
  action: ApprovalActionSchema,
  /** The document version the approver acted on. */
  version: TxIdStringSchema,
  transactionId: TxIdStringSchema,
});
export type Approval = z.infer<typeof ApprovalSchema>;

/** One approver's decision on a closed (Accepted or Rejected) document, in the reference's ballot form. */
export const FinalVoteSchema = z.object({ approverId: z.string(), ballot: z.enum(["accepted", "rejected"]) });
export type FinalVote = z.infer<typeof FinalVoteSchema>;

export const UserDocumentSchema = z.object({
  id: ResourceIdSchema,
  contractId: ResourceIdSchema,
  version: TxIdStringSchema,
  /** Derived: Draft (no action), Proposed (≥1 accept), Accepted (all accepted), Rejected (any reject; terminal). */
  state: UserDocumentStateSchema,
  data: z.unknown(),
  labels: LabelsSchema,
  /** Frozen when the document was last edited (it can be edited only while Draft). */
  approvers: z.array(ApproverSchema),
  approvals: z.array(ApprovalSchema),
  /** Approvers who have not acted yet (empty once Rejected: nothing can change it). */
  pendingApprovers: z.array(ApproverSchema),
  /** Who created the document (reference name kept: the workload uses it as the dataset owner). */
  proposerId: z.string(),
  proposerIdType: ApproverIdTypeSchema,
  /** Accepted or Rejected: every approval as the reference's ballot list. */
  finalVotes: z.array(FinalVoteSchema).optional(),
});
export type UserDocument = z.infer<typeof UserDocumentSchema>;

export const UserDocumentListSchema = z.object({
  value: z.array(z.object({ id: ResourceIdSchema, contractId: ResourceIdSchema, state: UserDocumentStateSchema, labels: LabelsSchema })),
});
export type UserDocumentList = z.infer<typeof UserDocumentListSchema>;

/**
 * What `POST /app/contracts/{c}/userdocuments/accepted/{d}` wraps (as JSON) to an attested workload: the accepted
 * document's content, its owner (`proposerId`) and who approved it (`finalVotes`), so that the clean room can check
 * for itself that every dataset owner approved a query (reference §2.5) rather than trust the computed approvers.
 */
export const AcceptedUserDocumentSchema = z.object({
  id: ResourceIdSchema,
  contractId: ResourceIdSchema,
  version: TxIdStringSchema,
  data: z.unknown(),
  labels: LabelsSchema,
  approvers: z.array(ApproverSchema),
  state: z.literal("Accepted"),
  proposerId: UserDocumentSchema.shape.proposerId,
  proposerIdType: UserDocumentSchema.shape.proposerIdType,
  /** Required here: an Accepted document always has them, and a clean room must fail closed without them. */
  finalVotes: z.array(FinalVoteSchema),
});
export type AcceptedUserDocument = z.infer<typeof AcceptedUserDocumentSchema>;

/**
 * What `POST /app/contracts/{c}/userdocuments/{d}/approvalstatus` answers an attested workload, in any state: who
 * must approve, who did, and who has not yet, without the document's data. A clean room uses it to say which owners
 * have not approved a query that is not Accepted yet.
 */
export const UserDocumentApprovalStatusSchema = UserDocumentSchema.pick({
  id: true,
  contractId: true,
  version: true,
  state: true,
  labels: true,
  approvers: true,
  approvals: true,
  pendingApprovers: true,
  proposerId: true,
  proposerIdType: true,
}).extend({
  /** For a `type: query` document: the ids of the documents it reads and writes (not its SQL), to name their owners. */
  queryReferences: z.object({ inputs: z.array(z.string()), output: z.string() }).optional(),
});
export type UserDocumentApprovalStatus = z.infer<typeof UserDocumentApprovalStatusSchema>;

/** Document ids that cannot be used: `accepted` would make `…/userdocuments/accepted/approval` ambiguous. */
export const RESERVED_USER_DOCUMENT_IDS = ["accepted"] as const;

/** Parses `labelSelector=k:v,k2:v2` (all must match); undefined for an invalid selector. */
export function parseLabelSelector(selector: string): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = [];
  for (const part of selector.split(",")) {
    const index = part.indexOf(":");
    if (index <= 0 || index === part.length - 1) return undefined;
    const name = part.slice(0, index);
    const value = part.slice(index + 1);
    if (!LABEL_PART.test(name) || !LABEL_PART.test(value)) return undefined;
    pairs.push([name, value]);
  }
  return pairs;
}

// ---------------------------------------------------------------------------------------------------------------
// Events (audit log)

/** Scopes the service writes itself; callers cannot write to them. */
export const RESERVED_EVENT_SCOPES = ["governance"] as const;

export const EventScopeSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "a scope is 1-64 characters: letters, digits, '.', '_', '-'");
export const EventIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, "an event id is 1-128 characters: letters, digits, '.', '_', ':', '-'");

export const EventSchema = z.object({
  scope: z.string(),
  id: z.string(),
  seqno: z.number().int().positive(),
  transactionId: TxIdStringSchema,
  /** Service time in ms since the epoch, zero-padded to 13 digits (the reference's format). */
  timestamp: z.string(),
  timestamp_iso: z.string(),
  data: z.unknown(),
  /** Who wrote it: the service itself for governance decisions, else the authenticated caller or attested clean room. */
  writer: z.union([
    z.object({ kind: z.enum(["service", "member", "user"]), id: z.string() }),
    CleanRoomIdentitySchema.extend({
      /** The clean room's own time for the event (ms since the epoch, as sent; not checked against the service's). */
      timestamp: z.string(),
    }),
  ]),
});
export type AuditEvent = z.infer<typeof EventSchema>;

export const EventListSchema = z.object({ value: z.array(EventSchema), nextLink: z.string().optional() });
export type EventList = z.infer<typeof EventListSchema>;

/** In queries, an empty scope selects the events written without one. */
const EventScopeQuerySchema = z.union([z.literal(""), EventScopeSchema]);

export const EventListQuerySchema = z.strictObject({
  id: EventIdSchema.optional(),
  scope: EventScopeQuerySchema.optional(),
  from_seqno: z.coerce.number().int().positive().optional(),
  to_seqno: z.coerce.number().int().positive().optional(),
  max_seqno_per_page: z.coerce.number().int().min(1).max(100_000).optional(),
});
export type EventListQuery = z.infer<typeof EventListQuerySchema>;

export const PutEventQuerySchema = z.strictObject({ id: EventIdSchema.optional(), scope: EventScopeQuerySchema.optional() });
/** `PUT /app/contracts/{contractId}/events`: the service timestamps it and records the writer. */
export const PutEventBodySchema = z.strictObject({ data: z.unknown().optional() });

/** The largest event timestamp (reference): 13 digits of milliseconds. */
export const MAX_EVENT_TIMESTAMP = 9_999_999_999_999n;

/**
 * `PUT /app/contracts/{contractId}/events` by an attested clean room (reference §2.4): `timestamp` in ms since the
 * epoch as a string, `data` base64 of the event's JSON, signed with the key the attestation binds (`sign.publicKey`).
 */
export const AttestedEventBodySchema = z.strictObject({
  timestamp: z.string().max(32).optional(),
  attestation: z.unknown().optional(),
  platform: z.string().max(32).optional(),
  sign: SignSchema.optional(),
  data: z.string().optional(),
});
export type AttestedEventBody = z.infer<typeof AttestedEventBodySchema>;

/** `data.type` of the events the service writes to scope `governance`. */
export const GOVERNANCE_EVENT_TYPES = [
  "contract.proposed",
  "contract.accepted",
  "contract.rejected",
  "contract.withdrawn",
  "contract.dropped",
  "contract.failed",
  "contract.runtimeoption.proposed",
  "contract.runtimeoption.changed",
  "contract.cleanroompolicy.proposed",
  "contract.cleanroompolicy.changed",
  "contract.secret.set",
  "contract.secret.released",
  "contract.secret.denied",
  "contract.secret.set.denied",
  "contract.token.issued",
  "contract.token.denied",
  "contract.delegate.changed",
  "contract.delegate.denied",
  "contract.event.denied",
  "contract.callerstatus.denied",
  "contract.consent.changed",
  "userdocument.approved",
  "userdocument.rejected",
  "userdocument.accepted",
  "userdocument.consent.changed",
  "userdocument.released",
  "userdocument.denied",
] as const;
export type GovernanceEventType = (typeof GOVERNANCE_EVENT_TYPES)[number];

// ---------------------------------------------------------------------------------------------------------------
// Users: certificate users (`set_user`) and JWT user identities (`set_user_identity`), JWT issuers

export const UserIdentitySchema = z.object({
  id: z.string(),
  accountType: z.string(),
  invitationId: z.string().optional(),
  data: z.object({ tenantId: z.string(), identifier: z.string().optional() }),
});
export type UserIdentity = z.infer<typeof UserIdentitySchema>;
export const UserIdentityListSchema = z.object({ value: z.array(UserIdentitySchema) });

export const JwtIssuerSchema = z.object({
  issuer: z.string(),
  /** Keys are fetched from the issuer's OpenID discovery document (and refreshed) rather than given inline. */
  autoRefresh: z.boolean(),
  /** Accepted `aud` values; absent = any. */
  audiences: z.array(z.string()).optional(),
  keyIds: z.array(z.string()),
  /** When the service last stored keys fetched from the issuer. */
  refreshedAt: z.string().optional(),
});
export type JwtIssuer = z.infer<typeof JwtIssuerSchema>;
export const JwtIssuerListSchema = z.object({ value: z.array(JwtIssuerSchema) });

/** `POST /app/users/identities/self/status`: who the service takes the caller to be. */
export const CallerStatusSchema = z.object({
  active: z.boolean(),
  kind: z.enum(["member", "user"]),
  id: z.string(),
  authenticatedBy: z.enum(["certificate", "jwt"]),
  tenantId: z.string().optional(),
});
export type CallerStatus = z.infer<typeof CallerStatusSchema>;

/**
 * `POST /app/contracts/{contractId}/callers/status` by an attested clean room: is the holder of this TLS client
 * certificate an active member or certificate user? Signed like an attested event (the evidence binds
 * `sign.publicKey`, which signs the decoded `data`), so only the admitted workload can ask. Fields are optional only
 * so that their absence gets the codes of every signed request (AttestationMissing, SignatureMissing, DataMissing).
 */
export const CallerCheckBodySchema = z.strictObject({
  attestation: z.unknown().optional(),
  platform: z.string().max(32).optional(),
  sign: SignSchema.optional(),
  data: z.string().optional(),
});
export type CallerCheckBody = z.infer<typeof CallerCheckBodySchema>;

/** The signed `data` of a caller check: the PEM of the certificate the clean room's caller presented. */
export const CallerCheckRequestSchema = z.strictObject({ certificate: z.string().min(1).max(65_536) });
export type CallerCheckRequest = z.infer<typeof CallerCheckRequestSchema>;

// ---------------------------------------------------------------------------------------------------------------
// User invitations (reference §2.8, §3.6): the consortium invites a user by the claims its token must carry; the
// user accepts with such a token; a `set_user_identity` proposal naming the invitation registers (finalizes) it.

/** The claims an invitation may require (`set_user_invitation_by_jwt_claims`). */
export const INVITATION_CLAIM_NAMES = ["preferred_username", "email", "appid", "tid", "sub", "upn"] as const;
export const InvitationClaimNameSchema = z.enum(INVITATION_CLAIM_NAMES);
export type InvitationClaimName = z.infer<typeof InvitationClaimNameSchema>;

/** Invitation ids are path segments, with the same rule as contract ids. */
export const InvitationIdSchema = ResourceIdSchema;

/** Open → Accepted (a matching token accepted it) → Finalized (`set_user_identity` with the invitation accepted). */
export const InvitationStatusSchema = z.enum(["Open", "Accepted", "Finalized"]);
export type InvitationStatus = z.infer<typeof InvitationStatusSchema>;

/** Who accepted an invitation: the token's `oid` and `tid`, which `set_user_identity` must register. */
export const InvitationUserInfoSchema = z.object({ userId: z.string(), data: z.object({ tenantId: z.string() }) });
export type InvitationUserInfo = z.infer<typeof InvitationUserInfoSchema>;

export const InvitationSchema = z.object({
  invitationId: z.string(),
  accountType: z.string(),
  /** Claim name → the values a token may carry (any one of them). Every listed claim must match. */
  claims: z.record(z.string(), z.array(z.string())),
  status: InvitationStatusSchema,
  /** Accepted and Finalized: who accepted it. */
  userInfo: InvitationUserInfoSchema.optional(),
  /** Finalized: the `set_user_identity` proposal that registered the user. */
  finalizedBy: z.string().optional(),
});
export type Invitation = z.infer<typeof InvitationSchema>;
export const InvitationListSchema = z.object({ value: z.array(InvitationSchema) });
export type InvitationList = z.infer<typeof InvitationListSchema>;

/** `set_user_invitation_by_jwt_claims`'s arguments: `add` unions values per claim, `remove` drops them. */
export interface SetUserInvitationArgs {
  invitationId: string;
  type: "add" | "remove";
  accountType?: "microsoft";
  claims: Partial<Record<InvitationClaimName, string | string[]>>;
}
