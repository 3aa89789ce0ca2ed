import type { StateReader } from "@cleanroom/ledger";
import type { PolicyClaims, PolicyType } from "@cleanroom/protocol";
import { readJson } from "./json-state.js";
import { Maps } from "./maps.js";

/** `public:contracts` values: the draft. Its version is the key's last write. */
export interface StoredDraftContract {
  data: unknown;
}

/** `public:ccf.gov.accepted_contracts` values, written by the constitution's set_contract apply. */
export interface StoredAcceptedContract {
  data: unknown;
  /** The draft version that was proposed. */
  version: string;
  proposalId: string;
  requiredMembers?: string[];
}

/** Execution consent per member. */
export type MemberConsent = Record<string, "enabled" | "disabled">;

export function getDraftContract(state: StateReader, contractId: string): StoredDraftContract | undefined {
  return readJson<StoredDraftContract>(state, Maps.contracts, contractId);
}

export function getAcceptedContract(state: StateReader, contractId: string): StoredAcceptedContract | undefined {
  return readJson<StoredAcceptedContract>(state, Maps.acceptedContracts, contractId);
}

export function contractExists(state: StateReader, contractId: string): boolean {
  return state.has(Maps.contracts, contractId) || state.has(Maps.acceptedContracts, contractId);
}

/**
 * `data.metadata.voters.requiredMembers` as the constitution reads it: `data` may be JSON text; a non-object has
 * none. Returns the raw value (validation is separate) or undefined when absent.
 */
export function rawRequiredMembers(data: unknown): unknown {
  let value = data;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const metadata = (value as { metadata?: unknown }).metadata;
  if (typeof metadata !== "object" || metadata === null) return undefined;
  const voters = (metadata as { voters?: unknown }).voters;
  if (typeof voters !== "object" || voters === null) return undefined;
  return (voters as { requiredMembers?: unknown }).requiredMembers;
}

/** The required members when they form a list of strings (what views show); undefined otherwise. */
export function requiredMembersOf(data: unknown): string[] | undefined {
  const raw = rawRequiredMembers(data);
  return Array.isArray(raw) && raw.every((id) => typeof id === "string") ? raw : undefined;
}

/** `public:ccf.gov.cleanroom_policies` values: per policy type, claim → allowed values. */
export type StoredCleanRoomPolicies = Partial<Record<PolicyType, PolicyClaims>>;

export function getCleanRoomPolicies(state: StateReader, contractId: string): StoredCleanRoomPolicies {
  return readJson<StoredCleanRoomPolicies>(state, Maps.cleanRoomPolicies, contractId) ?? {};
}
