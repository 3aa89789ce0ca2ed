// Concurrency of the application endpoints: 32 clients, each request on its own TLS connection, run several rounds
// at once of optimistic-concurrency updates of the same user documents and contract drafts (with the versions they
// read), approvals racing those updates, creations racing each other, and execution/telemetry consent toggles on
// accepted documents and contracts. Afterwards every success must be reflected in the final state and the audit
// log, every failure must be a clean 4xx with the code that explains it (never a 5xx), and the ledger the service
// leaves behind must verify offline.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContractSchema, EventListSchema, RuntimeOptionStatusSchema, type AuditEvent } from "@cleanroom/protocol";
import { ServiceError } from "@cleanroom/governance-client";
import { verifyLedger } from "@cleanroom/ledger";
import { appRequest, errorCode, type AppResponse } from "../support/app-requests.js";
import {
  acceptContract,
  acceptedDocument,
  approversOf,
  compareTxIds,
  createDocument,
  documentPath,
  enact,
  lastTransactionId,
  memberActor,
  readDocument,
  type Actor,
} from "../support/app-fixtures.js";
import { makeIdentity, startConsortium, type Consortium, type TestIdentity } from "../support/consortium.js";

const CLIENTS = 32;
const ROUNDS = 4;
const SEED = Number(process.env.CLEANROOM_TEST_SEED ?? Date.now() % 1_000_000);
const CONTRACT = "shared";
const EDIT_DOCS = ["edit-0", "edit-1"];
const APPROVAL_DOCS = ["approve-0", "approve-1"];
const CONSENT_DOCS = ["consent-0", "consent-1"];
const DRAFT_CONTRACTS = ["draft-0", "draft-1"];
/** The draft that a member proposes (in round 1) while others keep updating it. */
const PROPOSED_CONTRACT = DRAFT_CONTRACTS[1]!;

/** Deterministic per seed, so that a failing interleaving's choices can be replayed (CLEANROOM_TEST_SEED). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(SEED);

type Kind = "updateDocument" | "approve" | "toggleDocument" | "toggleContract" | "createDocument" | "createContract" | "updateContract" | "proposeContract";

/** What each kind of operation may legitimately fail with under contention; anything else is a finding. */
const ALLOWED_FAILURES: Record<Kind, string[]> = {
  updateDocument: ["412 PreconditionFailed", "409 UserDocumentNotDraft", "405 UserDocumentAlreadyAccepted"],
  approve: ["412 PreconditionFailed", "409 ApprovalAlreadySubmitted"],
  toggleDocument: [],
  toggleContract: [],
  createDocument: ["409 UserDocumentAlreadyExists"],
  createContract: ["409 ContractAlreadyExists"],
  updateContract: ["412 PreconditionFailed", "409 ContractUnderProposal"],
  proposeContract: [],
};

interface Outcome {
  round: number;
  slot: number;
  kind: Kind;
  resource: string;
  who: string;
  /** `200`, `204` or `status code`. */
  result: string;
  status: number;
  code?: string;
  message?: string;
  txId?: string;
  /** The version the write was based on (read just before). */
  basedOn?: string;
  action?: string;
  option?: string;
  data?: unknown;
  proposalId?: string;
}

