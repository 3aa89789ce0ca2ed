import type { WriteTx } from "@cleanroom/ledger";
import { ApiError, BallotBodySchema, ProposalBodySchema } from "@cleanroom/protocol";
import type { BallotVote, ConstitutionEngine } from "../constitution/engine.js";
import { StagedKv } from "../constitution/kv-adapters.js";
import { SandboxError } from "../constitution/sandbox-types.js";
import { decodeText, readText } from "../state/json-state.js";
import { Maps, SINGLE_KEY } from "../state/maps.js";
import {
  getProposal,
  openProposalIds,
  writeProposalInfo,
  type ProposalRecord,
  type StoredFailure,
  type StoredProposalInfo,
} from "../state/proposals.js";

/**
 * Observes every stored change of a proposal, in the same transaction (the audit log uses it). `previous` is
 * undefined on creation.
 */
export type ProposalObserver = (tx: WriteTx, record: ProposalRecord, previous: StoredProposalInfo | undefined) => void;

/** What proposal handling needs from the service. */
export interface LifecycleContext {
  engine: ConstitutionEngine;
  clock: () => number;
  observers?: ProposalObserver[];
}

function store(ctx: LifecycleContext, tx: WriteTx, record: ProposalRecord, previous: StoredProposalInfo | undefined): void {
  writeProposalInfo(tx, record.id, record.info);
  for (const observe of ctx.observers ?? []) observe(tx, record, previous);
}

function parseJsonPayload(payload: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(decodeText(payload));
  } catch {
    throw new ApiError(what === "proposal" ? "ProposalFailedToValidate" : "InvalidBallot", `The ${what} payload is not valid UTF-8 JSON.`);
  }
}

function requireOpen(tx: WriteTx, proposalId: string): ProposalRecord {
  const record = getProposal(tx, proposalId);
  if (!record) throw new ApiError("ProposalNotFound", `Proposal ${proposalId} does not exist.`);
  if (record.info.state !== "Open") {
    throw new ApiError("ProposalNotOpen", `Proposal ${proposalId} is ${record.info.state}, not Open.`);
  }
  return record;
}

/** Evaluates every ballot; a ballot that throws is recorded as a vote failure and not counted (as in CCF). */
function countVotes(ctx: LifecycleContext, tx: WriteTx, record: ProposalRecord) {
  const votes: BallotVote[] = [];
  const failures: Record<string, StoredFailure> = {};
  for (const [memberId, ballot] of Object.entries(record.info.ballots)) {
    try {
      votes.push({ member_id: memberId, vote: ctx.engine.vote(tx, ballot, record.proposal, record.info.proposer_id) });
    } catch (error) {
      if (!(error instanceof SandboxError)) throw error;
      failures[memberId] = { reason: error.message, ...(error.jsStack ? { trace: error.jsStack } : {}) };
    }
  }
  return { votes, failures };
}

/**
 * Runs the constitution's resolve and, on acceptance, its apply; records the outcome. An apply that throws leaves
 * no state change behind and marks the proposal Failed. Accepting a new constitution drops every other open
 * proposal, since they were validated and voted on under the old rules.
 */
function resolveProposal(ctx: LifecycleContext, tx: WriteTx, record: ProposalRecord): StoredProposalInfo {
  const { votes, failures } = countVotes(ctx, tx, record);
  const resolution = ctx.engine.resolve(tx, record.proposal, record.info.proposer_id, votes);
  const info: StoredProposalInfo = { ...record.info, votes: Object.fromEntries(votes.map((v) => [v.member_id, v.vote])) };
  if (Object.keys(failures).length > 0) info.vote_failures = failures;
  else delete info.vote_failures;
  if (resolution === "Open") return info;

  info.final_votes = info.votes;
  if (resolution === "Rejected") return { ...info, state: "Rejected" };

  const constitutionBefore = readText(tx, Maps.constitution, SINGLE_KEY);
  const staged = new StagedKv(tx);
  try {
    ctx.engine.apply(tx, staged, record.proposal, record.id);
  } catch (error) {
    if (!(error instanceof SandboxError)) throw error;
    return { ...info, state: "Failed", failure: { reason: error.message, ...(error.jsStack ? { trace: error.jsStack } : {}) } };
  }
  staged.commit();
  if (readText(tx, Maps.constitution, SINGLE_KEY) !== constitutionBefore) dropOpenProposals(ctx, tx, record.id);
  return { ...info, state: "Accepted" };
}

