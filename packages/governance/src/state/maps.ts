/**
 * Ledger map names. Governance maps keep CCF's names so a constitution written for CCF reads the same state; the
 * `public:cleanroom.gov.*` maps are Cleanroom's own bookkeeping and only the service writes them.
 */
export const Maps = {
  membersCerts: "public:ccf.gov.members.certs",
  membersInfo: "public:ccf.gov.members.info",
  membersAcks: "public:ccf.gov.members.acks",
  usersCerts: "public:ccf.gov.users.certs",
  usersInfo: "public:ccf.gov.users.info",
  constitution: "public:ccf.gov.constitution",
  serviceInfo: "public:ccf.gov.service.info",
  /** Raw proposal payloads, kept for ever. */
  proposals: "public:ccf.gov.proposals",
  /** Open proposals only, as in CCF, so that constitutions scanning it stay fast. */
  proposalsInfo: "public:ccf.gov.proposals_info",
  /** Closed proposals: CCF prunes these; Cleanroom keeps every outcome and ballot queryable. */
  closedProposalsInfo: "public:cleanroom.gov.closed_proposals_info",
  /** Digests of recently accepted signed requests (replay protection). */
  recentRequests: "public:cleanroom.gov.recent_requests",
  /** Users registered by JWT (`set_user_identity`): `oid` → `{accountType, invitationId?, data: {tenantId, identifier?}}`. */
  userIdentities: "public:ccf.gov.user_identities",
  /** User invitations (`set_user_invitation_by_jwt_claims`): invitation id → `{accountType, claims: {name: [values]}}`. */
  userInvitations: "public:ccf.gov.user_invitations",
  /** Finalized invitations (`set_user_identity` with `invitationId`): invitation id → `{userId, tenantId, finalizedBy}`. */
  acceptedUserInvitations: "public:ccf.gov.accepted_user_invitations",
  /**
   * Acceptances, written by the application when a matching token accepts: invitation id → `{status: "Accepted",
   * userInfo: {userId, data: {tenantId}}, invitationVersion}`; valid only while the invitation is at that version.
   */
  userInvitationsInfo: "public:user_invitations_info",
  /** Trusted JWT issuers (`set_jwt_issuer`): issuer URL → `{auto_refresh, ca_cert_bundle?, audiences?}`. */
  jwtIssuers: "public:ccf.gov.jwt.issuers",
  /** Issuer URL → JWKS `{keys: [...]}`: given in the proposal, or fetched by the service for auto_refresh issuers. */
  jwtPublicSigningKeys: "public:ccf.gov.jwt.public_signing_keys",
  /** Issuer URL → `{refreshedAt, jwksUri}`: when the service last stored keys it fetched for an auto_refresh issuer. */
  jwtRefresh: "public:cleanroom.gov.jwt_refresh",

  /** Draft contracts: id → `{data}`; the key's version is the contract's version. Written by the application. */
  contracts: "public:contracts",
  /** Accepted contracts: id → `{data, proposalId, version, requiredMembers?}`. Written only by the constitution. */
  acceptedContracts: "public:ccf.gov.accepted_contracts",
  /** Execution consent: contract id → `{[memberId]: "enabled" | "disabled"}`. */
  contractsExecutionStatus: "public:contracts_execution_status",
  /** Contract id → "enabled" | "disabled". Written only by the constitution. */
  contractsLoggingStatus: "public:ccf.gov.contracts_logging_status",
  contractsTelemetryStatus: "public:ccf.gov.contracts_telemetry_status",
  /** Contract id → `{"snp-caci"?: {claim: [values]}, "jwt"?: {...}}`. Written only by the constitution. */
  cleanRoomPolicies: "public:ccf.gov.cleanroom_policies",
  /** `<contractId>/<documentId>` → stored user document; the key's version is the document's version. */
  userDocuments: "public:user_documents",
  /** `<contractId>/<documentId>/<approverIdType>:<approverId>` → `{action, version}`; the key's version is the approval's transaction. */
  userDocumentApprovals: "public:cleanroom.user_document_approvals",
  /** `<contractId>/<documentId>/<option>` → `{[approverIdType:approverId]: "enabled" | "disabled"}`. */
  userDocumentsRuntimeOptionStatus: "public:user_documents_runtime_option_status",
  /** `"0"` → `{enabled, keyGeneration, issuerUrl?}`. Written only by the constitution. */
  oidcIssuer: "public:ccf.gov.oidc_issuer",
  /** kid → `{jwk, generation, createdAt, retiredAt?}`: the issuer's public signing keys. Written by the service. */
  oidcIssuerKeys: "public:cleanroom.oidc_issuer.keys",
  /** kid → the private key (PKCS#8 PEM) sealed under the secrets key. Written by the service. */
  oidcIssuerPrivateKeys: "cleanroom.oidc_issuer.signing_keys",
  /** Contract id → number of events written (the next event's key). */
  eventCounters: "public:cleanroom.event_counters",

  /** Written by the ledger: signature transactions. */
  signatures: "public:ccf.internal.signatures",
} as const;

/** Secrets of one contract: `<owner>_<name>` → SealedValue (AES-256-GCM under the service's secrets key). */
export function secretsMap(contractId: string): string {
  return `secrets-${contractId}`;
}

/**
 * Delegate policies of one contract: `<delegateType>/<delegateId>` → `{claims: {claim: [values]}}`, written by the
 * service for attested clean rooms that satisfy the contract's policy. A delegate with no claims left is deleted.
 */
export function delegatePoliciesMap(contractId: string): string {
  return `public:cleanroom.policy_delegates-${contractId}`;
}

/** Audit events of one contract: zero-padded counter → `{id, scope, timestamp, data, writer}`. */
export function eventsMap(contractId: string): string {
  return `public:events-${contractId}`;
}

/** Single-value maps store their value under this key. */
export const SINGLE_KEY = "0";

/** Maps a constitution's apply() may not write: the service owns them. */
export function isServiceOwnedMap(map: string): boolean {
  return (
    map === Maps.proposals ||
    map === Maps.proposalsInfo ||
    map === Maps.closedProposalsInfo ||
    map === Maps.recentRequests ||
    map === Maps.jwtRefresh ||
    map === Maps.serviceInfo ||
    map.startsWith("public:ccf.internal.")
  );
}

/** Maps a constitution's apply() may write: governance maps other than the service-owned ones. */
export function isConstitutionWritableMap(map: string): boolean {
  return map.startsWith("public:ccf.gov.") && !isServiceOwnedMap(map);
}
