import type { StateReader, WriteTx } from "@cleanroom/ledger";
import {
  ApiError,
  CONTRACT_RUNTIME_OPTION_ACTIONS,
  IdentityIdSchema,
  type CleanRoomPolicy,
  type Contract,
  type ContractRuntimeOption,
  type ContractState,
  type Identity,
  type RuntimeOptionAction,
  type RuntimeOptionStatus,
  type SetContractArgs,
} from "@cleanroom/protocol";
import type { ConstitutionEngine } from "../constitution/engine.js";
import {
  contractExists,
  getAcceptedContract,
  getCleanRoomPolicies,
  getDraftContract,
  rawRequiredMembers,
  requiredMembersOf,
  type MemberConsent,
} from "../state/contracts.js";
import { readJson, readVersion, writeJson } from "../state/json-state.js";
import { Maps } from "../state/maps.js";
import { getMember } from "../state/members.js";
import { getProposal } from "../state/proposals.js";
import { recordGovernanceEvent } from "./audit-events.js";
import { openContractProposals, openProposalsWith, proposalActions } from "./proposal-actions.js";
import { toProposalInfo } from "./proposal-views.js";

function versionOf(state: StateReader, map: string, key: string): string {
  return readVersion(state, map, key) ?? "0.0";
}

/** The open set_contract proposal for the contract, if any. */
export function openContractProposalId(state: StateReader, contractId: string): string | undefined {
  return openContractProposals(state).get(contractId);
}

/**
 * A contract as clients see it (reference §2.1 read precedence): the accepted record, else the snapshot of an
 * open set_contract proposal, else the draft.
 */
export function contractView(state: StateReader, engine: ConstitutionEngine, contractId: string): Contract | undefined {
  const accepted = getAcceptedContract(state, contractId);
  if (accepted) {
    const proposal = getProposal(state, accepted.proposalId);
    const finalVotes = Object.entries(proposal?.info.final_votes ?? {}).map(([memberId, vote]) => ({ memberId, vote }));
    return {
      id: contractId,
      version: versionOf(state, Maps.acceptedContracts, contractId),
      state: "Accepted",
      data: accepted.data,
      proposalId: accepted.proposalId,
      ...(accepted.requiredMembers ? { requiredMembers: accepted.requiredMembers } : {}),
      finalVotes,
    };
  }
  const draft = getDraftContract(state, contractId);
  if (!draft) return undefined;
  const proposalId = openContractProposalId(state, contractId);
  const proposal = proposalId ? getProposal(state, proposalId) : undefined;
  if (proposalId && proposal) {
    const snapshot = proposalActions(state, proposalId).find((a) => a.name === "set_contract" && a.args.contractId === contractId)?.args as
      | Partial<SetContractArgs>
      | undefined;
    const info = toProposalInfo(state, engine, proposal);
    const data = snapshot?.contract?.data ?? draft.data;
    const required = requiredMembersOf(data);
    return {
      id: contractId,
      version: snapshot?.contract?.version ?? versionOf(state, Maps.contracts, contractId),
      state: "Proposed",
      data,
      proposalId,
      ...(required ? { requiredMembers: required } : {}),
      votes: info.votes,
      ...(info.pendingVoters ? { pendingVoters: info.pendingVoters } : {}),
    };
  }
  const required = requiredMembersOf(draft.data);
  return {
    id: contractId,
    version: versionOf(state, Maps.contracts, contractId),
    state: "Draft",
    data: draft.data,
    proposalId: "",
    ...(required ? { requiredMembers: required } : {}),
  };
}

/** Every contract with its derived state, by id. */
export function listContracts(state: StateReader, filter: ContractState | undefined): Array<{ id: string; state: ContractState }> {
  const proposed = openContractProposals(state);
  const result: Array<{ id: string; state: ContractState }> = [];
  const seen = new Set<string>();
  state.forEach(Maps.acceptedContracts, (id) => {
    seen.add(id);
    result.push({ id, state: "Accepted" });
  });
  state.forEach(Maps.contracts, (id) => {
    if (!seen.has(id)) result.push({ id, state: proposed.has(id) ? "Proposed" : "Draft" });
  });
  result.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return filter ? result.filter((c) => c.state === filter) : result;
}

/** Checks `data.metadata.voters.requiredMembers` the way the constitution's validate will, so drafts stay proposable. */
export function checkRequiredMembers(state: StateReader, data: unknown): void {
  const raw = rawRequiredMembers(data);
  if (raw === undefined) return;
  const fail = (why: string): never => {
    throw new ApiError("InvalidRequiredMembers", `data.metadata.voters.requiredMembers ${why}.`);
  };
  if (!Array.isArray(raw) || raw.length === 0) fail("must be a non-empty array of member ids");
  const ids = raw as unknown[];
  if (new Set(ids).size !== ids.length) fail("has duplicates");
  for (const [index, id] of ids.entries()) {
    if (!IdentityIdSchema.safeParse(id).success) fail(`[${index}] is not a member id (64 lowercase hex characters)`);
    if (!getMember(state, id as string)) fail(`[${index}]: member ${String(id)} does not exist`);
  }
}

