import type { WriteTx } from "@cleanroom/ledger";
import type { CleanRoomIdentity, GovernanceEventType, Identity } from "@cleanroom/protocol";
import { appendEvent } from "../state/events.js";
import type { ProposalRecord, StoredProposalInfo } from "../state/proposals.js";
import type { ProposalObserver } from "./proposal-lifecycle.js";
import { proposalActions } from "./proposal-actions.js";

/** Scope of the events the service writes itself. */
export const GOVERNANCE_SCOPE = "governance";

/** Who an audit record names: a member or user by id; an attested clean room by its host data and attestation mode. */
function actorOf(actor: Identity | CleanRoomIdentity): Record<string, unknown> {
  return actor.kind === "cleanroom" ? { ...actor } : { kind: actor.kind, id: actor.id };
}

/** Writes a governance decision to the contract's audit log, timestamped by the service. */
export function recordGovernanceEvent(
  tx: WriteTx,
  clock: () => number,
  contractId: string,
  type: GovernanceEventType,
  details: Record<string, unknown>,
  actor?: Identity | CleanRoomIdentity,
): void {
  appendEvent(tx, contractId, {
    id: contractId,
    scope: GOVERNANCE_SCOPE,
    timestamp: clock(),
    data: { type, contractId, ...(actor ? { actor: actorOf(actor) } : {}), ...details },
    writer: { kind: "service", id: "governance" },
  });
}

const CLOSED_EVENT = {
  Accepted: "accepted",
  Rejected: "rejected",
  Withdrawn: "withdrawn",
  Dropped: "dropped",
  Failed: "failed",
} as const;

function contractEvents(record: ProposalRecord, previous: StoredProposalInfo | undefined): Array<{ suffix: string }> {
  const events: Array<{ suffix: string }> = [];
  if (previous === undefined) events.push({ suffix: "proposed" });
  if (record.info.state !== "Open" && previous?.state !== record.info.state) events.push({ suffix: CLOSED_EVENT[record.info.state] });
  return events;
}

/** The event family a proposal action about a contract is recorded under, if it is about a contract. */
function familyOf(actionName: string): "contract" | "runtimeoption" | "cleanroompolicy" | undefined {
  if (actionName === "set_contract") return "contract";
  if (actionName.startsWith("set_contract_runtime_options_")) return "runtimeoption";
  if (actionName === "set_clean_room_policy") return "cleanroompolicy";
  return undefined;
}

/**
 * Audits proposals about contracts: a set_contract proposal's creation and outcome become `contract.*` events,
 * logging/telemetry proposals `contract.runtimeoption.*` and policy proposals `contract.cleanroompolicy.*` events,
 * in the contract's log.
 */
export function contractProposalAuditor(clock: () => number): ProposalObserver {
  return (tx, record, previous) => {
    const events = contractEvents(record, previous);
    if (events.length === 0) return;
    for (const action of proposalActions(tx, record.id)) {
      const contractId = action.args.contractId;
      if (typeof contractId !== "string") continue;
      const family = familyOf(action.name);
      if (family === undefined) continue;
      for (const { suffix } of events) {
        const type =
          family === "contract"
            ? (`contract.${suffix}` as GovernanceEventType)
            : suffix === "proposed"
              ? (`contract.${family}.proposed` as const)
              : suffix === "accepted"
                ? (`contract.${family}.changed` as const)
                : undefined;
        if (type === undefined) continue;
        recordGovernanceEvent(tx, clock, contractId, type, {
          proposalId: record.id,
          proposerId: record.info.proposer_id,
          action: action.name,
          proposalState: record.info.state,
          ...(record.info.final_votes ? { finalVotes: record.info.final_votes } : {}),
          ...(record.info.failure ? { failure: record.info.failure.reason } : {}),
        });
      }
    }
  };
}
