import { parseCertificate, signGovernanceMessage, type GovMessageType } from "@cleanroom/crypto";
import {
  ACCEPT_BALLOT,
  BallotResponseSchema,
  CallerStatusSchema,
  CONTRACT_RUNTIME_OPTION_ACTIONS,
  ContractListSchema,
  ContractSchema,
  EventListSchema,
  JwtIssuerListSchema,
  RuntimeOptionStatusSchema,
  CleanRoomPolicySchema,
  DelegateClaimsSchema,
  DelegateListSchema,
  JwksSchema,
  SecretIdResultSchema,
  SecretListSchema,
  OidcIssuerInfoSchema,
  OpenIdConfigurationSchema,
  SigningKeyResultSchema,
  UserDocumentListSchema,
  UserDocumentSchema,
  UserIdentityListSchema,
  UserIdentitySchema,
  WriteResultSchema,
  IdentitySchema,
  InvitationListSchema,
  InvitationSchema,
  MemberInfoSchema,
  MemberListSchema,
  ProposalHistorySchema,
  ProposalInfoSchema,
  ProposalListSchema,
  REJECT_BALLOT,
  ReceiptSchema,
  ServiceInfoSchema,
  StateDigestResponseSchema,
  TransactionStatusResponseSchema,
  TX_ID_HEADER,
  UserListSchema,
  type ApprovalAction,
  type AuditEvent,
  type CallerStatus,
  type Contract,
  type Delegate,
  type ContractList,
  type ContractRuntimeOption,
  type ContractState,
  type EventList,
  type PolicyClaims,
  type JwtIssuer,
  type PutContractBody,
  type PutUserDocumentBody,
  type RuntimeOptionAction,
  type CleanRoomPolicy,
  type Jwks,
  type OidcIssuerInfo,
  type SetCleanRoomPolicyArgs,
  type RuntimeOptionStatus,
  type SetContractArgs,
  type UserDocument,
  type UserDocumentList,
  type UserDocumentRuntimeOption,
  type UserIdentity,
  type WriteResult,
  type Identity,
  type Invitation,
  type InvitationClaimName,
  type MemberInfo,
  type ProposalBody,
  type ProposalHistory,
  type ProposalInfo,
  type ProposalState,
  type Receipt,
  type ServiceInfo,
  type SetUserInvitationArgs,
  type TransactionStatusResponse,
  type UserInfo,
} from "@cleanroom/protocol";
import type { z } from "zod";
import { ClientCheckError } from "./errors.js";
import { HttpsTransport, checkStatus, jsonBody, parseJson, type HttpResponse } from "./http.js";
import {
  contractListPath,
  contractPath,
  eventListPath,
  eventPutPath,
  segment,
  userDocumentListPath,
  userDocumentPath,
  type EventQuery,
} from "./paths.js";

/** A bearer token, or a function returning the current one (called for every request, so it may refresh). */
export type TokenSource = string | (() => string | Promise<string>);

/** `set_user`'s `user_data`. */
export interface UserData {
  tenantId?: string;
  identifier?: string;
}

/** `set_user_identity`'s arguments: a JWT user, identified by the token's `oid` claim. */
export interface UserIdentityProposal {
  /** The user's `oid`. */
  id: string;
  accountType?: string;
  invitationId?: string;
  data: { tenantId: string; identifier?: string };
}

/**
 * `set_user_invitation_by_jwt_claims`'s arguments: the claims a token must carry to accept the invitation (each one
 * value or a list of allowed values). `type` defaults to `add` (union with the invitation's values, creating it if
 * needed); `remove` drops the given values.
 */
export interface UserInvitationProposal {
  invitationId: string;
  claims: Partial<Record<InvitationClaimName, string | string[]>>;
  type?: "add" | "remove";
  accountType?: "microsoft";
}

/** `set_jwt_issuer`'s arguments, in the client's terms: keys inline (`jwks`) or fetched by the service (`autoRefresh`). */
export interface JwtIssuerProposal {
  issuer: string;
  jwks?: { keys: unknown[] };
  autoRefresh?: boolean;
  /** PEM bundle the service trusts when fetching the issuer's keys (with `autoRefresh`). */
  caCertBundle?: string;
  audiences?: string[];
}

