import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProposalInfoSchema } from "@cleanroom/protocol";
import { makeIdentity, startConsortium, type Consortium } from "../support/consortium.js";
import { expectServiceError } from "../support/expect-error.js";

let consortium: Consortium;
beforeAll(async () => {
  consortium = await startConsortium();
});
afterAll(() => consortium.close());

const m0 = () => consortium.members[0]!;
const m1 = () => consortium.members[1]!;
const m2 = () => consortium.members[2]!;

function setMemberData(memberId: string, identifier: string) {
  return { actions: [{ name: "set_member_data", args: { member_id: memberId, member_data: { identifier } } }] };
}

describe("members and activation", () => {
  it("initial members become Active after acknowledging a state digest", async () => {
    const members = await m0().client.members();
    expect(members.map((m) => m.status)).toEqual(["Active", "Active", "Active"]);
    expect(new Set(members.map((m) => m.memberId))).toEqual(new Set(consortium.members.map((m) => m.id)));
  });

  it("adds a member by proposal and unanimous vote; the new member is Accepted until it acknowledges", async () => {
    const m3 = await makeIdentity("m3");
    const { value: created, transactionId } = await m0().client.createProposal({
      actions: [{ name: "set_member", args: { cert: m3.certificatePem, member_data: { identifier: "m3", tenantId: "t3" } } }],
    });
    expect(transactionId).toMatch(/^\d+\.\d+$/);
    expect(created.proposalState).toBe("Open");
    expect(created.pendingVoters?.sort()).toEqual([m0().id, m1().id, m2().id].sort());

    const afterFirst = (await m1().client.vote(created.proposalId, m1().id, true)).value;
    expect(afterFirst.proposalState).toBe("Open");
    expect(afterFirst.votes).toEqual([{ memberId: m1().id, vote: true }]);
    expect(afterFirst.pendingVoters?.sort()).toEqual([m0().id, m2().id].sort());

    await m2().client.vote(created.proposalId, m2().id, true);
    const accepted = (await m0().client.vote(created.proposalId, m0().id, true)).value;
    expect(accepted.proposalState).toBe("Accepted");
    expect(accepted.finalVotes).toEqual({ [m0().id]: true, [m1().id]: true, [m2().id]: true });
    expect(accepted.pendingVoters).toBeUndefined();
    expect(ProposalInfoSchema.parse(accepted)).toEqual(accepted);

    const m3Client = consortium.clientFor(m3);
    expect((await m3Client.member(m3.id)).status).toBe("Accepted");
    await m3Client.activate(m3.id);
    expect(await m3Client.member(m3.id)).toMatchObject({ status: "Active", memberData: { identifier: "m3", tenantId: "t3" } });

    // Four counted members now: m3 must vote too.
    const { value: next } = await m0().client.createProposal(setMemberData(m3.id, "m3-renamed"));
    expect(next.pendingVoters).toHaveLength(4);
    for (const voter of [m0(), m1(), m2()]) await voter.client.vote(next.proposalId, voter.id, true);
    expect((await m0().client.proposal(next.proposalId)).proposalState).toBe("Open");
    expect((await m3Client.vote(next.proposalId, m3.id, true)).value.proposalState).toBe("Accepted");
    expect((await m3Client.member(m3.id)).memberData.identifier).toBe("m3-renamed");

    // Remove m3 again to restore the three-member consortium for the other tests.
    const { value: removal } = await m3Client.createProposal({ actions: [{ name: "remove_member", args: { member_id: m3.id } }] });
    for (const voter of [m0(), m1(), m2()]) await voter.client.vote(removal.proposalId, voter.id, true);
    expect((await m3Client.vote(removal.proposalId, m3.id, true)).value.proposalState).toBe("Accepted");
    expect((await m0().client.members()).map((m) => m.memberId)).not.toContain(m3.id);
  });

  it("members with a role are not counted and their ballots do not count", async () => {
    const operator = await consortium.addMember("operator");
    const { value } = await m0().client.createProposal({
      actions: [{ name: "set_member_data", args: { member_id: operator.id, member_data: { identifier: "operator", roles: ["cgsOperator"] } } }],
    });
    for (const voter of [m0(), m1(), m2(), operator]) await voter.client.vote(value.proposalId, voter.id, true);
    expect((await m0().client.member(operator.id)).memberData.roles).toEqual(["cgsOperator"]);

    const { value: next } = await m0().client.createProposal(setMemberData(m0().id, "m0"));
    expect(next.pendingVoters?.sort()).toEqual([m0().id, m1().id, m2().id].sort());
    await operator.client.vote(next.proposalId, operator.id, true);
    await m0().client.vote(next.proposalId, m0().id, true);
    const afterTwo = (await m1().client.vote(next.proposalId, m1().id, true)).value;
    expect(afterTwo.proposalState).toBe("Open");
    expect(afterTwo.pendingVoters).toEqual([m2().id]);
    expect((await m2().client.vote(next.proposalId, m2().id, true)).value.finalVotes).toHaveProperty(operator.id, true);

    const { value: removal } = await m0().client.createProposal({ actions: [{ name: "remove_member", args: { member_id: operator.id } }] });
    for (const voter of [m0(), m1(), m2()]) await voter.client.vote(removal.proposalId, voter.id, true);
  });

  it("an Accepted (not yet Active) member cannot propose or vote", async () => {
    const pending = await makeIdentity("pending");
    const { value } = await m0().client.createProposal({
      actions: [{ name: "set_member", args: { cert: pending.certificatePem, member_data: { identifier: "pending" } } }],
    });
    for (const voter of [m0(), m1(), m2()]) await voter.client.vote(value.proposalId, voter.id, true);
    const client = consortium.clientFor(pending);
    await expectServiceError(client.createProposal(setMemberData(pending.id, "x")), 403, "MemberNotActive");
    const { value: other } = await m0().client.createProposal(setMemberData(m0().id, "m0"));
    await expectServiceError(client.vote(other.proposalId, pending.id, true), 403, "MemberNotActive");
    await m0().client.withdraw(other.proposalId);
    const { value: removal } = await m0().client.createProposal({ actions: [{ name: "remove_member", args: { member_id: pending.id } }] });
    for (const voter of [m0(), m1(), m2()]) await voter.client.vote(removal.proposalId, voter.id, true);
  });

  it("refuses to remove the last counted member", async () => {
    const solo = await startConsortium({ members: ["solo"] });
    try {
      const [only] = solo.members;
      const { value } = await only!.client.createProposal({ actions: [{ name: "remove_member", args: { member_id: only!.id } }] });
      const outcome = (await only!.client.vote(value.proposalId, only!.id, true)).value;
      expect(outcome.proposalState).toBe("Failed");
      expect(outcome.failure?.reason).toMatch(/no proposal could ever pass/);
      expect((await only!.client.members()).map((m) => m.memberId)).toEqual([only!.id]);
    } finally {
      await solo.close();
    }
  });
});

