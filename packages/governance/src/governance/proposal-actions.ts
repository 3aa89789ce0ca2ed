import type { StateReader } from "@cleanroom/ledger";
import { readText } from "../state/json-state.js";
import { Maps } from "../state/maps.js";
import { openProposalIds } from "../state/proposals.js";

export interface StoredAction {
  name: string;
  args: Record<string, unknown>;
}

// Proposal payloads never change once stored, so their parsed actions can be kept; the bound only caps memory.
const parsedActions = new Map<string, StoredAction[]>();
const MAX_CACHED = 10_000;

function toActions(payload: string): StoredAction[] {
  try {
    const parsed = JSON.parse(payload) as { actions?: unknown };
    if (!Array.isArray(parsed.actions)) return [];
    return parsed.actions.flatMap((action: unknown) => {
      if (typeof action !== "object" || action === null) return [];
      const { name, args } = action as { name?: unknown; args?: unknown };
      if (typeof name !== "string") return [];
      const plainArgs = typeof args === "object" && args !== null && !Array.isArray(args) ? (args as Record<string, unknown>) : {};
      return [{ name, args: plainArgs }];
    });
  } catch {
    return [];
  }
}

/** The actions of a stored proposal (empty if it does not exist). */
export function proposalActions(state: StateReader, proposalId: string): StoredAction[] {
  let actions = parsedActions.get(proposalId);
  if (actions === undefined) {
    const payload = readText(state, Maps.proposals, proposalId);
    if (payload === undefined) return [];
    actions = toActions(payload);
    if (parsedActions.size >= MAX_CACHED) parsedActions.clear();
    parsedActions.set(proposalId, actions);
  }
  return actions;
}

/** Ids of open proposals having an action that `matches`, in id order. */
export function openProposalsWith(state: StateReader, matches: (action: StoredAction) => boolean): string[] {
  return openProposalIds(state).filter((id) => proposalActions(state, id).some(matches));
}

/** The contract ids that open `set_contract` proposals are about, with the proposal id of each (first by id). */
export function openContractProposals(state: StateReader): Map<string, string> {
  const byContract = new Map<string, string>();
  for (const id of openProposalIds(state)) {
    for (const action of proposalActions(state, id)) {
      const contractId = action.args.contractId;
      if (action.name === "set_contract" && typeof contractId === "string" && !byContract.has(contractId)) byContract.set(contractId, id);
    }
  }
  return byContract;
}
