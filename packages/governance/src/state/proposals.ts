import type { StateReader, WriteTx } from "@cleanroom/ledger";
import type { ProposalState } from "@cleanroom/protocol";
import { readJson, readText, writeJson } from "./json-state.js";
import { Maps } from "./maps.js";

export interface StoredFailure {
  reason: string;
  trace?: string;
}

/** A proposal's state in `public:ccf.gov.proposals_info` (open) or the closed-proposals map; CCF's field names. */
export interface StoredProposalInfo {
  proposer_id: string;
  state: ProposalState;
  /** Ballot source per member id, in submission order. */
  ballots: Record<string, string>;
  /** Votes as counted at the latest resolution (ballots that failed to evaluate are absent). */
  votes: Record<string, boolean>;
  final_votes?: Record<string, boolean>;
  vote_failures?: Record<string, StoredFailure>;
  failure?: StoredFailure;
  /** Service time of creation, ISO 8601. */
  created_at: string;
}

export interface ProposalRecord {
  id: string;
  proposal: string;
  info: StoredProposalInfo;
}

export function getProposal(state: StateReader, id: string): ProposalRecord | undefined {
  const proposal = readText(state, Maps.proposals, id);
  if (proposal === undefined) return undefined;
  const info =
    readJson<StoredProposalInfo>(state, Maps.proposalsInfo, id) ??
    readJson<StoredProposalInfo>(state, Maps.closedProposalsInfo, id);
  return info === undefined ? undefined : { id, proposal, info };
}

/** Writes a proposal's info to the open map, or, once it closes, moves it to the closed map. */
export function writeProposalInfo(tx: WriteTx, id: string, info: StoredProposalInfo): void {
  if (info.state === "Open") {
    writeJson(tx, Maps.proposalsInfo, id, info);
    return;
  }
  if (tx.has(Maps.proposalsInfo, id)) tx.delete(Maps.proposalsInfo, id);
  writeJson(tx, Maps.closedProposalsInfo, id, info);
}

export function openProposalIds(state: StateReader): string[] {
  const ids: string[] = [];
  state.forEach(Maps.proposalsInfo, (id) => ids.push(id));
  return ids;
}
