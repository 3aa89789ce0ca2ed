import { createHash } from "node:crypto";
import type { StateReader } from "@cleanroom/ledger";
import { ACCEPT_BALLOT, ApiError, REJECT_BALLOT } from "@cleanroom/protocol";
import { decodeText } from "../state/json-state.js";
import { Maps, SINGLE_KEY } from "../state/maps.js";
import { evaluateBallot } from "./ballot.js";
import { readOnlyKv } from "./kv-adapters.js";
import { createModuleSandbox, type ModuleSandbox } from "./module-sandbox.js";
import { SandboxError, type JsonValue, type SandboxKv, type SandboxLimits } from "./sandbox-types.js";

export type Resolution = "Open" | "Accepted" | "Rejected";
const RESOLUTIONS: readonly string[] = ["Open", "Accepted", "Rejected"];
const REQUIRED_EXPORTS = ["validate", "resolve", "apply"] as const;

export interface Validation {
  valid: boolean;
  description: string;
}

export interface BallotVote {
  member_id: string;
  vote: boolean;
}

export function constitutionDigest(source: string): string {
  return createHash("sha256").update(source).digest("hex");
}

function describe(error: SandboxError): string {
  return error.kind === "runtime" ? error.message : `${error.kind}: ${error.message}`;
}

/**
 * Runs the consortium's constitution (read from the ledger) in the sandbox. The compiled module is cached and
 * rebuilt only when the stored constitution text changes (after an accepted set_constitution).
 */
export class ConstitutionEngine {
  private cached: { source: Buffer; sandbox: ModuleSandbox } | undefined;

  constructor(private readonly limits: SandboxLimits) {}

  private sandbox(state: StateReader): ModuleSandbox {
    // Compared as bytes: decoding the constitution on every call cost more than the call itself.
    const source = state.get(Maps.constitution, SINGLE_KEY);
    if (source === undefined) throw new ApiError("ConstitutionError", "The service has no constitution.");
    if (this.cached === undefined || !this.cached.source.equals(source)) {
      this.cached?.sandbox.dispose();
      this.cached = undefined;
      try {
        const text = decodeText(source);
        const sandbox = createModuleSandbox(text, { filename: "constitution.js", limits: this.limits });
        this.cached = { source: Buffer.from(source), sandbox };
      } catch (error) {
        if (error instanceof SandboxError) {
          throw new ApiError("ConstitutionError", `The constitution does not load: ${describe(error)}`);
        }
        throw error;
      }
    }
    return this.cached.sandbox;
  }

  private call(state: StateReader, name: string, args: JsonValue[], kv: SandboxKv): JsonValue | undefined {
    try {
      return this.sandbox(state).call(name, args, kv);
    } catch (error) {
      if (error instanceof SandboxError) {
        throw new ApiError("ConstitutionError", `The constitution's ${name}() failed: ${describe(error)}`);
      }
      throw error;
    }
  }

  /** The constitution's verdict on a proposal's shape (CCF: `validate(input)` → `{valid, description}`). */
  validate(state: StateReader, proposal: string): Validation {
    const result = this.call(state, "validate", [proposal], readOnlyKv(state, "validate"));
    if (typeof result !== "object" || result === null || Array.isArray(result) || typeof result.valid !== "boolean") {
      throw new ApiError("ConstitutionError", "The constitution's validate() must return {valid: boolean, description: string}.");
    }
    return { valid: result.valid, description: typeof result.description === "string" ? result.description : "" };
  }

  resolve(state: StateReader, proposal: string, proposerId: string, votes: BallotVote[]): Resolution {
    const result = this.call(state, "resolve", [proposal, proposerId, votes as unknown as JsonValue], readOnlyKv(state, "resolve"));
    if (typeof result !== "string" || !RESOLUTIONS.includes(result)) {
      throw new ApiError("ConstitutionError", `The constitution's resolve() returned ${JSON.stringify(result)}; expected Open, Accepted or Rejected.`);
    }
    return result as Resolution;
  }

  /** Runs apply(); throws the SandboxError itself so the caller can record the proposal as Failed. */
  apply(state: StateReader, kv: SandboxKv, proposal: string, proposalId: string): void {
    this.sandbox(state).call("apply", [proposal, proposalId], kv);
  }

  /** Members whose votes the proposal needs, if the constitution exports `requiredVoters` (a Cleanroom extension). */
  requiredVoters(state: StateReader, proposal: string, proposerId: string): string[] | undefined {
    const sandbox = this.sandbox(state);
    if (!sandbox.has("requiredVoters")) return undefined;
    const result = this.call(state, "requiredVoters", [proposal, proposerId], readOnlyKv(state, "requiredVoters"));
    if (!Array.isArray(result) || !result.every((id) => typeof id === "string")) {
      throw new ApiError("ConstitutionError", "The constitution's requiredVoters() must return an array of member ids.");
    }
    return result;
  }

  /** Evaluates a ballot; the two canonical ballots are recognised without running code. */
  vote(state: StateReader, ballot: string, proposal: string, proposerId: string): boolean {
    if (ballot === ACCEPT_BALLOT) return true;
    if (ballot === REJECT_BALLOT) return false;
    return evaluateBallot(ballot, proposal, proposerId, readOnlyKv(state, "vote"), this.limits);
  }

  /** Checks a proposed constitution loads and exports what the service calls, before it can be voted on. */
  checkCandidate(source: string): void {
    let sandbox: ModuleSandbox | undefined;
    try {
      sandbox = createModuleSandbox(source, { filename: "proposed-constitution.js", limits: this.limits });
      const missing = REQUIRED_EXPORTS.filter((name) => !sandbox?.has(name));
      if (missing.length > 0) {
        throw new ApiError("ProposalFailedToValidate", `Proposal failed to validate: the new constitution does not export ${missing.join(", ")}.`);
      }
    } catch (error) {
      if (error instanceof SandboxError) {
        throw new ApiError("ProposalFailedToValidate", `Proposal failed to validate: the new constitution does not load: ${describe(error)}`);
      }
      throw error;
    } finally {
      sandbox?.dispose();
    }
  }

  dispose(): void {
    this.cached?.sandbox.dispose();
    this.cached = undefined;
  }
}
