import { signGovernanceMessage, type GovMessageType } from "@cleanroom/crypto";
import {
  ACCEPT_BALLOT,
  BallotResponseSchema,
  IdentitySchema,
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
  type Identity,
  type MemberInfo,
  type ProposalBody,
  type ProposalHistory,
  type ProposalInfo,
  type ProposalState,
  type Receipt,
  type ServiceInfo,
  type TransactionStatusResponse,
  type UserInfo,
} from "@cleanroom/protocol";
import type { z } from "zod";
import { HttpsTransport, checkStatus, parseJson, type HttpResponse } from "./http.js";

export interface GovernanceClientOptions {
  url: string;
  serviceCertificatePem: string;
  /** The member (or user) identity: TLS client certificate for reads, COSE signing key for governance writes. */
  certificatePem?: string;
  privateKeyPem?: string;
  /** Seconds since the epoch for ccf.gov.msg.created_at (injectable for tests). */
  clock?: () => number;
  timeoutMs?: number;
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

  private async get<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    const response = checkStatus(await this.transport.send("GET", path), `GET ${path}`);
    return schema.parse(parseJson(response));
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
    return checkStatus(await this.transport.send("POST", path, { contentType: "application/cose", data: cose }), `POST ${path}`);
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
    const response = checkStatus(await this.transport.send("GET", `/gov/members/proposals/${proposalId}/actions`), "GET actions");
    return parseJson(response);
  }

  proposalHistory(proposalId: string): Promise<ProposalHistory> {
    return this.get(`/gov/members/proposals/${proposalId}/history`, ProposalHistorySchema);
  }

  async ballot(proposalId: string, memberId: string): Promise<string> {
    return (await this.get(`/gov/members/proposals/${proposalId}/ballots/${memberId}`, BallotResponseSchema)).ballot;
  }

  async constitution(): Promise<string> {
    const response = checkStatus(await this.transport.send("GET", "/gov/service/constitution"), "GET constitution");
    return response.body.toString("utf8");
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

  close(): void {
    this.transport.close();
  }
}
