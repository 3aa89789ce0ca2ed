import { expect } from "vitest";
import {
  EventListSchema,
  ServiceInfoSchema,
  UserDocumentSchema,
  parseTxId,
  type Approver,
  type AuditEvent,
  type GovernanceEventType,
  type ProposalAction,
  type UserDocument,
} from "@cleanroom/protocol";
import { appRequest, errorCode, type AppResponse, type RequestIdentity } from "./app-requests.js";
import type { Consortium, TestIdentity } from "./consortium.js";

// Shared set-up steps for the application-endpoint tests (authorization matrix, bad input, concurrency): reaching
// governance decisions, accepted contracts and documents, and reading the ledger's position.

/** A request identity with the id and kind the service knows it by (member or user id, or a JWT user's oid). */
export type Actor = RequestIdentity & { id: string; kind: "member" | "user" };

/** A member as an Actor. */
export function memberActor(member: TestIdentity): Actor {
  return { certificatePem: member.certificatePem, keys: member.keys, id: member.id, kind: "member" };
}

/** `status` or `status code`: how test tables write an expected or actual response. */
export function outcome(response: AppResponse): string {
  const code = errorCode(response);
  return code === undefined ? String(response.status) : `${response.status} ${code}`;
}

/** Orders transaction ids `<view>.<seqno>` as the ledger does. */
export function compareTxIds(a: string, b: string): number {
  const x = parseTxId(a);
  const y = parseTxId(b);
  if (!x || !y) throw new Error(`not transaction ids: ${a}, ${b}`);
  return x.view - y.view || x.seqno - y.seqno;
}

/** Proposes the actions as the first voter and has the voters accept until the proposal is no longer Open. */
export async function enact(consortium: Consortium, actions: ProposalAction[], voters: TestIdentity[] = consortium.members): Promise<void> {
  const [proposer] = voters;
  if (!proposer) throw new Error("no voters");
  const { value } = await proposer.client.createProposal({ actions });
  let state = value.proposalState;
  for (const voter of voters) {
    if (state !== "Open") break;
    state = (await voter.client.vote(value.proposalId, voter.id, true)).value.proposalState;
  }
  expect(state, JSON.stringify(actions).slice(0, 200)).toBe("Accepted");
}

/** The id of the last transaction in the ledger (`GET /gov/service/info`), read as `reader`. */
export async function lastTransactionId(consortium: Consortium, reader: RequestIdentity = consortium.members[0]!): Promise<string> {
  const response = await appRequest(consortium.service, reader, "GET", "/gov/service/info");
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  const id = ServiceInfoSchema.parse(response.body).lastTransactionId;
  if (id === undefined) throw new Error("the service reports no last transaction");
  return id;
}

/** Writes a draft contract and has every (given) member accept its set_contract proposal. */
export async function acceptContract(consortium: Consortium, contractId: string, data: unknown = { purpose: contractId }, voters = consortium.members): Promise<void> {
  const proposer = voters[0]!;
  const put = await appRequest(consortium.service, proposer, "PUT", `/app/contracts/${contractId}`, { data });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
  const snapshot = (await appRequest(consortium.service, proposer, "GET", `/app/contracts/${contractId}`)).body;
  await enact(consortium, [{ name: "set_contract", args: { contractId, contract: snapshot } }], voters);
}

export const documentPath = (contractId: string, documentId: string, suffix = "") => `/app/contracts/${contractId}/userdocuments/${documentId}${suffix}`;

export function approversOf(...actors: Array<Pick<Actor, "id" | "kind">>): Approver[] {
  return actors.map((a) => ({ approverId: a.id, approverIdType: a.kind }));
}

/** Creates a Draft user document as `writer`; returns its version. */
export async function createDocument(
  consortium: Consortium,
  writer: RequestIdentity,
  contractId: string,
  documentId: string,
  body: { data?: unknown; approvers?: Approver[]; labels?: Record<string, string> },
): Promise<string> {
  const response = await appRequest(consortium.service, writer, "PUT", documentPath(contractId, documentId), { data: { documentId }, ...body });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.transactionId!;
}

export async function readDocument(consortium: Consortium, reader: RequestIdentity, contractId: string, documentId: string): Promise<UserDocument> {
  const response = await appRequest(consortium.service, reader, "GET", documentPath(contractId, documentId));
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return UserDocumentSchema.parse(response.body);
}

/** Creates a document and has each approver (who must be all of them) accept it. */
export async function acceptedDocument(
  consortium: Consortium,
  writer: RequestIdentity,
  contractId: string,
  documentId: string,
  approvers: Actor[],
): Promise<string> {
  const version = await createDocument(consortium, writer, contractId, documentId, { approvers: approversOf(...approvers) });
  for (const approver of approvers) {
    const response = await appRequest(consortium.service, approver, "POST", documentPath(contractId, documentId, "/approval"), { version, action: "accept" });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  }
  expect((await readDocument(consortium, writer, contractId, documentId)).state).toBe("Accepted");
  return version;
}

/** The contract's audit log: the governance decisions the service recorded, oldest first. */
export async function governanceEvents(consortium: Consortium, contractId: string): Promise<AuditEvent[]> {
  const response = await appRequest(consortium.service, consortium.members[0], "GET", `/app/contracts/${contractId}/events?scope=governance&from_seqno=1`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return EventListSchema.parse(response.body).value;
}

/**
 * Sends a request the service must refuse with `expected` (`status code`) and checks that the refusal's only trace
 * is one transaction holding its `deniedType` audit record. The service must not write signature transactions on a
 * timer (`signatureIntervalMs`), or they would count.
 */
export async function expectAuditedRefusal(
  consortium: Consortium,
  contractId: string,
  request: () => Promise<AppResponse>,
  expected: string,
  deniedType: GovernanceEventType,
): Promise<AuditEvent> {
  const before = parseTxId(await lastTransactionId(consortium));
  const response = await request();
  expect(outcome(response), JSON.stringify(response.body)).toBe(expected);
  const after = await lastTransactionId(consortium);
  expect(parseTxId(after)?.seqno, "one transaction: the audit record").toBe((before?.seqno ?? 0) + 1);
  const recorded = (await governanceEvents(consortium, contractId)).at(-1);
  expect(recorded?.transactionId).toBe(after);
  expect(recorded?.data).toMatchObject({ type: deniedType, code: expected.split(" ")[1], reason: (response.body as { error: { message: string } }).error.message });
  return recorded!;
}

/** Service options for tests that count transactions: no signature transactions on a timer. */
export const NO_TIMED_SIGNATURES = { signatureIntervalMs: 1_000_000_000, signatureEveryTx: 1_000_000 } as const;