describe("proposal lifecycle", () => {
  it("the proposer can withdraw; the outcome, ballots and history stay queryable", async () => {
    const { value } = await m0().client.createProposal(setMemberData(m1().id, "m1"));
    await m1().client.vote(value.proposalId, m1().id, false);
    const withdrawn = (await m0().client.withdraw(value.proposalId)).value;
    expect(withdrawn.proposalState).toBe("Withdrawn");

    const shown = await m2().client.proposal(value.proposalId);
    expect(shown).toMatchObject({ proposalState: "Withdrawn", ballotCount: 1, votes: [{ memberId: m1().id, vote: false }] });
    expect(await m2().client.ballot(value.proposalId, m1().id)).toContain("return false");
    expect(await m2().client.proposalActions(value.proposalId)).toEqual(setMemberData(m1().id, "m1"));
    const history = await m2().client.proposalHistory(value.proposalId);
    expect(history.value.map((h) => [h.event, h.proposalState, h.memberId])).toEqual([
      ["created", "Open", m0().id],
      ["ballot", "Open", m1().id],
      ["withdrawn", "Withdrawn", m0().id],
    ]);
    expect((await m2().client.proposals("Withdrawn")).map((p) => p.proposalId)).toContain(value.proposalId);
    expect((await m2().client.proposals("Open")).map((p) => p.proposalId)).not.toContain(value.proposalId);
  });

  it("evaluates custom ballots in the sandbox, with access to the proposal", async () => {
    const { value } = await m0().client.createProposal(setMemberData(m2().id, "m2"));
    const ballot = `export function vote (proposal, proposerId) {
      const actions = JSON.parse(proposal).actions;
      return actions.length === 1 && actions[0].name === "set_member_data" && proposerId === "${m0().id}";
    }`;
    const afterCustom = (await m1().client.submitBallot(value.proposalId, m1().id, ballot)).value;
    expect(afterCustom.votes).toEqual([{ memberId: m1().id, vote: true }]);
    const rejectingCustom = "export function vote (proposal, proposerId) { return proposerId === 'nobody' }";
    expect((await m2().client.submitBallot(value.proposalId, m2().id, rejectingCustom)).value.votes).toContainEqual({ memberId: m2().id, vote: false });
    await m0().client.withdraw(value.proposalId);
  });

  it("accepting a new constitution drops every other open proposal, and the new rules apply", async () => {
    const { value: bystander } = await m1().client.createProposal(setMemberData(m1().id, "m1"));
    const original = await m0().client.constitution();
    // The new constitution accepts with a single yes vote.
    const lenient = original.replace(/return yes === voters\.length \? "Accepted" : "Open";/, 'return yes >= 1 ? "Accepted" : "Open";');
    expect(lenient).not.toBe(original);
    const { value } = await m0().client.createProposal({ actions: [{ name: "set_constitution", args: { constitution: lenient } }] });
    for (const voter of [m0(), m1(), m2()]) await voter.client.vote(value.proposalId, voter.id, true);
    expect((await m0().client.proposal(value.proposalId)).proposalState).toBe("Accepted");
    expect((await m0().client.proposal(bystander.proposalId)).proposalState).toBe("Dropped");
    expect(await m0().client.constitution()).toBe(lenient);
    expect((await m0().client.serviceInfo()).constitutionDigest).toMatch(/^[0-9a-f]{64}$/);

    const { value: quick } = await m0().client.createProposal(setMemberData(m0().id, "m0"));
    expect((await m2().client.vote(quick.proposalId, m2().id, true)).value.proposalState).toBe("Accepted");

    const { value: restore } = await m0().client.createProposal({ actions: [{ name: "set_constitution", args: { constitution: original } }] });
    expect((await m1().client.vote(restore.proposalId, m1().id, true)).value.proposalState).toBe("Accepted");
    expect(await m0().client.constitution()).toBe(original);
  });

  it("rejects a constitution that does not load or lacks an export before anyone votes", async () => {
    await expectServiceError(
      m0().client.createProposal({ actions: [{ name: "set_constitution", args: { constitution: "export function validate( {" } }] }),
      400,
      "ProposalFailedToValidate",
    );
    await expectServiceError(
      m0().client.createProposal({ actions: [{ name: "set_constitution", args: { constitution: "export function validate() { return {valid: true} }" } }] }),
      400,
      "ProposalFailedToValidate",
    );
  });

  it("manages certificate users", async () => {
    const user = await makeIdentity("user0");
    const { value } = await m0().client.createProposal({ actions: [{ name: "set_user", args: { cert: user.certificatePem, user_data: { tenantId: "t" } } }] });
    for (const voter of [m0(), m1(), m2()]) await voter.client.vote(value.proposalId, voter.id, true);
    expect((await m0().client.users()).map((u) => u.userId)).toContain(user.id);
    const userClient = consortium.clientFor(user);
    expect(await userClient.identity()).toEqual({ kind: "user", id: user.id, data: { tenantId: "t" }, authenticatedBy: "certificate", tenantId: "t" });
    const { value: removal } = await m0().client.createProposal({ actions: [{ name: "remove_user", args: { user_id: user.id } }] });
    for (const voter of [m0(), m1(), m2()]) await voter.client.vote(removal.proposalId, voter.id, true);
    await expectServiceError(userClient.identity(), 401, "InvalidAuthenticationInfo");
  });

  it("validates action arguments with the constitution", async () => {
    const error = await expectServiceError(
      m0().client.createProposal({ actions: [{ name: "set_member", args: { cert: "not a cert", member_data: { identifier: "x" } } }] }),
      400,
      "ProposalFailedToValidate",
    );
    expect(error.message).toMatch(/set_member at position 0 failed validation: args.cert/);
    await expectServiceError(m0().client.createProposal({ actions: [{ name: "make_coffee" }] }), 400, "ProposalFailedToValidate");
    await expectServiceError(m0().client.createProposal({ actions: [{ name: "remove_user", args: { user_id: "x" } }] }), 400, "ProposalFailedToValidate");
  });
});