export interface GovernanceClientOptions {
  url: string;
  serviceCertificatePem: string;
  /** The member (or user) identity: TLS client certificate for reads, COSE signing key for governance writes. */
  certificatePem?: string;
  privateKeyPem?: string;
  /** Seconds since the epoch for ccf.gov.msg.created_at (injectable for tests). */
  clock?: () => number;
  timeoutMs?: number;
  /** Sent as `Authorization: Bearer <token>` on every request: how JWT users authenticate to `/app` endpoints. */
  token?: TokenSource;
}

/** A write's result and the id of the transaction that made it durable. */
export interface Written<T> {
  value: T;
  transactionId: string | undefined;
}

function txIdOf(response: HttpResponse): string | undefined {
  const value = response.headers[TX_ID_HEADER];
  return Array.isArray(value) ? value[0] : value;
}

/** Typed client for the governance service: signs governance requests like CCF's ccf_cose_sign1 does. */
export class GovernanceClient {
  private readonly transport: HttpsTransport;

  constructor(private readonly options: GovernanceClientOptions) {
    this.transport = new HttpsTransport(
      options.url,
      {
        serviceCertificatePem: options.serviceCertificatePem,
        ...(options.certificatePem ? { certificatePem: options.certificatePem } : {}),
        ...(options.privateKeyPem ? { privateKeyPem: options.privateKeyPem } : {}),
      },
      options.timeoutMs,
    );
  }

  private async authorization(): Promise<Record<string, string>> {
    const token = typeof this.options.token === "function" ? await this.options.token() : this.options.token;
    return token ? { authorization: `Bearer ${token.trim()}` } : {};
  }

  /** Sends a request with the caller's credentials and checks the status. */
  private async request(method: string, path: string, body?: { contentType: string; data: Uint8Array }): Promise<HttpResponse> {
    return checkStatus(await this.transport.send(method, path, body, await this.authorization()), `${method} ${path}`);
  }