/** `PUT /app/contracts/{id}`: create (no version) or update the draft (current version), with the reference's checks. */
export function putContract(
  tx: WriteTx,
  contractId: string,
  body: { version?: string | undefined; data?: unknown },
): void {
  if (body.data === undefined) throw new ApiError("DataMissing", "The request body has no data.");
  if (getAcceptedContract(tx, contractId)) {
    throw new ApiError("ContractAlreadyAccepted", `Contract ${contractId} has been accepted and can no longer be changed.`);
  }
  const exists = getDraftContract(tx, contractId) !== undefined;
  if (exists && body.version === undefined) {
    throw new ApiError("ContractAlreadyExists", `Contract ${contractId} already exists; give its current version to update it.`);
  }
  const proposalId = exists ? openContractProposalId(tx, contractId) : undefined;
  if (proposalId) {
    throw new ApiError(
      "ContractUnderProposal",
      `Contract ${contractId} is under proposal ${proposalId}; it can be edited once that proposal is rejected or withdrawn.`,
    );
  }
  const current = exists ? versionOf(tx, Maps.contracts, contractId) : undefined;
  if (body.version !== undefined && body.version !== current) {
    throw new ApiError("PreconditionFailed", `The version ${body.version} is not the current version of contract ${contractId} (${current ?? "none"}).`);
  }
  checkRequiredMembers(tx, body.data);
  writeJson(tx, Maps.contracts, contractId, { data: body.data });
}

function notAccepted(contractId: string): RuntimeOptionStatus {
  return { status: "disabled", reason: { code: "ContractNotAccepted", message: `Contract ${contractId} is not accepted.` } };
}

/** The effective status of a contract's runtime option (reference §2.1 status semantics, disable proposals included). */
export function contractRuntimeOptionStatus(state: StateReader, contractId: string, option: ContractRuntimeOption): RuntimeOptionStatus {
  if (!getAcceptedContract(state, contractId)) return notAccepted(contractId);
  if (option === "execution") {
    const consent = readJson<MemberConsent>(state, Maps.contractsExecutionStatus, contractId) ?? {};
    // A member the consortium removed no longer speaks for anybody; otherwise its last "disabled" could never be lifted.
    const disabledBy = Object.keys(consent)
      .filter((id) => consent[id] === "disabled" && getMember(state, id) !== undefined)
      .sort();
    if (disabledBy.length === 0) return { status: "enabled" };
    return {
      status: "disabled",
      reason: { code: "ContractDisabled", message: `Contract has been disabled by the following member(s): ${disabledBy.join(", ")}.` },
      disabledBy,
    };
  }
  const map = option === "logging" ? Maps.contractsLoggingStatus : Maps.contractsTelemetryStatus;
  const status = readJson<"enabled" | "disabled">(state, map, contractId) ?? "disabled";
  const names: string[] = Object.values(CONTRACT_RUNTIME_OPTION_ACTIONS[option]);
  const proposalIds = openProposalsWith(state, (a) => names.includes(a.name) && a.args.contractId === contractId);
  return { status, proposalIds };
}

/** Execution consent by one member (reference §3.1): recorded per member; the contract runs only if nobody disabled it. */
export function setExecutionConsent(
  tx: WriteTx,
  clock: () => number,
  caller: Identity,
  contractId: string,
  option: ContractRuntimeOption,
  action: RuntimeOptionAction,
): RuntimeOptionStatus {
  if (option !== "execution") {
    throw new ApiError("InvalidOption", `Only execution can be enabled or disabled directly; ${option} changes by proposal.`);
  }
  if (!contractExists(tx, contractId)) throw new ApiError("ContractNotFound", `Contract ${contractId} does not exist.`);
  if (!getAcceptedContract(tx, contractId)) throw new ApiError("ContractNotAccepted", `Contract ${contractId} is not accepted.`);
  const consent = readJson<MemberConsent>(tx, Maps.contractsExecutionStatus, contractId) ?? {};
  const status = action === "enable" ? "enabled" : "disabled";
  writeJson(tx, Maps.contractsExecutionStatus, contractId, { ...consent, [caller.id]: status });
  recordGovernanceEvent(tx, clock, contractId, "contract.consent.changed", { option, status }, caller);
  return contractRuntimeOptionStatus(tx, contractId, option);
}

/** The contract's clean-room policies and the open proposals that would change them (reference §2.2). */
export function cleanRoomPolicyView(state: StateReader, contractId: string): CleanRoomPolicy {
  const policies = getCleanRoomPolicies(state, contractId);
  const proposalIds = openProposalsWith(state, (a) => a.name === "set_clean_room_policy" && a.args.contractId === contractId);
  return { proposalIds, policy: policies["snp-caci"] ?? {}, policies };
}
