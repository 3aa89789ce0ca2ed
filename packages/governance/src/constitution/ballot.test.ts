import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { BALLOT_CACHE_CAPACITY, ballotCacheSize, clearBallotCache, evaluateBallot } from "./ballot.js";
import { initSandbox, isSandboxReady, liveSandboxRuntimeCount } from "./module-sandbox.js";
import { expectSandboxError, MemoryKv } from "./sandbox-test-support.case.js";

const MEMBERS_INFO = "public:ccf.gov.members.info";
const proposal = JSON.stringify({ actions: [{ name: "set_member", args: { member_data: { team: "blue" } } }] });

beforeAll(async () => {
  await initSandbox();
});

afterEach(() => {
  clearBallotCache();
});

describe("evaluateBallot", () => {
  it("accepts the canonical accepting ballot", () => {
    expect(evaluateBallot("export function vote (proposal, proposerId) { return true }", proposal, "m0", new MemoryKv())).toBe(true);
    expect(evaluateBallot("export function vote (proposal, proposerId) { return false }", proposal, "m0", new MemoryKv())).toBe(false);
  });

  it("lets a ballot read the proposal JSON, the proposer and the store", () => {
    const ballot = `
      export function vote(rawProposal, proposerId) {
        const proposal = JSON.parse(rawProposal);
        const raw = ccf.kv["${MEMBERS_INFO}"].get(ccf.strToBuf(proposerId));
        if (raw === undefined) return false;
        const proposer = ccf.bufToJsonCompatible(raw);
        return proposer.status === "Active" && proposal.actions[0].args.member_data.team === "blue";
      }
    `;
    const kv = new MemoryKv();
    kv.setText(MEMBERS_INFO, "m0", JSON.stringify({ status: "Active" }));
    kv.setText(MEMBERS_INFO, "m1", JSON.stringify({ status: "Accepted" }));
    expect(evaluateBallot(ballot, proposal, "m0", kv)).toBe(true);
    expect(evaluateBallot(ballot, proposal, "m1", kv)).toBe(false);
    expect(evaluateBallot(ballot, proposal, "m2", kv)).toBe(false);
  });

  it("requires a boolean result", () => {
    for (const [result, got] of [["1", "number"], ["'yes'", "string"], ["undefined", "undefined"], ["null", "null"], ["[true]", "an array"]]) {
      const error = expectSandboxError(
        () => evaluateBallot(`export function vote() { return ${result} }`, proposal, "m0", new MemoryKv()),
        "invalid-result",
      );
      expect(error.message).toContain(`got ${got}`);
    }
  });

  it("reports ballots without vote, broken ballots and store refusals as SandboxErrors", () => {
    expectSandboxError(() => evaluateBallot("export function ballot() { return true }", proposal, "m0", new MemoryKv()), "missing-export");
    expectSandboxError(() => evaluateBallot("export function vote( {", proposal, "m0", new MemoryKv()), "compile");
    const writer = "export function vote() { ccf.kv['public:ccf.gov.members.info'].set(ccf.strToBuf('k'), ccf.strToBuf('v')); return true }";
    const error = expectSandboxError(() => evaluateBallot(writer, proposal, "m0", new MemoryKv([MEMBERS_INFO])), "runtime");
    expect(error.message).toBe(`map ${MEMBERS_INFO} is read-only in resolve`);
  });

  it("applies the limits it is given", () => {
    const limits = { memoryBytes: 16 * 1024 * 1024, timeoutMs: 100, stackBytes: 128 * 1024 };
    expectSandboxError(() => evaluateBallot("export function vote() { for (;;) {} }", proposal, "m0", new MemoryKv(), limits), "timeout");
  });
});

describe("ballot cache", () => {
  it("reuses the compiled ballot for identical text (module state included)", () => {
    const counting = "let calls = 0; export function vote() { calls++; return calls === 2 }";
    expect(evaluateBallot(counting, proposal, "m0", new MemoryKv())).toBe(false);
    expect(evaluateBallot(counting, proposal, "m1", new MemoryKv())).toBe(true);
    expect(ballotCacheSize()).toBe(1);
  });

  it("stays bounded and frees evicted sandboxes when called with many distinct ballots", () => {
    const before = liveSandboxRuntimeCount();
    for (let i = 0; i < BALLOT_CACHE_CAPACITY * 3; i++) {
      expect(evaluateBallot(`export function vote() { return ${i} % 2 === 0 }`, proposal, "m0", new MemoryKv())).toBe(i % 2 === 0);
    }
    expect(ballotCacheSize()).toBe(BALLOT_CACHE_CAPACITY);
    expect(liveSandboxRuntimeCount() - before).toBe(BALLOT_CACHE_CAPACITY);
    clearBallotCache();
    expect(liveSandboxRuntimeCount()).toBe(before);
    expect(isSandboxReady()).toBe(true);
  });

  it("does not cache ballots that fail to compile", () => {
    expectSandboxError(() => evaluateBallot("syntax error here", proposal, "m0", new MemoryKv()), "compile");
    expect(ballotCacheSize()).toBe(0);
  });
});