  private async get<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    return schema.parse(parseJson(await this.request("GET", path)));
  }

  /** A POST read (CCF style) or action whose response is JSON of `schema`, with the transaction id. */
  private async post<T>(path: string, schema: z.ZodType<T>, body?: unknown): Promise<Written<T>> {
    const response = await this.request("POST", path, body === undefined ? undefined : jsonBody(body));
    return { value: schema.parse(parseJson(response)), transactionId: txIdOf(response) };
  }

  private async put<T>(path: string, schema: z.ZodType<T>, body: unknown): Promise<Written<T>> {
    const response = await this.request("PUT", path, jsonBody(body));
    return { value: schema.parse(parseJson(response)), transactionId: txIdOf(response) };
  }

  /** The id of the client's own certificate: the member id its ballots are cast as. */
  ownId(): string {
    if (!this.options.certificatePem) throw new Error("This client has no certificate, so it has no member id.");
    return parseCertificate(this.options.certificatePem).id;
  }

  /** Signs `payload` as a governance message of `type` and posts it. */
  async postSigned(path: string, type: GovMessageType, payload: Uint8Array | string, proposalId?: string): Promise<HttpResponse> {
    if (!this.options.certificatePem || !this.options.privateKeyPem) {
      throw new Error("Signing governance requests needs the member's certificate and private key.");
    }
    const cose = signGovernanceMessage(
      { certificatePem: this.options.certificatePem, privateKey: this.options.privateKeyPem },
      { type, payload, ...(proposalId ? { proposalId } : {}), ...(this.options.clock ? { createdAt: this.options.clock() } : {}) },
    );
    return this.postCose(path, cose);
  }

  /** Posts an already-signed COSE_Sign1 body (e.g. made by another tool) and checks the status. */
  async postCose(path: string, cose: Uint8Array): Promise<HttpResponse> {
    return this.request("POST", path, { contentType: "application/cose", data: cose });
  }

  private async signedProposalInfo(path: string, type: GovMessageType, payload: string, proposalId?: string): Promise<Written<ProposalInfo>> {
    const response = await this.postSigned(path, type, payload, proposalId);
    return { value: ProposalInfoSchema.parse(parseJson(response)), transactionId: txIdOf(response) };
  }

  createProposal(proposal: ProposalBody): Promise<Written<ProposalInfo>> {
    return this.signedProposalInfo("/gov/members/proposals:create", "proposal", JSON.stringify(proposal));
  }

  submitBallot(proposalId: string, memberId: string, ballot: string): Promise<Written<ProposalInfo>> {
    return this.signedProposalInfo(`/gov/members/proposals/${proposalId}/ballots/${memberId}:submit`, "ballot", JSON.stringify({ ballot }), proposalId);
  }

  /** Votes with one of the two canonical ballots. */
  vote(proposalId: string, memberId: string, accept: boolean): Promise<Written<ProposalInfo>> {
    return this.submitBallot(proposalId, memberId, accept ? ACCEPT_BALLOT : REJECT_BALLOT);
  }

  withdraw(proposalId: string): Promise<Written<ProposalInfo>> {
    return this.signedProposalInfo(`/gov/members/proposals/${proposalId}:withdraw`, "withdrawal", "", proposalId);
  }

  /** Activation, as in CCF: request a state digest, then acknowledge it. */
  async activate(memberId: string): Promise<Written<{ stateDigest: string }>> {
    const update = await this.postSigned(`/gov/members/state-digests/${memberId}:update`, "state_digest", "");
    const { stateDigest } = StateDigestResponseSchema.parse(parseJson(update));
    const ack = await this.postSigned(`/gov/members/state-digests/${memberId}:ack`, "ack", JSON.stringify({ stateDigest }));
    return { value: { stateDigest }, transactionId: txIdOf(ack) };
  }

  async members(): Promise<MemberInfo[]> {
    return (await this.get("/gov/service/members", MemberListSchema)).value;
  }

  member(memberId: string): Promise<MemberInfo> {
    return this.get(`/gov/service/members/${memberId}`, MemberInfoSchema);
  }

  async users(): Promise<UserInfo[]> {
    return (await this.get("/gov/service/users", UserListSchema)).value;
  }

  /** Every proposal (following nextLink pages), optionally in one state. */
  async proposals(state?: ProposalState): Promise<ProposalInfo[]> {
    const all: ProposalInfo[] = [];
    let next: string | undefined = `/gov/members/proposals${state ? `?state=${state}` : ""}`;
    while (next) {
      const page: z.infer<typeof ProposalListSchema> = await this.get(next, ProposalListSchema);
      all.push(...page.value);
      next = page.nextLink;
    }
    return all;
  }

  proposal(proposalId: string): Promise<ProposalInfo> {
    return this.get(`/gov/members/proposals/${proposalId}`, ProposalInfoSchema);
  }

  async proposalActions(proposalId: string): Promise<unknown> {
    return parseJson(await this.request("GET", `/gov/members/proposals/${proposalId}/actions`));
  }

  proposalHistory(proposalId: string): Promise<ProposalHistory> {
    return this.get(`/gov/members/proposals/${proposalId}/history`, ProposalHistorySchema);
  }

  async ballot(proposalId: string, memberId: string): Promise<string> {
    return (await this.get(`/gov/members/proposals/${proposalId}/ballots/${memberId}`, BallotResponseSchema)).ballot;
  }

  async constitution(): Promise<string> {
    return (await this.request("GET", "/gov/service/constitution")).body.toString("utf8");
  }

  serviceInfo(): Promise<ServiceInfo> {
    return this.get("/gov/service/info", ServiceInfoSchema);
  }

  identity(): Promise<Identity> {
    return this.get("/app/identity", IdentitySchema);
  }

  transactionStatus(transactionId: string): Promise<TransactionStatusResponse> {
    return this.get(`/gov/service/transactions/${transactionId}`, TransactionStatusResponseSchema);
  }

  receipt(transactionId: string): Promise<Receipt> {
    return this.get(`/app/receipt?transaction_id=${encodeURIComponent(transactionId)}`, ReceiptSchema);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Contracts

  /** Creates a draft contract (no `version`) or updates it (its current `version`). */
  putContract(contractId: string, body: PutContractBody): Promise<Written<WriteResult>> {
    return this.put(contractPath(contractId), WriteResultSchema, body);
  }

  contract(contractId: string): Promise<Contract> {
    return this.get(contractPath(contractId), ContractSchema);
  }

  async contracts(state?: ContractState): Promise<ContractList["value"]> {
    return (await this.get(contractListPath(state), ContractListSchema)).value;
  }

  /**
   * Proposes the contract as it is at `version` (the reference's client checks: the version must be given and
   * still be current), as a `set_contract` proposal carrying the contract snapshot.
   */
  async proposeContract(contractId: string, version: string | undefined): Promise<Written<ProposalInfo>> {
    if (!version) throw new ClientCheckError("VersionMissing", `Proposing contract ${contractId} needs the version being proposed.`);
    const contract = await this.contract(contractId);
    if (contract.version !== version) {
      throw new ClientCheckError("ContractModified", `Contract ${contractId} is at version ${contract.version}, not ${version}: it changed since.`);
    }
    const args: SetContractArgs = { contractId, contract };
    return this.createProposal({ actions: [{ name: "set_contract", args }] });
  }

  /** Votes on the contract's open proposal as this client's member, after checking it is that proposal. */
  async voteContract(contractId: string, proposalId: string | undefined, accept: boolean): Promise<Written<ProposalInfo>> {
    if (!proposalId) throw new ClientCheckError("ProposalIdMissing", `Voting on contract ${contractId} needs the proposal id.`);
    const contract = await this.contract(contractId);
    if (contract.state !== "Proposed") {
      throw new ClientCheckError("ContractNotProposed", `Contract ${contractId} is ${contract.state}: there is no open proposal to vote on.`);
    }
    if (contract.proposalId !== proposalId) {
      throw new ClientCheckError("ContractProposalIdMismatch", `Proposal ${proposalId} is not contract ${contractId}'s open proposal ${contract.proposalId}.`);
    }
    return this.vote(proposalId, this.ownId(), accept);
  }

  async contractRuntimeOption(contractId: string, option: ContractRuntimeOption): Promise<RuntimeOptionStatus> {
    return (await this.post(`${contractPath(contractId)}/runtimeoptions/${segment(option)}/status`, RuntimeOptionStatusSchema)).value;
  }

  /** Enables or disables execution of an accepted contract for this member (the only option set directly). */
  setContractRuntimeOption(contractId: string, option: ContractRuntimeOption, action: RuntimeOptionAction): Promise<Written<RuntimeOptionStatus>> {
    return this.post(`${contractPath(contractId)}/runtimeoptions/${segment(option)}/${action}`, RuntimeOptionStatusSchema);
  }

  /** Proposes enabling or disabling an accepted contract's logging or telemetry. */
  proposeContractRuntimeOption(
    contractId: string,
    option: keyof typeof CONTRACT_RUNTIME_OPTION_ACTIONS,
    action: RuntimeOptionAction,
  ): Promise<Written<ProposalInfo>> {
    return this.createProposal({ actions: [{ name: CONTRACT_RUNTIME_OPTION_ACTIONS[option][action], args: { contractId } }] });
  }

  /** The contract's clean-room policies and the open proposals that would change them. */
  cleanRoomPolicy(contractId: string): Promise<CleanRoomPolicy> {
    return this.get(`${contractPath(contractId)}/cleanroompolicy`, CleanRoomPolicySchema);
  }

  /** The contract's delegate policies (set by attested clean rooms): which resources admit a second workload. */
  async delegates(contractId: string): Promise<Delegate[]> {
    return (await this.get(`${contractPath(contractId)}/cleanroompolicy/delegates`, DelegateListSchema)).value;
  }

  /** The claims a delegate policy admits (`{}` when none). */
  async delegateClaims(contractId: string, delegate: Delegate): Promise<PolicyClaims> {
    const path = `${contractPath(contractId)}/cleanroompolicy/delegates/${segment(delegate.delegateType)}/${segment(delegate.delegateId)}`;
    return (await this.post(path, DelegateClaimsSchema)).value.claims;
  }

  /** Proposes adding or removing allowed claim values of an accepted contract's clean-room policy. */
  proposeCleanRoomPolicy(args: SetCleanRoomPolicyArgs): Promise<Written<ProposalInfo>> {
    return this.createProposal({ actions: [{ name: "set_clean_room_policy", args }] });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Secrets

  /** Stores a secret for the contract as `<caller id>_<name>` (replacing the caller's previous value). */
  putSecret(contractId: string, name: string, value: string): Promise<Written<{ secretId: string }>> {
    return this.put(`${contractPath(contractId)}/secrets/${segment(name)}`, SecretIdResultSchema, { value });
  }

  async secrets(contractId: string): Promise<Array<{ secretId: string }>> {
    return (await this.get(`${contractPath(contractId)}/secrets`, SecretListSchema)).value;
  }

  // -------------------------------------------------------------------------------------------------------------
  // OIDC issuer

  async oidcIssuerInfo(): Promise<OidcIssuerInfo> {
    return (await this.post("/app/oidc/issuerInfo", OidcIssuerInfoSchema)).value;
  }

  /** Has the service generate the signing key of the issuer's current key generation (idempotent). */
  generateOidcSigningKey(): Promise<Written<{ kid: string; generation: number }>> {
    return this.post("/app/oidc/generateSigningKey", SigningKeyResultSchema);
  }

  oidcJwks(): Promise<Jwks> {
    return this.get("/app/oidc/keys", JwksSchema);
  }

  oidcDiscovery(): Promise<z.infer<typeof OpenIdConfigurationSchema>> {
    return this.get("/app/oidc/.well-known/openid-configuration", OpenIdConfigurationSchema);
  }

  proposeEnableOidcIssuer(issuerUrl?: string): Promise<Written<ProposalInfo>> {
    return this.createProposal({ actions: [{ name: "enable_oidc_issuer", args: issuerUrl === undefined ? {} : { issuer_url: issuerUrl } }] });
  }

  proposeRotateOidcSigningKey(): Promise<Written<ProposalInfo>> {
    return this.createProposal({ actions: [{ name: "rotate_oidc_issuer_signing_key", args: {} }] });
  }

  proposeOidcIssuerUrl(issuerUrl: string): Promise<Written<ProposalInfo>> {
    return this.createProposal({ actions: [{ name: "set_oidc_issuer_url", args: { issuer_url: issuerUrl } }] });
  }

  // -------------------------------------------------------------------------------------------------------------
  // User documents

  /** Creates a user document (no `version`) or updates it while Draft (its current `version`). */
  putUserDocument(contractId: string, documentId: string, body: PutUserDocumentBody): Promise<Written<WriteResult>> {
    return this.put(userDocumentPath(contractId, documentId), WriteResultSchema, body);
  }

  userDocument(contractId: string, documentId: string): Promise<UserDocument> {
    return this.get(userDocumentPath(contractId, documentId), UserDocumentSchema);
  }

  /** The contract's documents; `labelSelector` (`name:value,name2:value2`) keeps those carrying every label. */
  async userDocuments(contractId: string, labelSelector?: string): Promise<UserDocumentList["value"]> {
    return (await this.get(userDocumentListPath(contractId, labelSelector), UserDocumentListSchema)).value;
  }

  /** Accepts or rejects `version` of the document as the caller (who must be one of its approvers). */
  approveUserDocument(contractId: string, documentId: string, version: string, action: ApprovalAction): Promise<Written<UserDocument>> {
    return this.post(`${userDocumentPath(contractId, documentId)}/approval`, UserDocumentSchema, { version, action });
  }

  async userDocumentRuntimeOption(contractId: string, documentId: string, option: UserDocumentRuntimeOption): Promise<RuntimeOptionStatus> {
    return (await this.post(`${userDocumentPath(contractId, documentId)}/runtimeoptions/${segment(option)}/status`, RuntimeOptionStatusSchema)).value;
  }

  setUserDocumentRuntimeOption(
    contractId: string,
    documentId: string,
    option: UserDocumentRuntimeOption,
    action: RuntimeOptionAction,
  ): Promise<Written<RuntimeOptionStatus>> {
    return this.post(`${userDocumentPath(contractId, documentId)}/runtimeoptions/${segment(option)}/${action}`, RuntimeOptionStatusSchema);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Events

  /** One page of the contract's events. Without `fromSeqno` the service returns only the latest matching event. */
  events(contractId: string, query: EventQuery = {}): Promise<EventList> {
    return this.get(eventListPath(contractId, query), EventListSchema);
  }

  /** Every matching event from `fromSeqno` (default 1), following `nextLink` pages. */
  async allEvents(contractId: string, query: EventQuery = {}): Promise<AuditEvent[]> {
    const all: AuditEvent[] = [];
    let next: string | undefined = eventListPath(contractId, { ...query, fromSeqno: query.fromSeqno ?? 1 });
    while (next) {
      const page: EventList = await this.get(next, EventListSchema);
      all.push(...page.value);
      next = page.nextLink;
    }
    return all;
  }

  /** Appends an event (`id` defaults to the contract id on the service, `scope` to none). */
  async putEvent(contractId: string, data: unknown, query: { id?: string; scope?: string } = {}): Promise<Written<undefined>> {
    const response = await this.request("PUT", eventPutPath(contractId, query), jsonBody({ data }));
    return { value: undefined, transactionId: txIdOf(response) };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Users and JWT issuers

  async userIdentities(): Promise<UserIdentity[]> {
    return (await this.get("/app/users/identities", UserIdentityListSchema)).value;
  }

  userIdentity(identityId: string): Promise<UserIdentity> {
    return this.get(`/app/users/identities/${segment(identityId)}`, UserIdentitySchema);
  }

  /** Who the service takes the caller to be. */
  async selfStatus(): Promise<CallerStatus> {
    return (await this.post("/app/users/identities/self/status", CallerStatusSchema)).value;
  }

  async jwtIssuers(): Promise<JwtIssuer[]> {
    return (await this.get("/gov/service/jwt-issuers", JwtIssuerListSchema)).value;
  }

  /** Proposes registering a certificate user (`set_user`). */
  proposeUser(certificatePem: string, userData: UserData = {}): Promise<Written<ProposalInfo>> {
    return this.createProposal({ actions: [{ name: "set_user", args: { cert: certificatePem, user_data: userData } }] });
  }

  /**
   * Proposes registering a JWT user by its `oid` (`set_user_identity`). With `invitationId`, the constitution requires
   * `id` and `data.tenantId` to be those of the user who accepted that invitation, and finalizes it.
   */
  proposeUserIdentity(identity: UserIdentityProposal): Promise<Written<ProposalInfo>> {
    return this.createProposal({ actions: [{ name: "set_user_identity", args: identity }] });
  }

  /** Every user invitation, with its derived status. */
  async invitations(): Promise<Invitation[]> {
    return (await this.get("/app/users/invitations", InvitationListSchema)).value;
  }

  invitation(invitationId: string): Promise<Invitation> {
    return this.get(`/app/users/invitations/${segment(invitationId)}`, InvitationSchema);
  }

  /**
   * Accepts an invitation as the bearer of the client's `token` (the invitee, who need not be registered yet). The
   * service takes no certificate for this, so a client without a token fails here without sending anything.
   */
  async acceptInvitation(invitationId: string): Promise<Written<Invitation>> {
    if (this.options.token === undefined) {
      throw new Error("Accepting an invitation needs the invitee's bearer token (the client's token option); a certificate does not identify an invitee.");
    }
    return this.post(`/app/users/invitations/${segment(invitationId)}/accept`, InvitationSchema);
  }

  /** Proposes creating or changing an invitation (`set_user_invitation_by_jwt_claims`). */
  proposeUserInvitation(invitation: UserInvitationProposal): Promise<Written<ProposalInfo>> {
    const args: SetUserInvitationArgs = {
      invitationId: invitation.invitationId,
      type: invitation.type ?? "add",
      ...(invitation.accountType !== undefined ? { accountType: invitation.accountType } : {}),
      claims: invitation.claims,
    };
    return this.createProposal({ actions: [{ name: "set_user_invitation_by_jwt_claims", args }] });
  }

  /** Proposes deleting an invitation (`remove_user_invitation_by_jwt_claims`). */
  proposeRemoveUserInvitation(invitationId: string): Promise<Written<ProposalInfo>> {
    return this.createProposal({ actions: [{ name: "remove_user_invitation_by_jwt_claims", args: { invitationId } }] });
  }

  /** Proposes trusting a JWT issuer (`set_jwt_issuer`). */
  proposeJwtIssuer(issuer: JwtIssuerProposal): Promise<Written<ProposalInfo>> {
    const args = {
      issuer: issuer.issuer,
      ...(issuer.jwks !== undefined ? { jwks: issuer.jwks } : {}),
      ...(issuer.autoRefresh ? { auto_refresh: true } : {}),
      ...(issuer.caCertBundle !== undefined ? { ca_cert_bundle: issuer.caCertBundle } : {}),
      ...(issuer.audiences !== undefined ? { audiences: issuer.audiences } : {}),
    };
    return this.createProposal({ actions: [{ name: "set_jwt_issuer", args }] });
  }

  close(): void {
    this.transport.close();
  }
}
