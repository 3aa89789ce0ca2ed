/**
 * The error catalogue: every error code a Cleanroom service returns, defined once with its HTTP status and what it
 * means. Services throw `ApiError`; clients receive `{"error": {"code", "message"}}`. `docs/errors.md` documents
 * every code, and a test keeps the two in step. Codes are never reused for a different meaning.
 */
export const ERROR_CATALOGUE = {
  // Requests and transport
  InvalidInput: { status: 400, description: "The request body or its fields do not match the endpoint's schema." },
  InvalidParameter: { status: 400, description: "A path or query parameter is malformed." },
  MalformedJson: { status: 400, description: "The request body is not valid JSON." },
  RequestTooLarge: { status: 413, description: "The request body exceeds the service's size limit." },
  UnsupportedContentType: { status: 415, description: "The request's Content-Type is not the one the endpoint accepts." },
  ResourceNotFound: { status: 404, description: "No endpoint exists at this method and path." },
  InternalError: { status: 500, description: "An unexpected failure; the request had no effect." },
  ServiceUnavailable: { status: 503, description: "The service cannot accept writes (its ledger stopped after a storage failure)." },

  // Authentication of callers
  InvalidAuthenticationInfo: {
    status: 401,
    description:
      "No registered member or user certificate was presented, and no valid bearer token from a trusted issuer (or the token is expired, malformed or not signed by the issuer's keys).",
  },
  InvalidCoseSign1: { status: 400, description: "The body is not a well-formed COSE_Sign1 governance message." },
  UnknownSigner: { status: 401, description: "The COSE kid does not name a registered member." },
  InvalidSignature: { status: 401, description: "The COSE_Sign1 signature does not verify with the member's certificate." },
  MemberNotActive: { status: 403, description: "Only Active members may propose, vote or withdraw." },
  MessageTypeMismatch: { status: 400, description: "The ccf.gov.msg.type header does not match the endpoint." },
  CreatedAtOutOfRange: { status: 400, description: "ccf.gov.msg.created_at is too far from the service's clock." },
  RequestReplayed: { status: 409, description: "This exact signed request was already processed." },

  // Members
  MemberNotFound: { status: 404, description: "No member has this id." },
  UserNotFound: { status: 404, description: "No user has this id." },
  MemberIdMismatch: { status: 400, description: "The member id in the path is not the signer's id." },
  MemberAlreadyActive: { status: 409, description: "The member has already acknowledged and is Active." },
  StateDigestMismatch: { status: 400, description: "The acknowledged state digest is not the one last issued to the member." },
  StateDigestNotRequested: { status: 400, description: "The member must request a state digest (update) before acknowledging." },

  // Proposals and ballots
  ProposalFailedToValidate: { status: 400, description: "The proposal is malformed or the constitution's validate rejected it." },
  ProposalNotFound: { status: 404, description: "No proposal has this id." },
  ProposalIdMismatch: { status: 400, description: "The proposal id in the path differs from the signed ccf.gov.msg.proposal_id." },
  ProposalNotOpen: { status: 409, description: "The proposal is closed: ballots and withdrawals are refused." },
  VoteAlreadyExists: { status: 409, description: "This member has already submitted a ballot for the proposal." },
  NotProposer: { status: 403, description: "Only the member who created a proposal may withdraw it." },
  InvalidBallot: { status: 400, description: "The ballot is not a vote(proposal, proposerId) function returning a boolean." },
  BallotNotFound: { status: 404, description: "The member has not submitted a ballot for the proposal." },
  ConstitutionError: {
    status: 400,
    description: "The constitution threw, ran out of time or memory, or returned an invalid result; nothing was changed.",
  },

  // Authorization of application callers (reference §1.3)
  CallerNotAuthorized: { status: 403, description: "The JWT is valid but its `oid` is not a registered user identity." },
  CallerTenantNotAuthorized: { status: 403, description: "The JWT's `tid` is not the tenant the user identity was registered with." },
  MemberOnly: { status: 403, description: "Only consortium members may call this endpoint." },
  CertificateNotRegistered: {
    status: 403,
    description: "A clean room's caller check: the certificate is not that of a registered member or certificate user.",
  },

  // Contracts (reference §2.1, §3.1, §3.3)
  DataMissing: { status: 400, description: "The request body has no `data`." },
  ContractNotFound: { status: 404, description: "No contract has this id." },
  ContractAlreadyExists: { status: 409, description: "The contract exists; updating it needs its current `version`." },
  ContractAlreadyAccepted: { status: 405, description: "An accepted contract cannot be changed." },
  ContractUnderProposal: {
    status: 409,
    description: "The contract has an open proposal; it cannot be edited until the proposal is accepted, rejected or withdrawn.",
  },
  PreconditionFailed: { status: 412, description: "The given `version` is not the resource's current version." },
  InvalidRequiredMembers: {
    status: 400,
    description: "`data.metadata.voters.requiredMembers` must be a non-empty list of unique ids of existing members.",
  },
  InvalidOption: { status: 400, description: "The runtime option is not one of those the endpoint supports." },
  ContractNotAccepted: { status: 400, description: "The operation needs an accepted contract." },
  ContractModified: { status: 400, description: "(client) The contract changed since the version given to propose." },
  VersionMissing: { status: 400, description: "(client) Proposing a contract needs the version being proposed." },
  ProposalIdMissing: { status: 400, description: "(client) Voting on a contract needs the proposal id." },
  ContractNotProposed: { status: 400, description: "(client) The contract has no open proposal to vote on." },
  ContractProposalIdMismatch: { status: 400, description: "(client) The proposal id is not the contract's open proposal." },

  // User documents (reference §2.6, §3.4)
  UserDocumentNotFound: { status: 404, description: "No user document has this id in this contract." },
  UserDocumentAlreadyExists: { status: 409, description: "The document exists; updating it needs its current `version`." },
  UserDocumentAlreadyAccepted: { status: 405, description: "An accepted document cannot be changed." },
  UserDocumentNotDraft: { status: 409, description: "An approver has acted on the document: it can no longer be edited." },
  ContractIdMismatch: { status: 400, description: "The body's `contractId` differs from the contract in the path." },
  InvalidApprovers: {
    status: 400,
    description: "Approvers must be unique, existing members or users; with none given, the consortium must have a counted Active member.",
  },
  NotUserDocumentApprover: { status: 403, description: "The caller is not one of the document's approvers." },
  ApprovalAlreadySubmitted: { status: 409, description: "This approver has already accepted or rejected the document." },
  UserDocumentRejected: { status: 409, description: "The document was rejected; it can no longer be approved or edited." },
  UserDocumentNotAccepted: { status: 400, description: "The operation needs an accepted document." },
  InvalidUserDocumentRuntimeOption: { status: 400, description: "User documents support the runtime options `execution` and `telemetry`." },

  // Analytics documents: datasets, sinks and queries (issue 5; upstream-spark-analytics.md §2)
  UserDocumentTypeChanged: { status: 400, description: "A document's `type` label cannot be added, removed or changed by an update." },
  InvalidDatasetDocument: { status: 400, description: "The `data` of a `type: dataset` or `type: datasink` document does not match the dataset schema." },
  InvalidQueryDocument: { status: 400, description: "The `data` of a `type: query` document does not match the query schema." },
  SecretOwnerMismatch: { status: 400, description: "A dataset or sink names a secret that is not its owner's (`<owner id>_<name>`)." },
  FederationSubjectMismatch: { status: 400, description: "A dataset or sink's federation subject is not `<contractId>/<owner id>[/<name>]`." },
  QueryInputNotFound: { status: 400, description: "A query input names a document that does not exist in the contract." },
  QueryInputNotDataset: { status: 400, description: "A query input names a document that is not a valid `type: dataset` document." },
  QueryInputNotAccepted: { status: 400, description: "A query input names a dataset that is not Accepted." },
  QueryOutputNotFound: { status: 400, description: "The query's output names a document that does not exist in the contract." },
  QueryOutputNotDatasink: { status: 400, description: "The query's output names a document that is not a valid `type: datasink` document." },
  QueryOutputNotAccepted: { status: 400, description: "The query's output names a sink that is not Accepted." },
  QueryReferenceVersionMismatch: { status: 400, description: "A `version` given for a query input or output is not the referenced document's Accepted version." },
  QueryApproversMismatch: { status: 400, description: "The approvers given for a query are not the owners of its inputs and sink." },

  // Secrets
  ValueMissing: { status: 400, description: "The request body has no secret `value` (or it is empty)." },
  ValueTooLarge: { status: 400, description: "The secret value is longer than 25600 characters." },

  // Attested release (reference §4.1)
  AttestationMissing: { status: 400, description: "The request carries no `attestation`." },
  EncryptionMissing: { status: 400, description: "The request carries no `encrypt.publicKey` (base64 of an RSA public key PEM) to wrap to." },
  UnsupportedPlatform: { status: 400, description: "The attestation `platform` is not supported (only `snp-caci`)." },
  VerifySnpAttestationFailed: {
    status: 400,
    description: "The attestation does not verify, the contract has no clean-room policy, or the attested claims do not match it.",
  },
  ReportDataMismatch: { status: 400, description: "The attestation's report data is not bound to `encrypt.publicKey`." },
  SecretNotFound: { status: 404, description: "The contract has no secret with this id." },

  // Signed requests of attested clean rooms (reference §4.1): delegate policies, events, clean-room secrets
  SignatureMissing: { status: 400, description: "The request has no `sign: {signature, publicKey}` (base64; the key an RSA public key PEM)." },
  SignatureMismatch: { status: 400, description: "The signature over `data` does not verify with the attested workload's key." },
  TimestampMissing: { status: 400, description: "The attested event has no `timestamp`." },
  TimestampTooLarge: { status: 400, description: "The attested event's `timestamp` is larger than 9999999999999 (13 digits of milliseconds)." },
  InvalidDelegateType: {
    status: 400,
    description: "Delegate policies exist for `secrets/<secretId>`, `events/writer` and `oauth-federation-subjects/<contractId>[/<name>]` only.",
  },
  ClaimValueNotFound: { status: 400, description: "A `remove` names a claim value the delegate policy does not hold." },

  // OIDC issuer
  OidcIssuerNotEnabled: { status: 405, description: "The consortium has not enabled the OIDC issuer (enable_oidc_issuer proposal)." },
  SigningKeyNotAvailable: { status: 405, description: "No signing key exists for the issuer's current key generation yet." },
  IssuerUrlNotSet: { status: 405, description: "The issuer URL is not set (enable_oidc_issuer or set_oidc_issuer_url proposal)." },

  // Events and users
  ReservedEventScope: { status: 400, description: "This event scope is written only by the service (governance decisions)." },
  UserIdentityNotFound: { status: 404, description: "No user identity has this id." },

  // User invitations (reference §2.8)
  InvitationNotFound: { status: 404, description: "No user invitation has this id." },
  InvitationNotOpen: { status: 409, description: "The invitation was already accepted (or finalized); it can be accepted only while Open." },
  OidClaimMissing: { status: 404, description: "The token has no `oid` claim usable as a user identity id." },
  TokenClaimMissing: { status: 403, description: "The token lacks a claim the invitation requires." },
  TokenClaimMismatch: { status: 403, description: "A claim of the token has none of the values the invitation allows." },

  // Transactions and receipts
  InvalidTransactionId: { status: 400, description: "A transaction id must have the form <view>.<seqno>." },
  TransactionNotFound: { status: 404, description: "No committed transaction has this id." },
  TransactionInvalid: { status: 404, description: "This transaction id can never be committed (it belongs to a lost view)." },

  // The clean-room agent (reference upstream-spark-analytics.md §2.5, §3.2): run-time checks and runs
  InvalidDateRange: { status: 400, description: "`startDate` and `endDate` must be given together, and the start must not be after the end." },
  InvalidDateFormat: { status: 400, description: "A partition date is not `YYYY-MM-DD` (a time part, if any, must be midnight UTC)." },
  QueryNotFound: { status: 404, description: "The contract has no query document with this id (`type: query`)." },
  QueryNotAccepted: { status: 400, description: "The query is not Accepted, and no owner approval is missing: it was rejected or is not proposed yet." },
  QueryMissingApprovalsFromDatasetOwners: { status: 400, description: "The owners of some inputs (or of the sink) have not approved the query's accepted version." },
  DatasetMissing: { status: 400, description: "A query input names a dataset that is not an Accepted `type: dataset` document." },
  DatasinkMissing: { status: 400, description: "The query's output names a sink that is not an Accepted `type: datasink` document." },
  QueryBindingStale: { status: 409, description: "An input or the sink has been accepted in a newer version than the one the query's approvers approved." },
  UserDocumentRuntimeOptionDisabled: { status: 400, description: "An approver has disabled execution consent on the query, an input or the sink." },
  ContractDisabled: { status: 400, description: "A member has disabled execution consent on the contract." },
  RunIdInUse: { status: 409, description: "The runId was already used by a run of another query." },
  RunNotFound: { status: 404, description: "The agent has no run with this id." },
  StorageUnreachable: { status: 502, description: "A dataset's or sink's storage could not be reached." },
  StorageAccessDenied: { status: 403, description: "A dataset's or sink's storage refused the clean room's credentials." },
  StorageNotFound: { status: 404, description: "A dataset's folder, container or bucket does not exist." },
  StorageCredentialsInvalid: { status: 400, description: "A released storage credential does not have the shape its location needs." },
  JobResolutionFailed: { status: 400, description: "A dry run could not resolve the job (a store, a key or a listing failed); the message names the cause." },

  // Runtime sidecar (the workload's localhost API)
  AttestationUnavailable: { status: 503, description: "The runtime could not obtain the workload's attestation from its platform." },
  GovernanceUnavailable: { status: 502, description: "The runtime could not reach the governance service." },
  UnwrapFailed: { status: 502, description: "A value the governance service returned could not be unwrapped with the workload key." },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The wire shape of every error response. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** An error with a catalogued code; the HTTP layer turns it into the status and body the catalogue defines. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.status = ERROR_CATALOGUE[code].status;
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== "object" || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    typeof (error as { message?: unknown }).message === "string"
  );
}
