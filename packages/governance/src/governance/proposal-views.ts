import type { StateReader } from "@cleanroom/ledger";
import { ApiError, formatTxId, type ProposalHistory, type ProposalInfo } from "@cleanroom/protocol";
import type { Ledger } from "@cleanroom/ledger";
import type { ConstitutionEngine } from "../constitution/engine.js";
import { decodeJson } from "../state/json-state.js";
import { Maps } from "../state/maps.js";
import type { ProposalRecord, StoredProposalInfo } from "../state/proposals.js";

function pendingVoters(state: StateReader, engine: ConstitutionEngine, record: ProposalRecord): string[] | undefined {
  if (record.info.state !== "Open") return undefined;
  try {
    const required = engine.requiredVoters(state, record.proposal, record.info.proposer_id);
    return required?.filter((id) => record.info.ballots[id] === undefined);
  } catch (error) {
    // A read must not fail because the constitution cannot say who is pending; the field is then omitted.
    if (error instanceof ApiError) return undefined;
    throw error;
  }
}

/** The wire view of a proposal: CCF's fields plus votes so far, pending voters and its transactions. */
export function toProposalInfo(state: StateReader, engine: ConstitutionEngine, record: ProposalRecord): ProposalInfo {
  const { info } = record;
  const created = state.version(Maps.proposals, record.id);
  const last = state.version(info.state === "Open" ? Maps.proposalsInfo : Maps.closedProposalsInfo, record.id) ?? created;
  const view: ProposalInfo = {
    proposalId: record.id,
    proposerId: info.proposer_id,
    proposalState: info.state,
    ballotCount: Object.keys(info.ballots).length,
    votes: Object.entries(info.votes).map(([memberId, vote]) => ({ memberId, vote })),
    createdTxId: created ? formatTxId(created) : "0.0",
    lastTxId: last ? formatTxId(last) : "0.0",
    createdAt: info.created_at,
  };
  const pending = pendingVoters(state, engine, record);
  if (pending) view.pendingVoters = pending;
  if (info.final_votes) view.finalVotes = info.final_votes;
  if (info.vote_failures) view.voteFailures = info.vote_failures;
  if (info.failure) view.failure = info.failure;
  return view;
}

const CLOSING_EVENTS = {
  Accepted: "accepted",
  Rejected: "rejected",
  Failed: "failed",
  Dropped: "dropped",
  Withdrawn: "withdrawn",
} as const;

/** A proposal's life from the ledger: every write of its state, with the transaction and what changed. */
export function proposalHistory(ledger: Ledger, proposalId: string): ProposalHistory {
  const writes = [...ledger.history(Maps.proposalsInfo, proposalId), ...ledger.history(Maps.closedProposalsInfo, proposalId)]
    .filter((write) => write.value !== undefined)
    .sort((a, b) => a.txId.seqno - b.txId.seqno);
  let previous: StoredProposalInfo | undefined;
  const value: ProposalHistory["value"] = [];
  for (const write of writes) {
    const info = decodeJson<StoredProposalInfo>(write.value as Uint8Array);
    const before = previous;
    // The member behind the change: the proposer for creation and withdrawal, otherwise whoever added a ballot.
    const newVoter =
      !before || info.state === "Withdrawn" ? info.proposer_id : Object.keys(info.ballots).find((id) => before.ballots[id] === undefined);
    const event = !before ? "created" : info.state !== before.state && info.state !== "Open" ? CLOSING_EVENTS[info.state] : "ballot";
    value.push({
      transactionId: formatTxId(write.txId),
      timestamp: new Date(write.timestamp).toISOString(),
      event,
      ...(newVoter ? { memberId: newVoter } : {}),
      proposalState: info.state,
      ballotCount: Object.keys(info.ballots).length,
    });
    previous = info;
  }
  return { proposalId, value };
}
