import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startConsortium, type Consortium, type TestIdentity } from "../support/consortium.js";
import { expectServiceError } from "../support/expect-error.js";

// A constitution that misbehaves on demand, named by the action: <stage>_<throws|loops|allocates>.
const CONSTITUTION = `
function misbehave(kind) {
  if (kind === "throws") throw new Error("deliberate failure");
  if (kind === "loops") for (;;) {}
  if (kind === "allocates") { const hoard = []; for (;;) hoard.push(new Array(100000).fill(7)); }
}
function act(proposal, stage) {
  for (const action of JSON.parse(proposal).actions) {
    const [at, kind] = action.name.split("_");
    if (at === stage) misbehave(kind);
  }
}
export function validate(input) { act(input, "validate"); return { valid: true, description: "ok" }; }
export function resolve(proposal, proposerId, votes) {
  act(proposal, "resolve");
  if (votes.some((v) => !v.vote)) return "Rejected";
  return votes.some((v) => v.vote) ? "Accepted" : "Open";
}
export function apply(proposal, proposalId) {
  ccf.kv["public:ccf.gov.test.applied"].set(ccf.strToBuf(proposalId), ccf.strToBuf("yes"));
  act(proposal, "apply");
}
`;

const APPLIED = "public:ccf.gov.test.applied";
let consortium: Consortium;
let m0: TestIdentity;

beforeAll(async () => {
  consortium = await startConsortium({
    members: ["m0"],
    service: { constitution: CONSTITUTION, sandboxLimits: { timeoutMs: 300, memoryBytes: 32 * 1024 * 1024 } },
  });
  m0 = consortium.members[0]!;
});
afterAll(() => consortium.close());

const proposal = (name: string) => ({ actions: [{ name, args: {} }] });

async function proposalCount(): Promise<number> {
  return (await m0.client.proposals()).length;
}

describe("a constitution that throws, loops or allocates without bound", () => {
  it.each(["validate_throws", "validate_loops", "validate_allocates", "resolve_throws", "resolve_loops", "resolve_allocates"])(
    "%s: 400 ConstitutionError, nothing recorded",
    async (name) => {
      const before = await proposalCount();
      const error = await expectServiceError(m0.client.createProposal(proposal(name)), 400, "ConstitutionError");
      expect(error.message).toMatch(name.endsWith("throws") ? /deliberate failure/ : name.endsWith("loops") ? /timeout/ : /memory/);
      expect(await proposalCount()).toBe(before);
    },
  );

  it.each(["apply_throws", "apply_loops", "apply_allocates"])("%s: the proposal is Failed and its writes are discarded", async (name) => {
    const { value } = await m0.client.createProposal(proposal(name));
    const outcome = (await m0.client.vote(value.proposalId, m0.id, true)).value;
    expect(outcome.proposalState).toBe("Failed");
    expect(outcome.failure?.reason).toBeTruthy();
    expect((await m0.client.proposal(value.proposalId)).proposalState).toBe("Failed");
    expect(consortium.service.ledger.get(APPLIED, value.proposalId)).toBeUndefined();
  });

  it("a resolve that says Rejected closes the proposal, which stays queryable with its votes", async () => {
    const { value } = await m0.client.createProposal(proposal("noop"));
    const rejected = (await m0.client.vote(value.proposalId, m0.id, false)).value;
    expect(rejected).toMatchObject({ proposalState: "Rejected", finalVotes: { [m0.id]: false } });
    expect(consortium.service.ledger.get(APPLIED, value.proposalId)).toBeUndefined();
    await expectServiceError(m0.client.withdraw(value.proposalId), 409, "ProposalNotOpen");
    expect((await m0.client.proposalHistory(value.proposalId)).value.map((h) => h.event)).toEqual(["created", "rejected"]);
  });

  it("keeps serving: a well-behaved proposal is accepted afterwards", async () => {
    const { value } = await m0.client.createProposal(proposal("noop"));
    expect((await m0.client.vote(value.proposalId, m0.id, true)).value.proposalState).toBe("Accepted");
    expect(Buffer.from(consortium.service.ledger.get(APPLIED, value.proposalId) ?? []).toString()).toBe("yes");
  });
});