function dropOpenProposals(ctx: LifecycleContext, tx: WriteTx, except: string): void {
  for (const id of openProposalIds(tx)) {
    if (id === except) continue;
    const other = getProposal(tx, id);
    if (other) store(ctx, tx, { ...other, info: { ...other.info, state: "Dropped" } }, other.info);
  }
}

function settle(ctx: LifecycleContext, tx: WriteTx, record: ProposalRecord, previous: StoredProposalInfo | undefined): ProposalRecord {
  const info = resolveProposal(ctx, tx, record);
  const settled = { ...record, info };
  store(ctx, tx, settled, previous);
  return settled;
}

/** `proposal`: validates the actions with the constitution, stores the proposal and resolves it once. */
export function createProposal(
  ctx: LifecycleContext,
  tx: WriteTx,
  proposerId: string,
  proposalId: string,
  payload: Uint8Array,
): ProposalRecord {
  const parsed = ProposalBodySchema.safeParse(parseJsonPayload(payload, "proposal"));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError("ProposalFailedToValidate", `Proposal failed to validate: ${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}.`);
  }
  const proposal = decodeText(payload);
  const verdict = ctx.engine.validate(tx, proposal);
  if (!verdict.valid) throw new ApiError("ProposalFailedToValidate", `Proposal failed to validate: ${verdict.description}`);
  for (const action of parsed.data.actions) {
    if (action.name === "set_constitution") {
      const source = (action.args as { constitution?: unknown } | undefined)?.constitution;
      if (typeof source === "string") ctx.engine.checkCandidate(source);
    }
  }
  if (tx.has(Maps.proposals, proposalId)) throw new ApiError("RequestReplayed", `Proposal ${proposalId} already exists.`);
  tx.set(Maps.proposals, proposalId, payload);
  const info: StoredProposalInfo = {
    proposer_id: proposerId,
    state: "Open",
    ballots: {},
    votes: {},
    created_at: new Date(ctx.clock()).toISOString(),
  };
  // Stored as Open before the first resolve, as in CCF: a constitution scanning open proposals sees this one too.
  writeProposalInfo(tx, proposalId, info);
  return settle(ctx, tx, { id: proposalId, proposal, info }, undefined);
}

/** `ballot`: one per Active member per open proposal; the ballot must evaluate to a boolean now. */
export function submitBallot(
  ctx: LifecycleContext,
  tx: WriteTx,
  memberId: string,
  proposalId: string,
  payload: Uint8Array,
): ProposalRecord {
  const record = requireOpen(tx, proposalId);
  if (record.info.ballots[memberId] !== undefined) {
    throw new ApiError("VoteAlreadyExists", `Member ${memberId} has already voted on proposal ${proposalId}.`);
  }
  const parsed = BallotBodySchema.safeParse(parseJsonPayload(payload, "ballot"));
  if (!parsed.success) throw new ApiError("InvalidBallot", 'A ballot body is {"ballot": "<source of a vote(proposal, proposerId) function>"}.');
  try {
    ctx.engine.vote(tx, parsed.data.ballot, record.proposal, record.info.proposer_id);
  } catch (error) {
    if (!(error instanceof SandboxError)) throw error;
    throw new ApiError("InvalidBallot", `The ballot does not evaluate to a boolean vote: ${error.kind}: ${error.message}`);
  }
  const withBallot = { ...record, info: { ...record.info, ballots: { ...record.info.ballots, [memberId]: parsed.data.ballot } } };
  return settle(ctx, tx, withBallot, record.info);
}

/** `withdrawal`: only the proposer, only while Open. */
export function withdrawProposal(ctx: LifecycleContext, tx: WriteTx, memberId: string, proposalId: string): ProposalRecord {
  const record = requireOpen(tx, proposalId);
  if (record.info.proposer_id !== memberId) {
    throw new ApiError("NotProposer", `Only the proposer (${record.info.proposer_id}) may withdraw proposal ${proposalId}.`);
  }
  const withdrawn = { ...record, info: { ...record.info, state: "Withdrawn" as const } };
  store(ctx, tx, withdrawn, record.info);
  return withdrawn;
}