let consortium: Consortium;
let dataDir: string;
let members: TestIdentity[];
let users: Actor[];
let pool: Actor[];
const initialVersions = new Map<string, string>();
const initialData = new Map<string, unknown>();
const approversByDocument = new Map<string, Actor[]>();
const outcomes: Outcome[] = [];
let closed = false;
/** The last transaction before the rounds. */
let startTransaction: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "cleanroom-app-concurrency-"));
  consortium = await startConsortium({ members: ["m0", "m1", "m2", "m3"], dataDir });
  members = consortium.members;
  const userIdentities = await Promise.all(["u0", "u1", "u2", "u3"].map(makeIdentity));
  await enact(
    consortium,
    userIdentities.map((u) => ({ name: "set_user", args: { cert: u.certificatePem, user_data: { tenantId: "tenant", identifier: u.name } } })),
  );
  users = userIdentities.map((u) => ({ certificatePem: u.certificatePem, keys: u.keys, id: u.id, kind: "user" as const }));
  const [m0, m1, m2, m3] = members.map(memberActor) as [Actor, Actor, Actor, Actor];
  const [u0, u1, u2, u3] = users as [Actor, Actor, Actor, Actor];
  pool = [m0, u0, m1, u1, m2, u2, m3, u3];

  await acceptContract(consortium, CONTRACT);
  for (const id of DRAFT_CONTRACTS) {
    const data = { draft: id, round: -1 };
    const response = await appRequest(consortium.service, m0, "PUT", `/app/contracts/${id}`, { data });
    expect(response.status).toBe(200);
    initialVersions.set(id, response.transactionId!);
    initialData.set(id, data);
  }
  const editApprovers = [m3, u3];
  const approvalApprovers = [
    [m0, u0, m1],
    [m2, u1, u2],
  ];
  for (const id of EDIT_DOCS) approversByDocument.set(id, editApprovers);
  APPROVAL_DOCS.forEach((id, i) => approversByDocument.set(id, approvalApprovers[i]!));
  for (const id of [...EDIT_DOCS, ...APPROVAL_DOCS]) {
    const version = await createDocument(consortium, u0, CONTRACT, id, { approvers: approversOf(...approversByDocument.get(id)!) });
    initialVersions.set(id, version);
    initialData.set(id, { documentId: id });
  }
  const consentApprovers = [
    [m0, u0, u1],
    [m1, m3, u3],
  ];
  for (const [i, id] of CONSENT_DOCS.entries()) {
    approversByDocument.set(id, consentApprovers[i]!);
    await acceptedDocument(consortium, m2, CONTRACT, id, consentApprovers[i]!);
  }
});
afterAll(async () => {
  if (!closed) await consortium?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const call = (who: Actor, method: string, path: string, body?: unknown) => appRequest(consortium.service, who, method, path, body);

function record(base: Omit<Outcome, "result" | "status" | "code" | "message" | "txId">, response: AppResponse): Outcome {
  const code = errorCode(response);
  const message = (response.body as { error?: { message?: string } } | undefined)?.error?.message;
  const outcome: Outcome = {
    ...base,
    result: code === undefined ? String(response.status) : `${response.status} ${code}`,
    status: response.status,
    ...(code !== undefined ? { code } : {}),
    ...(message !== undefined ? { message } : {}),
    ...(response.status < 300 && response.transactionId ? { txId: response.transactionId } : {}),
  };
  outcomes.push(outcome);
  return outcome;
}

/** A read that must succeed; its failure is recorded as the operation's outcome. */
async function read(who: Actor, method: string, path: string, base: Pick<Outcome, "round" | "slot" | "kind" | "resource" | "who">): Promise<unknown> {
  const response = await call(who, method, path);
  if (response.status === 200) return response.body;
  record(base, response);
  return undefined;
}

type Op = () => Promise<unknown>;

/** Edits the document with the version it reads, or with `staleVersion` (a client that read long ago). */
function updateDocument(round: number, slot: number, documentId: string, who: Actor, staleVersion?: string): Op {
  return async () => {
    const base = { round, slot, kind: "updateDocument" as const, resource: documentId, who: who.id };
    const current = (await read(who, "GET", documentPath(CONTRACT, documentId), base)) as { version: string } | undefined;
    if (!current) return;
    const version = staleVersion ?? current.version;
    const data = { documentId, by: who.id, round, slot };
    const approvers = approversOf(...approversByDocument.get(documentId)!);
    const response = await call(who, "PUT", documentPath(CONTRACT, documentId), { version, data, approvers });
    record({ ...base, basedOn: version, data }, response);
  };
}

function approve(round: number, slot: number, documentId: string, who: Actor): Op {
  return async () => {
    const base = { round, slot, kind: "approve" as const, resource: documentId, who: who.id };
    const current = (await read(who, "GET", documentPath(CONTRACT, documentId), base)) as { version: string } | undefined;
    if (!current) return;
    const response = await call(who, "POST", documentPath(CONTRACT, documentId, "/approval"), { version: current.version, action: "accept" });
    const outcome = record({ ...base, basedOn: current.version, action: "accept" }, response);
    if (outcome.status === 200) {
      // The response is the document after the approval: it must show this approval with this transaction.
      const approvals = (response.body as { approvals: Array<{ approverId: string; transactionId: string }> }).approvals;
      expect(approvals.find((a) => a.approverId === who.id)?.transactionId, `approval ${JSON.stringify(outcome)}`).toBe(outcome.txId);
    }
  };
}

function toggleDocument(round: number, slot: number, documentId: string, who: Actor, option: string, action: string): Op {
  return async () => {
    const response = await call(who, "POST", documentPath(CONTRACT, documentId, `/runtimeoptions/${option}/${action}`));
    record({ round, slot, kind: "toggleDocument", resource: documentId, who: who.id, option, action }, response);
  };
}

function toggleContract(round: number, slot: number, who: Actor, action: string): Op {
  return async () => {
    const response = await call(who, "POST", `/app/contracts/${CONTRACT}/runtimeoptions/execution/${action}`);
    record({ round, slot, kind: "toggleContract", resource: CONTRACT, who: who.id, option: "execution", action }, response);
  };
}

function createRacingDocument(round: number, slot: number, documentId: string, who: Actor): Op {
  return async () => {
    const data = { by: who.id };
    const response = await call(who, "PUT", documentPath(CONTRACT, documentId), { data, approvers: approversOf(who) });
    record({ round, slot, kind: "createDocument", resource: documentId, who: who.id, data }, response);
  };
}

function createRacingContract(round: number, slot: number, contractId: string, who: Actor): Op {
  return async () => {
    const data = { by: who.id };
    const response = await call(who, "PUT", `/app/contracts/${contractId}`, { data });
    record({ round, slot, kind: "createContract", resource: contractId, who: who.id, data }, response);
  };
}

/** Edits the draft with the version it reads, or with `staleVersion`. */
function updateContract(round: number, slot: number, contractId: string, who: Actor, staleVersion?: string): Op {
  return async () => {
    const base = { round, slot, kind: "updateContract" as const, resource: contractId, who: who.id };
    const current = (await read(who, "GET", `/app/contracts/${contractId}`, base)) as { version: string } | undefined;
    if (!current) return;
    const version = staleVersion ?? current.version;
    const data = { draft: contractId, by: who.id, round, slot };
    const response = await call(who, "PUT", `/app/contracts/${contractId}`, { version, data });
    record({ ...base, basedOn: version, data }, response);
  };
}

/** Proposes the contract as it reads now; a snapshot made stale by a concurrent update is re-read and re-proposed. */
function proposeContract(round: number, slot: number, contractId: string, member: TestIdentity): Op {
  return async () => {
    const who = memberActor(member);
    const base = { round, slot, kind: "proposeContract" as const, resource: contractId, who: who.id };
    for (let attempt = 0; attempt < 50; attempt++) {
      const snapshot = ContractSchema.parse(await read(who, "GET", `/app/contracts/${contractId}`, base));
      try {
        const { value, transactionId } = await member.client.createProposal({ actions: [{ name: "set_contract", args: { contractId, contract: snapshot } }] });
        outcomes.push({ ...base, result: "200", status: 200, txId: transactionId!, basedOn: snapshot.version, proposalId: value.proposalId });
        return;
      } catch (error) {
        // The constitution's validate refuses a snapshot that is no longer the current draft: read again.
        if (!(error instanceof ServiceError) || error.code !== "ProposalFailedToValidate" || !/current version/.test(error.message)) throw error;
      }
    }
    throw new Error(`could not propose ${contractId} in 50 attempts`);
  };
}

/**
 * The 32 operations of one round. Most races are left to the interleaving; a few are arranged so that every kind of
 * conflict certainly happens: stale versions (a client still holding the version it read before round 0), the
 * second document under approval approved by two of its approvers in round 1 (one of them twice) with no edit
 * racing them, by the third in round 2 (so edits in round 2 meet a Proposed document and in round 3 an Accepted
 * one), and a contract draft proposed in round 1 while it is being edited.
 */
function roundOps(round: number): Op[] {
  const ops: Op[] = [];
  const add = (make: (slot: number) => Op) => ops.push(make(ops.length));
  const at = (i: number) => pool[(i + round) % pool.length]!;
  const memberAt = (i: number) => memberActor(members[(i + round) % members.length]!);
  const action = () => (random() < 0.5 ? "enable" : "disable");
  const [raced, arranged] = APPROVAL_DOCS as [string, string];
  const [a0, b0, c0] = approversByDocument.get(raced)!;
  const [a1, b1, c1] = approversByDocument.get(arranged)!;

  // Draft edits of the same documents, from the versions each client read (from round 1, one client's is stale).
  for (let k = 0; k < 5; k++) {
    const documentId = EDIT_DOCS[k % 2]!;
    add((slot) => (k === 0 && round > 0 ? updateDocument(round, slot, documentId, at(k), initialVersions.get(documentId)) : updateDocument(round, slot, documentId, at(k))));
  }
  // The first document under approval: edits and (from round 1) approvals by each approver, the first one twice.
  if (round === 0) for (let k = 0; k < 6; k++) add((slot) => updateDocument(round, slot, raced, at(k + 5)));
  else {
    for (let k = 0; k < 2; k++) add((slot) => updateDocument(round, slot, raced, at(k + 5)));
    for (const approver of [a0!, b0!, c0!, a0!]) add((slot) => approve(round, slot, raced, approver));
  }
  // The second one, arranged as described above.
  const arrangedOps: Array<(slot: number) => Op> =
    round === 0
      ? [0, 1, 2, 3, 4].map((k) => (slot: number) => updateDocument(round, slot, arranged, at(k + 2)))
      : round === 1
        ? [a1!, b1!, a1!].map((approver) => (slot: number) => approve(round, slot, arranged, approver))
            .concat(EDIT_DOCS.map((documentId, k) => (slot: number) => updateDocument(round, slot, documentId, at(k + 6))))
        : round === 2
          ? [c1!, b1!].map((approver) => (slot: number) => approve(round, slot, arranged, approver))
              .concat([0, 1, 2].map((k) => (slot: number) => updateDocument(round, slot, arranged, at(k + 3))))
          : [a1!, b1!, c1!].map((approver) => (slot: number) => approve(round, slot, arranged, approver))
              .concat([0, 1].map((k) => (slot: number) => updateDocument(round, slot, arranged, at(k + 4))));
  arrangedOps.forEach(add);
  // Consent toggles by the approvers of accepted documents.
  for (let k = 0; k < 5; k++) {
    const documentId = CONSENT_DOCS[k % 2]!;
    const approver = approversByDocument.get(documentId)![(k + round) % 3]!;
    const option = (k + round) % 2 === 0 ? "execution" : "telemetry";
    const chosen = action();
    add((slot) => toggleDocument(round, slot, documentId, approver, option, chosen));
  }
  // Every member toggles the accepted contract's execution consent.
  for (const member of members) {
    const chosen = action();
    add((slot) => toggleContract(round, slot, memberActor(member), chosen));
  }
  // Two clients create the same new contract, two the same new document.
  add((slot) => createRacingContract(round, slot, `race-contract-${round}`, memberAt(0)));
  add((slot) => createRacingContract(round, slot, `race-contract-${round}`, memberAt(1)));
  add((slot) => createRacingDocument(round, slot, `race-document-${round}`, users[round % users.length]!));
  add((slot) => createRacingDocument(round, slot, `race-document-${round}`, memberAt(2)));
  // Contract drafts: both are edited; in round 1 a member proposes the second meanwhile; later a stale edit.
  const [first, second] = DRAFT_CONTRACTS as [string, string];
  add((slot) => updateContract(round, slot, first, memberAt(0)));
  add((slot) => updateContract(round, slot, second, memberAt(1)));
  add((slot) =>
    round === 0
      ? updateContract(round, slot, first, memberAt(2))
      : round === 1
        ? proposeContract(round, slot, second, members[(round + 2) % members.length]!)
        : updateContract(round, slot, first, memberAt(2), initialVersions.get(first)),
  );
  expect(ops).toHaveLength(CLIENTS);
  return ops;
}

/** Starts the round's operations in a random order, each after a random delay of up to 20 ms. */
async function runRound(ops: Op[]): Promise<void> {
  const shuffled = ops.map((op) => ({ op, key: random(), delay: random() * 20 })).sort((a, b) => a.key - b.key);
  await Promise.all(shuffled.map(async ({ op, delay }) => {
    await sleep(delay);
    await op();
  }));
}

const successes = (kind: Kind, resource?: string) =>
  outcomes.filter((o) => o.kind === kind && o.status < 300 && (resource === undefined || o.resource === resource)).sort((a, b) => compareTxIds(a.txId!, b.txId!));
const failures = (kind: Kind, resource?: string) => outcomes.filter((o) => o.kind === kind && o.status >= 300 && (resource === undefined || o.resource === resource));
const describeOutcome = (o: Outcome) => `round ${o.round} slot ${o.slot} ${o.kind} ${o.resource} by ${o.who.slice(0, 8)}: ${o.result}${o.txId ? ` @${o.txId}` : ""}${o.basedOn ? ` on ${o.basedOn}` : ""}`;
const context = () => `seed ${SEED} (CLEANROOM_TEST_SEED to replay the choices)`;

/** Successful optimistic writes of one resource must form a chain from its initial version: no lost update. */
function expectVersionChain(resource: string, kind: Kind): Outcome[] {
  const chain = successes(kind, resource);
  expect(new Set(chain.map((s) => s.basedOn)).size, `${context()}: two successful writes of ${resource} were based on the same version`).toBe(chain.length);
  let expected = initialVersions.get(resource)!;
  for (const success of chain) {
    expect(success.basedOn, `${context()}: ${describeOutcome(success)} must be based on ${expected}\n${chain.map(describeOutcome).join("\n")}`).toBe(expected);
    expected = success.txId!;
  }
  // A 412 means the version the client read had been replaced by a successful write of another client.
  const consumed = new Set(chain.map((s) => s.basedOn));
  for (const failure of failures(kind, resource).filter((f) => f.code === "PreconditionFailed")) {
    expect(consumed.has(failure.basedOn), `${context()}: ${describeOutcome(failure)} but nobody replaced ${failure.basedOn}`).toBe(true);
  }
  return chain;
}

async function governanceEvents(contractId = CONTRACT): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let next: string | undefined = `/app/contracts/${contractId}/events?scope=governance&from_seqno=1`;
  while (next) {
    const response = await call(memberActor(members[0]!), "GET", next);
    expect(response.status).toBe(200);
    const page = EventListSchema.parse(response.body);
    events.push(...page.value);
    next = page.nextLink;
  }
  return events;
}

describe(`${CLIENTS} concurrent clients, ${ROUNDS} rounds`, () => {
  it("run every round without a 5xx or an unexplained failure", { timeout: 120_000 }, async () => {
    startTransaction = await lastTransactionId(consortium);
    for (let round = 0; round < ROUNDS; round++) await runRound(roundOps(round));
    // CLEANROOM_DUMP=<file> writes every outcome, to study an interleaving.
    if (process.env.CLEANROOM_DUMP) writeFileSync(process.env.CLEANROOM_DUMP, outcomes.map(describeOutcome).join("\n"));
    const unexplained = outcomes.filter((o) => o.status >= 300 && !ALLOWED_FAILURES[o.kind].includes(o.result));
    expect(unexplained.map((o) => `${describeOutcome(o)} (${o.message ?? "no message"})`), context()).toEqual([]);
    for (const failure of outcomes.filter((o) => o.status >= 300)) expect(failure.message, describeOutcome(failure)).toEqual(expect.any(String));
    // The load must really contend: every kind of conflict happened at least once.
    const seen = new Set(outcomes.map((o) => `${o.kind} ${o.result}`));
    // An edit racing the approvals is refused as NotDraft if it lands while the document is Proposed, or as
    // AlreadyAccepted once every approver has acted: which one depends on the interleaving, so either proves it.
    expect(
      seen.has("updateDocument 409 UserDocumentNotDraft") || seen.has("updateDocument 405 UserDocumentAlreadyAccepted"),
      `${context()}: no edit refused after an approval among ${[...seen].sort().join(", ")}`,
    ).toBe(true);
    for (const conflict of [
      "updateDocument 412 PreconditionFailed",
      "approve 409 ApprovalAlreadySubmitted",
      "createDocument 409 UserDocumentAlreadyExists",
      "createContract 409 ContractAlreadyExists",
      "updateContract 412 PreconditionFailed",
      "updateContract 409 ContractUnderProposal",
    ]) {
      expect(seen.has(conflict), `${context()}: no '${conflict}' among ${[...seen].sort().join(", ")}`).toBe(true);
    }
  });

  it("every successful document edit is in the final state, each based on the version the previous one wrote", async () => {
    for (const documentId of [...EDIT_DOCS, ...APPROVAL_DOCS]) {
      const chain = expectVersionChain(documentId, "updateDocument");
      const final = await readDocument(consortium, memberActor(members[0]!), CONTRACT, documentId);
      expect(final.version, `${context()}: ${documentId}`).toBe(chain.at(-1)?.txId ?? initialVersions.get(documentId));
      expect(final.data).toEqual(chain.at(-1)?.data ?? initialData.get(documentId));
      expect(final.approvers).toEqual(approversOf(...approversByDocument.get(documentId)!));
      expect(final.proposerId).toBe(users[0]!.id);
    }
  });

  it("every successful approval is recorded, on the final version, after the last edit; refusals are explained", async () => {
    for (const documentId of APPROVAL_DOCS) {
      const final = await readDocument(consortium, memberActor(members[0]!), CONTRACT, documentId);
      const approvals = successes("approve", documentId);
      expect(
        final.approvals.map((a) => ({ approverId: a.approverId, action: a.action, version: a.version, transactionId: a.transactionId })).sort((a, b) => compareTxIds(a.transactionId, b.transactionId)),
        `${context()}: ${documentId}`,
      ).toEqual(approvals.map((a) => ({ approverId: a.who, action: "accept", version: a.basedOn, transactionId: a.txId })));
      // At most one success per approver, every one on the version that was final: nothing edited it afterwards.
      expect(new Set(approvals.map((a) => a.who)).size).toBe(approvals.length);
      for (const approval of approvals) expect(approval.basedOn, describeOutcome(approval)).toBe(final.version);
      const lastEdit = successes("updateDocument", documentId).at(-1);
      if (lastEdit && approvals[0]) expect(compareTxIds(lastEdit.txId!, approvals[0].txId!)).toBeLessThan(0);
      const approvers = approversByDocument.get(documentId)!;
      expect(final.state).toBe(approvals.length === approvers.length ? "Accepted" : approvals.length > 0 ? "Proposed" : "Draft");
      for (const failure of failures("approve", documentId)) {
        if (failure.code === "ApprovalAlreadySubmitted") expect(approvals.some((a) => a.who === failure.who), describeOutcome(failure)).toBe(true);
        if (failure.code === "PreconditionFailed") expect(failure.basedOn, describeOutcome(failure)).not.toBe(final.version);
      }
      for (const failure of failures("updateDocument", documentId)) {
        if (failure.code === "UserDocumentNotDraft") expect(approvals.length, describeOutcome(failure)).toBeGreaterThan(0);
        if (failure.code === "UserDocumentAlreadyAccepted") expect(final.state, describeOutcome(failure)).toBe("Accepted");
      }
    }
  });

  it("each creation race has exactly one winner, whose write is the one stored", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [kind, id, path] of [
        ["createContract", `race-contract-${round}`, `/app/contracts/race-contract-${round}`],
        ["createDocument", `race-document-${round}`, documentPath(CONTRACT, `race-document-${round}`)],
      ] as const) {
        const winners = successes(kind, id);
        expect(winners.map(describeOutcome), context()).toHaveLength(1);
        const stored = await call(memberActor(members[0]!), "GET", path);
        expect(stored.body).toMatchObject({ version: winners[0]!.txId, data: winners[0]!.data });
      }
    }
  });

  it("contract drafts: updates chain; the proposed one froze at the proposed version and refused later edits", async () => {
    const [proposal] = outcomes.filter((o) => o.kind === "proposeContract");
    expect(proposal, context()).toBeDefined();
    for (const contractId of DRAFT_CONTRACTS) {
      const chain = expectVersionChain(contractId, "updateContract");
      const final = ContractSchema.parse((await call(memberActor(members[1]!), "GET", `/app/contracts/${contractId}`)).body);
      expect(final.version, `${context()}: ${contractId}`).toBe(chain.at(-1)?.txId ?? initialVersions.get(contractId));
      expect(final.data).toEqual(chain.at(-1)?.data ?? initialData.get(contractId));
      if (contractId === PROPOSED_CONTRACT) {
        expect(final).toMatchObject({ state: "Proposed", proposalId: proposal!.proposalId });
        expect(proposal!.basedOn).toBe(final.version);
        for (const update of chain) expect(compareTxIds(update.txId!, proposal!.txId!), describeOutcome(update)).toBeLessThan(0);
      } else {
        expect(final.state).toBe("Draft");
        expect(failures("updateContract", contractId).filter((f) => f.code === "ContractUnderProposal")).toEqual([]);
      }
    }
  });

  it("the final consent maps are the last successful toggle of each approver and member, in transaction order", async () => {
    const lastBy = (toggles: Outcome[]) => {
      const last = new Map<string, string>();
      for (const toggle of toggles) last.set(toggle.who, toggle.action!);
      return [...last].filter(([, action]) => action === "disable").map(([who]) => who).sort();
    };
    const expectStatus = (status: unknown, disabledBy: string[], what: string) => {
      const parsed = RuntimeOptionStatusSchema.parse(status);
      expect({ status: parsed.status, disabledBy: parsed.disabledBy ?? [] }, `${context()}: ${what}`).toEqual({
        status: disabledBy.length > 0 ? "disabled" : "enabled",
        disabledBy,
      });
    };
    const contractToggles = successes("toggleContract");
    expect(contractToggles.length).toBe(ROUNDS * members.length);
    const contractStatus = await call(memberActor(members[0]!), "POST", `/app/contracts/${CONTRACT}/runtimeoptions/execution/status`);
    expectStatus(contractStatus.body, lastBy(contractToggles), "contract execution");
    for (const documentId of CONSENT_DOCS) {
      for (const option of ["execution", "telemetry"]) {
        const toggles = successes("toggleDocument", documentId).filter((t) => t.option === option);
        const status = await call(memberActor(members[0]!), "POST", documentPath(CONTRACT, documentId, `/runtimeoptions/${option}/status`));
        expectStatus(status.body, lastBy(toggles), `${documentId} ${option}`);
      }
    }
  });

  it("the audit log has one governance event per successful approval and toggle, in its transaction", async () => {
    const events = await governanceEvents();
    const byTx = new Map<string, Array<Record<string, unknown>>>();
    for (const event of events) byTx.set(event.transactionId, [...(byTx.get(event.transactionId) ?? []), event.data as Record<string, unknown>]);
    const expectEvent = (success: Outcome, expected: Record<string, unknown>) =>
      expect(byTx.get(success.txId!), `${context()}: ${describeOutcome(success)}`).toContainEqual(expect.objectContaining(expected));
    const kindOf = (id: string) => (members.some((m) => m.id === id) ? "member" : "user");
    for (const s of successes("approve")) expectEvent(s, { type: "userdocument.approved", documentId: s.resource, version: s.basedOn, actor: { kind: kindOf(s.who), id: s.who } });
    for (const s of successes("toggleDocument")) {
      expectEvent(s, { type: "userdocument.consent.changed", documentId: s.resource, option: s.option, status: `${s.action}d`, actor: { kind: kindOf(s.who), id: s.who } });
    }
    for (const s of successes("toggleContract")) expectEvent(s, { type: "contract.consent.changed", option: "execution", status: `${s.action}d`, actor: { kind: "member", id: s.who } });
    for (const documentId of APPROVAL_DOCS) {
      const last = successes("approve", documentId).at(-1);
      const accepted = events.filter((e) => (e.data as { type: string; documentId?: string }).type === "userdocument.accepted" && (e.data as { documentId?: string }).documentId === documentId);
      const final = await readDocument(consortium, memberActor(members[0]!), CONTRACT, documentId);
      expect(accepted.map((e) => e.transactionId), `${context()}: ${documentId}`).toEqual(final.state === "Accepted" ? [last!.txId] : []);
    }
    const [proposal] = outcomes.filter((o) => o.kind === "proposeContract");
    const proposed = (await governanceEvents(PROPOSED_CONTRACT)).filter((e) => (e.data as { type: string }).type === "contract.proposed");
    expect(proposed.map((e) => [e.transactionId, (e.data as { proposalId?: string }).proposalId])).toEqual([[proposal!.txId, proposal!.proposalId]]);
    const count = (type: string, since: string) => events.filter((e) => (e.data as { type: string }).type === type && compareTxIds(e.transactionId, since) > 0).length;
    const start = startTransaction;
    expect(count("userdocument.approved", start)).toBe(successes("approve").length);
    expect(count("userdocument.consent.changed", start)).toBe(successes("toggleDocument").length);
    expect(count("contract.consent.changed", start)).toBe(successes("toggleContract").length);
  });

  it("leaves a ledger that verifies offline once the service is closed", async () => {
    const serviceCertificatePem = consortium.service.serviceCertificatePem;
    closed = true;
    await consortium.close();
    const report = verifyLedger(join(dataDir, "ledger"), { serviceCertificatePem });
    expect(report.problem).toBeUndefined();
    expect(report).toMatchObject({ ok: true, unsignedTail: 0 });
    expect(report.transactions).toBeGreaterThan(outcomes.filter((o) => o.txId !== undefined).length);
  });
});
