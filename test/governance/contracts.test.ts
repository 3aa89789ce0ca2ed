// Contracts: reference upstream-governance.md §2.1, §3.1–§3.3 and the §5 scenarios 6–27 (those that need an
// attested clean room are covered where attestation is built) and 55–56.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CleanRoomPolicySchema, ContractSchema, EventListSchema, RuntimeOptionStatusSchema, type Contract } from "@cleanroom/protocol";
import { appRequest, errorCode, type AppResponse } from "../support/app-requests.js";
import { startConsortium, type Consortium, type TestIdentity } from "../support/consortium.js";

let consortium: Consortium;
beforeAll(async () => {
  consortium = await startConsortium();
});
afterAll(() => consortium.close());

const m0 = () => consortium.members[0]!;
const m1 = () => consortium.members[1]!;
const m2 = () => consortium.members[2]!;
let counter = 0;
const newId = (prefix: string) => `${prefix}-${++counter}`;

function call(who: TestIdentity | undefined, method: string, path: string, body?: unknown): Promise<AppResponse> {
  return appRequest(consortium.service, who, method, path, body);
}

async function putContract(id: string, data: unknown, version?: string, who = m0()): Promise<AppResponse> {
  return call(who, "PUT", `/app/contracts/${id}`, { data, ...(version !== undefined ? { version } : {}) });
}

async function getContract(id: string, who = m0()): Promise<Contract> {
  const response = await call(who, "GET", `/app/contracts/${id}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return ContractSchema.parse(response.body);
}

async function propose(id: string, who = m0()) {
  const snapshot = await getContract(id, who);
  return (await who.client.createProposal({ actions: [{ name: "set_contract", args: { contractId: id, contract: snapshot } }] })).value;
}

async function status(id: string, option: string) {
  const response = await call(m1(), "POST", `/app/contracts/${id}/runtimeoptions/${option}/status`);
  expect(response.status).toBe(200);
  return RuntimeOptionStatusSchema.parse(response.body);
}

/** Removes a member again so that later tests see the initial consortium. */
async function removeMember(id: string): Promise<void> {
  const removal = (await m0().client.createProposal({ actions: [{ name: "remove_member", args: { member_id: id } }] })).value;
  for (const m of [m1(), m2(), m0()]) {
    if ((await m0().client.proposal(removal.proposalId)).proposalState !== "Open") break;
    await m.client.vote(removal.proposalId, m.id, true);
  }
  expect((await m0().client.proposal(removal.proposalId)).proposalState).toBe("Accepted");
}

async function acceptedContract(id: string, data: unknown = { purpose: "test" }): Promise<Contract> {
  expect((await putContract(id, data)).status).toBe(200);
  const proposal = await propose(id);
  for (const m of [m0(), m1(), m2()]) await m.client.vote(proposal.proposalId, m.id, true);
  const contract = await getContract(id);
  expect(contract.state).toBe("Accepted");
  return contract;
}

describe("contract drafts (scenarios 1, 6-8, 22)", () => {
  it("refuses callers without identity (1)", async () => {
    const response = await call(undefined, "PUT", "/app/contracts/x", { data: {} });
    expect([response.status, errorCode(response)]).toEqual([401, "InvalidAuthenticationInfo"]);
    expect((await call(undefined, "GET", "/app/contracts/x")).status).toBe(401);
  });

  it("reports a missing contract and its disabled status (6)", async () => {
    const response = await call(m0(), "GET", "/app/contracts/missing");
    expect([response.status, errorCode(response)]).toEqual([404, "ContractNotFound"]);
    expect(await status("missing", "execution")).toMatchObject({ status: "disabled", reason: { code: "ContractNotAccepted" } });
  });

  it("creates a Draft whose version is the write's transaction id (7) and enforces optimistic concurrency (8)", async () => {
    const id = newId("draft");
    const created = await putContract(id, { hello: "world" });
    expect(created.status).toBe(200);
    expect(created.transactionId).toMatch(/^\d+\.\d+$/);
    expect(created.body).toEqual({ id, version: created.transactionId });
    const contract = await getContract(id);
    expect(contract).toMatchObject({ id, state: "Draft", version: created.transactionId, data: { hello: "world" }, proposalId: "" });

    const again = await putContract(id, { hello: "again" });
    expect([again.status, errorCode(again)]).toEqual([409, "ContractAlreadyExists"]);
    const stale = await putContract(id, { hello: "again" }, "randomvalue");
    expect([stale.status, errorCode(stale)]).toEqual([412, "PreconditionFailed"]);
    const updated = await putContract(id, { hello: "again" }, contract.version);
    expect(updated.status).toBe(200);
    expect(updated.transactionId).not.toBe(contract.version);
    expect((await getContract(id)).data).toEqual({ hello: "again" });
    const missingData = await call(m0(), "PUT", `/app/contracts/${id}`, { version: updated.transactionId });
    expect([missingData.status, errorCode(missingData)]).toEqual([400, "DataMissing"]);
  });

  it("only Active members write contracts; users and members still Accepted cannot", async () => {
    const pending = await consortium.addMemberWithoutActivation("pending");
    const response = await putContract(newId("c"), {}, undefined, pending);
    expect([response.status, errorCode(response)]).toEqual([403, "MemberNotActive"]);
    await removeMember(pending.id);
  });

  it("blocks edits while a proposal is open, so the accepted data is the proposed data (22)", async () => {
    const id = newId("frozen");
    await putContract(id, { v: 1 });
    const proposal = await propose(id);
    const contract = await getContract(id);
    expect(contract).toMatchObject({ state: "Proposed", proposalId: proposal.proposalId });
    const edit = await putContract(id, { v: 2 }, contract.version);
    expect([edit.status, errorCode(edit)]).toEqual([409, "ContractUnderProposal"]);
    for (const m of [m0(), m1(), m2()]) await m.client.vote(proposal.proposalId, m.id, true);
    expect(await getContract(id)).toMatchObject({ state: "Accepted", data: { v: 1 } });
  });

  it("refuses a proposal whose snapshot is not the current draft (the server-side ContractModified check)", async () => {
    const id = newId("stale");
    await putContract(id, { v: 1 });
    const snapshot = await getContract(id);
    await putContract(id, { v: 2 }, snapshot.version);
    const error = await m0()
      .client.createProposal({ actions: [{ name: "set_contract", args: { contractId: id, contract: snapshot } }] })
      .catch((e: unknown) => e as { code: string; message: string });
    expect(error).toMatchObject({ code: "ProposalFailedToValidate" });
    expect((error as { message: string }).message).toContain("is not the contract's current version");
    expect((await getContract(id)).state).toBe("Draft");
  });
});

describe("contract proposals without requiredMembers (11-16, 21)", () => {
  it("needs every counted Active member; finalVotes records them and execution becomes enabled (11)", async () => {
    const id = newId("all");
    await putContract(id, { purpose: "all" });
    const proposal = await propose(id);
    await m0().client.vote(proposal.proposalId, m0().id, true);
    const proposed = await getContract(id);
    expect(proposed).toMatchObject({ state: "Proposed", votes: [{ memberId: m0().id, vote: true }] });
    expect(proposed.pendingVoters?.sort()).toEqual([m1().id, m2().id].sort());
    expect((await status(id, "execution")).status).toBe("disabled");
    await m1().client.vote(proposal.proposalId, m1().id, true);
    await m2().client.vote(proposal.proposalId, m2().id, true);
    const accepted = await getContract(id);
    expect(accepted.state).toBe("Accepted");
    expect(accepted.finalVotes?.sort((a, b) => a.memberId.localeCompare(b.memberId))).toEqual(
      [m0(), m1(), m2()].map((m) => ({ memberId: m.id, vote: true })).sort((a, b) => a.memberId.localeCompare(b.memberId)),
    );
    expect(await status(id, "execution")).toEqual({ status: "enabled" });
  });

  it("a single rejection rejects; the contract reads Draft again and can be re-proposed (12)", async () => {
    const id = newId("veto");
    await putContract(id, {});
    const proposal = await propose(id);
    const rejected = (await m0().client.vote(proposal.proposalId, m0().id, false)).value;
    expect(rejected.proposalState).toBe("Rejected");
    expect(await getContract(id)).toMatchObject({ state: "Draft", proposalId: "" });
    expect((await propose(id)).proposalState).toBe("Open");
  });

  it("a second proposal for a proposed contract is rejected; the first stays open (13)", async () => {
    const id = newId("twice");
    await putContract(id, {});
    const first = await propose(id);
    const second = await propose(id);
    expect(second.proposalState).toBe("Rejected");
    expect((await m0().client.proposalHistory(second.proposalId)).value.at(-1)?.proposalState).toBe("Rejected");
    expect((await m0().client.proposal(first.proposalId)).proposalState).toBe("Open");
    expect(await getContract(id)).toMatchObject({ state: "Proposed", proposalId: first.proposalId });
  });

  it("rejects proposals with two set_contract actions or set_contract mixed with another action (14)", async () => {
    const id = newId("mixed");
    await putContract(id, {});
    const snapshot = await getContract(id);
    const action = { name: "set_contract", args: { contractId: id, contract: snapshot } };
    const twice = (await m0().client.createProposal({ actions: [action, action] })).value;
    expect(twice.proposalState).toBe("Rejected");
    const mixed = (
      await m0().client.createProposal({
        actions: [action, { name: "set_member_data", args: { member_id: m0().id, member_data: { identifier: "m0" } } }],
      })
    ).value;
    expect(mixed.proposalState).toBe("Rejected");
    expect((await getContract(id)).state).toBe("Draft");
  });

  it("an accepted contract cannot be edited, and re-proposing it is rejected (15)", async () => {
    const id = newId("done");
    const draftVersion = (await putContract(id, { purpose: "once" })).transactionId as string;
    const proposal = await propose(id);
    for (const m of [m0(), m1(), m2()]) await m.client.vote(proposal.proposalId, m.id, true);
    const contract = await getContract(id);
    expect(contract.state).toBe("Accepted");
    const edit = await putContract(id, { other: true }, contract.version);
    expect([edit.status, errorCode(edit)]).toEqual([405, "ContractAlreadyAccepted"]);
    // A snapshot that passes validation (it is the stored draft) is still rejected by resolve: already accepted.
    const snapshot = { id, version: draftVersion, state: "Draft", data: { purpose: "once" }, proposalId: "" };
    const again = (await m0().client.createProposal({ actions: [{ name: "set_contract", args: { contractId: id, contract: snapshot } }] })).value;
    expect(again.proposalState).toBe("Rejected");
    expect(await getContract(id)).toMatchObject({ state: "Accepted", proposalId: proposal.proposalId });
  });

  it("members with a role are not counted; removing the role makes their vote needed again (16)", async () => {
    const withRole = { actions: [{ name: "set_member_data", args: { member_id: m2().id, member_data: { identifier: "m2", roles: ["contractOperator"] } } }] };
    const roleProposal = (await m0().client.createProposal(withRole)).value;
    for (const m of [m0(), m1(), m2()]) await m.client.vote(roleProposal.proposalId, m.id, true);
    try {
      const id = newId("roles");
      await putContract(id, {});
      const proposal = await propose(id);
      await m0().client.vote(proposal.proposalId, m0().id, true);
      await m1().client.vote(proposal.proposalId, m1().id, true);
      const accepted = await getContract(id);
      expect(accepted.state).toBe("Accepted");
      expect(accepted.finalVotes?.map((v) => v.memberId)).not.toContain(m2().id);
    } finally {
      const noRole = { actions: [{ name: "set_member_data", args: { member_id: m2().id, member_data: { identifier: "m2", tenantId: "tenant" } } }] };
      const back = (await m0().client.createProposal(noRole)).value;
      for (const m of [m0(), m1()]) await m.client.vote(back.proposalId, m.id, true);
      expect((await m0().client.proposal(back.proposalId)).proposalState).toBe("Accepted");
    }
    const id = newId("roles-back");
    await putContract(id, {});
    const proposal = await propose(id);
    await m0().client.vote(proposal.proposalId, m0().id, true);
    await m1().client.vote(proposal.proposalId, m1().id, true);
    expect(await getContract(id)).toMatchObject({ state: "Proposed", pendingVoters: [m2().id] });
    await m2().client.vote(proposal.proposalId, m2().id, true);
    expect((await getContract(id)).state).toBe("Accepted");
  });
});

describe("requiredMembers (17-21)", () => {
  const required = (...ids: string[]) => ({ metadata: { voters: { requiredMembers: ids } }, properties: { hello: "world" } });

  it("only the required members decide; others' ballots are ignored (17, 18)", async () => {
    const id = newId("req");
    await putContract(id, required(m0().id, m1().id));
    const proposal = await propose(id);
    expect((await getContract(id)).requiredMembers).toEqual([m0().id, m1().id]);
    expect((await getContract(id)).pendingVoters).toEqual([m0().id, m1().id]);
    expect((await m2().client.vote(proposal.proposalId, m2().id, false)).value.proposalState).toBe("Open");
    expect((await m0().client.vote(proposal.proposalId, m0().id, true)).value.proposalState).toBe("Open");
    expect((await getContract(id)).pendingVoters).toEqual([m1().id]);
    expect((await m1().client.vote(proposal.proposalId, m1().id, true)).value.proposalState).toBe("Accepted");
    const accepted = await getContract(id);
    expect(accepted).toMatchObject({ state: "Accepted", requiredMembers: [m0().id, m1().id] });
    // finalVotes records every ballot cast, including the ignored one.
    expect(accepted.finalVotes).toContainEqual({ memberId: m2().id, vote: false });
  });

  it("a no from a required member rejects (18); a yes from a non-required member does not accept (19)", async () => {
    const id = newId("req-no");
    await putContract(id, required(m0().id, m1().id));
    const proposal = await propose(id);
    await m2().client.vote(proposal.proposalId, m2().id, true);
    expect((await m0().client.vote(proposal.proposalId, m0().id, false)).value.proposalState).toBe("Rejected");

    const single = newId("req-one");
    await putContract(single, required(m0().id));
    const p = await propose(single);
    expect((await m1().client.vote(p.proposalId, m1().id, true)).value.proposalState).toBe("Open");
    expect((await m0().client.vote(p.proposalId, m0().id, true)).value.proposalState).toBe("Accepted");
  });

  it("refuses invalid requiredMembers on write and when proposed (20)", async () => {
    const unknown = "f".repeat(64);
    for (const [data, why] of [
      [required(unknown), "does not exist"],
      [{ metadata: { voters: { requiredMembers: [] } } }, "non-empty"],
      [{ metadata: { voters: { requiredMembers: m0().id } } }, "non-empty"],
      [required(m0().id, m0().id), "duplicates"],
      [required("not-an-id"), "not a member id"],
    ] as const) {
      const response = await putContract(newId("bad"), data);
      expect([response.status, errorCode(response)], JSON.stringify(data)).toEqual([400, "InvalidRequiredMembers"]);
      expect(JSON.stringify(response.body)).toContain(why);
    }
    // A draft written as a JSON string is read the same way (the reference's CLI passes --data through).
    const text = await putContract(newId("bad"), JSON.stringify(required(unknown)));
    expect(errorCode(text)).toBe("InvalidRequiredMembers");
  });

  it("a member still Accepted blocks contracts without requiredMembers (21)", async () => {
    const pending = await consortium.addMemberWithoutActivation("late");
    const id = newId("late");
    await putContract(id, {});
    const proposal = await propose(id);
    for (const m of [m0(), m1(), m2()]) await m.client.vote(proposal.proposalId, m.id, true);
    const contract = await getContract(id);
    expect(contract.state).toBe("Proposed");
    expect(contract.pendingVoters).toEqual([pending.id]);
    await pending.client.activate(pending.id);
    // Now Active and counted: its yes completes the unanimity.
    expect((await pending.client.vote(proposal.proposalId, pending.id, true)).value.proposalState).toBe("Accepted");
    const removal = (await m0().client.createProposal({ actions: [{ name: "remove_member", args: { member_id: pending.id } }] })).value;
    for (const m of [m0(), m1(), m2(), pending]) await m.client.vote(removal.proposalId, m.id, true);
    expect((await m0().client.proposal(removal.proposalId)).proposalState).toBe("Accepted");
  });
});

describe("contract runtime options (23-25, 27)", () => {
  it("execution consent needs an accepted contract and is per member (23, 24)", async () => {
    const draft = newId("consent-draft");
    await putContract(draft, {});
    const notAccepted = await call(m0(), "POST", `/app/contracts/${draft}/runtimeoptions/execution/disable`);
    expect([notAccepted.status, errorCode(notAccepted)]).toEqual([400, "ContractNotAccepted"]);
    const invalid = await call(m0(), "POST", `/app/contracts/${draft}/runtimeoptions/logging/enable`);
    expect([invalid.status, errorCode(invalid)]).toEqual([400, "InvalidOption"]);
    const unknownOption = await call(m0(), "POST", `/app/contracts/${draft}/runtimeoptions/other/status`);
    expect([unknownOption.status, errorCode(unknownOption)]).toEqual([400, "InvalidOption"]);

    const id = newId("consent");
    await acceptedContract(id);
    expect(await status(id, "execution")).toEqual({ status: "enabled" });
    await call(m0(), "POST", `/app/contracts/${id}/runtimeoptions/execution/disable`);
    const disabled = await status(id, "execution");
    expect(disabled).toMatchObject({ status: "disabled", reason: { code: "ContractDisabled" }, disabledBy: [m0().id] });
    expect(disabled.reason?.message.startsWith("Contract has been disabled by the following member(s): ")).toBe(true);
    await call(m1(), "POST", `/app/contracts/${id}/runtimeoptions/execution/enable`);
    expect((await status(id, "execution")).disabledBy).toEqual([m0().id]);
    await call(m1(), "POST", `/app/contracts/${id}/runtimeoptions/execution/disable`);
    expect((await status(id, "execution")).disabledBy?.sort()).toEqual([m0().id, m1().id].sort());
    await call(m0(), "POST", `/app/contracts/${id}/runtimeoptions/execution/enable`);
    const last = await call(m1(), "POST", `/app/contracts/${id}/runtimeoptions/execution/enable`);
    expect(last.body).toEqual({ status: "enabled" });
  });

  it("a removed member's disabled consent no longer counts", async () => {
    const id = newId("removed");
    await acceptedContract(id);
    const leaving = await consortium.addMember("leaving");
    expect((await call(leaving, "POST", `/app/contracts/${id}/runtimeoptions/execution/disable`)).status).toBe(200);
    expect((await status(id, "execution")).disabledBy).toEqual([leaving.id]);
    const removal = (await m0().client.createProposal({ actions: [{ name: "remove_member", args: { member_id: leaving.id } }] })).value;
    for (const m of [m0(), m1(), m2(), leaving]) await m.client.vote(removal.proposalId, m.id, true);
    expect(await status(id, "execution")).toEqual({ status: "enabled" });
  });

  it("logging is enabled by a unanimous proposal and disabled by any member at once (25)", async () => {
    const id = newId("logging");
    await acceptedContract(id);
    expect(await status(id, "logging")).toEqual({ status: "disabled", proposalIds: [] });
    const enable = (await m0().client.createProposal({ actions: [{ name: "set_contract_runtime_options_enable_logging", args: { contractId: id } }] })).value;
    await m0().client.vote(enable.proposalId, m0().id, true);
    expect(await status(id, "logging")).toEqual({ status: "disabled", proposalIds: [enable.proposalId] });
    await m1().client.vote(enable.proposalId, m1().id, true);
    await m2().client.vote(enable.proposalId, m2().id, true);
    expect(await status(id, "logging")).toEqual({ status: "enabled", proposalIds: [] });
    const disable = (await m2().client.createProposal({ actions: [{ name: "set_contract_runtime_options_disable_logging", args: { contractId: id } }] })).value;
    expect(disable.proposalState).toBe("Accepted");
    expect((await status(id, "logging")).status).toBe("disabled");
    expect((await status(id, "telemetry")).status).toBe("disabled");
  });

  it("refuses logging/telemetry proposals for a contract that is not accepted (27)", async () => {
    const id = newId("not-yet");
    await putContract(id, {});
    for (const name of ["set_contract_runtime_options_enable_logging", "set_contract_runtime_options_disable_telemetry"]) {
      const error = (await m0()
        .client.createProposal({ actions: [{ name, args: { contractId: id } }] })
        .catch((e: unknown) => e)) as { code: string; message: string };
      expect(error.code).toBe("ProposalFailedToValidate");
      expect(error.message).toContain(`can only be proposed once contract '${id}' has been accepted.`);
    }
  });
});

describe("clean-room policies (27, reference §3.6)", () => {
  const HOST_A = "73973b78d70cc68353426de188db5dfc57e5b766e399935fb73a61127ea26d20";
  const HOST_B = "7ec5120f0f497e22b18e59ed702ed82e2732562245c9a944f54cd41db4f491af";
  const policyOf = async (id: string) => CleanRoomPolicySchema.parse((await call(m1(), "GET", `/app/contracts/${id}/cleanroompolicy`)).body);
  const proposePolicy = (id: string, args: Record<string, unknown>) =>
    m0().client.createProposal({ actions: [{ name: "set_clean_room_policy", args: { contractId: id, ...args } }] });
  const unanimous = async (proposalId: string) => {
    for (const m of [m0(), m1(), m2()]) await m.client.vote(proposalId, m.id, true);
    return (await m0().client.proposal(proposalId)).proposalState;
  };

  it("can only be proposed once the contract is accepted (27)", async () => {
    const id = newId("policy-draft");
    await putContract(id, {});
    const error = (await proposePolicy(id, { type: "add", claims: { "x-ms-sevsnpvm-hostdata": HOST_A } }).catch((e: unknown) => e)) as { code: string; message: string };
    expect(error.code).toBe("ProposalFailedToValidate");
    expect(error.message).toContain(`set_clean_room_policy can only be proposed once contract '${id}' has been accepted.`);
  });

  it("adds and removes allowed values by unanimous, vetoable proposals; booleans replace", async () => {
    const id = newId("policy");
    await acceptedContract(id);
    expect(await policyOf(id)).toEqual({ proposalIds: [], policy: {}, policies: {} });
    const first = (await proposePolicy(id, { type: "add", claims: { "x-ms-sevsnpvm-hostdata": [HOST_A], "x-ms-sevsnpvm-is-debuggable": false } })).value;
    expect((await policyOf(id)).proposalIds).toEqual([first.proposalId]);
    expect(await unanimous(first.proposalId)).toBe("Accepted");
    expect((await policyOf(id)).policy).toEqual({ "x-ms-sevsnpvm-hostdata": [HOST_A], "x-ms-sevsnpvm-is-debuggable": [false] });

    const second = (await proposePolicy(id, { type: "add", claims: { "x-ms-sevsnpvm-hostdata": [HOST_A, HOST_B], "x-ms-sevsnpvm-is-debuggable": true } })).value;
    expect(await unanimous(second.proposalId)).toBe("Accepted");
    expect((await policyOf(id)).policy).toEqual({ "x-ms-sevsnpvm-hostdata": [HOST_A, HOST_B], "x-ms-sevsnpvm-is-debuggable": [true] });

    const vetoed = (await proposePolicy(id, { type: "remove", claims: { "x-ms-sevsnpvm-hostdata": HOST_B } })).value;
    expect((await m2().client.vote(vetoed.proposalId, m2().id, false)).value.proposalState).toBe("Rejected");

    const removal = (await proposePolicy(id, { type: "remove", claims: { "x-ms-sevsnpvm-hostdata": HOST_A, "x-ms-sevsnpvm-is-debuggable": true } })).value;
    expect(await unanimous(removal.proposalId)).toBe("Accepted");
    expect((await policyOf(id)).policy).toEqual({ "x-ms-sevsnpvm-hostdata": [HOST_B] });

    const jwt = (await proposePolicy(id, { type: "add", policyType: "jwt", claims: { sub: "workload", tid: ["t1", "t2"] } })).value;
    expect(await unanimous(jwt.proposalId)).toBe("Accepted");
    expect((await policyOf(id)).policies.jwt).toEqual({ sub: ["workload"], tid: ["t1", "t2"] });

    const events = EventListSchema.parse((await call(m0(), "GET", `/app/contracts/${id}/events?scope=governance&from_seqno=1`)).body).value;
    expect(events.filter((e) => (e.data as { type: string }).type === "contract.cleanroompolicy.changed")).toHaveLength(4);
  });

  it("refuses claims the verifiers never produce, malformed values and removals of absent values", async () => {
    const id = newId("policy-bad");
    await acceptedContract(id);
    for (const [args, why] of [
      [{ type: "add", claims: { "x-ms-sevsnpvm-reportid": "00" } }, "is not a snp-caci claim"],
      [{ type: "add", claims: { "vm-configuration-secure-boot": true } }, "is not a snp-caci claim"],
      [{ type: "add", claims: { "x-ms-sevsnpvm-hostdata": "ABC" } }, "64 lowercase hex"],
      [{ type: "add", claims: { "x-ms-sevsnpvm-hostdata": [] } }, "1 to 64 values"],
      [{ type: "add", claims: {} }, "at least one claim"],
      [{ type: "add", policyType: "snp-cvm", claims: { pcr0: "00" } }, "policyType must be one of"],
      [{ type: "replace", claims: { sub: "x" } }, "add or remove"],
      [{ type: "remove", claims: { "x-ms-sevsnpvm-hostdata": HOST_A } }, "no value"],
    ] as const) {
      const error = (await proposePolicy(id, args).catch((e: unknown) => e)) as { code: string; message: string };
      expect(error.code, JSON.stringify(args)).toBe("ProposalFailedToValidate");
      expect(error.message, JSON.stringify(args)).toContain(why);
    }
  });
});

describe("proposal hygiene and audit (55, 56)", () => {
  it("accepting a new constitution drops an open contract proposal (56)", async () => {
    const id = newId("dropped");
    await putContract(id, {});
    const proposal = await propose(id);
    const constitution = await m0().client.constitution();
    const change = (await m0().client.createProposal({ actions: [{ name: "set_constitution", args: { constitution: `${constitution}\n// v2\n` } }] })).value;
    for (const m of [m0(), m1(), m2()]) await m.client.vote(change.proposalId, m.id, true);
    expect((await m0().client.proposal(proposal.proposalId)).proposalState).toBe("Dropped");
    expect((await getContract(id)).state).toBe("Draft");
  });

  it("records every contract decision in the audit log, timestamped by the service", async () => {
    const id = newId("audited");
    await putContract(id, {});
    const rejected = await propose(id);
    await m1().client.vote(rejected.proposalId, m1().id, false);
    const accepted = await propose(id);
    for (const m of [m0(), m1(), m2()]) await m.client.vote(accepted.proposalId, m.id, true);
    await call(m2(), "POST", `/app/contracts/${id}/runtimeoptions/execution/disable`);
    const response = await call(m2(), "GET", `/app/contracts/${id}/events?scope=governance&from_seqno=1`);
    expect(response.status).toBe(200);
    const events = EventListSchema.parse(response.body).value;
    const types = events.map((e) => (e.data as { type: string }).type);
    expect(types).toEqual(["contract.proposed", "contract.rejected", "contract.proposed", "contract.accepted", "contract.consent.changed"]);
    expect(events[1]?.data).toMatchObject({ proposalId: rejected.proposalId, proposalState: "Rejected", finalVotes: { [m1().id]: false } });
    expect(events[4]?.data).toMatchObject({ actor: { kind: "member", id: m2().id }, option: "execution", status: "disabled" });
    // Without from_seqno only the latest matching event is returned (reference semantics).
    const latest = EventListSchema.parse((await call(m0(), "GET", `/app/contracts/${id}/events?scope=governance`)).body).value;
    expect(latest).toEqual([events[4]]);
    // Paging by seqno reaches the same events.
    const paged = [];
    let next: string | undefined = `/app/contracts/${id}/events?scope=governance&from_seqno=1&max_seqno_per_page=3`;
    while (next) {
      const page = EventListSchema.parse((await call(m0(), "GET", next)).body);
      paged.push(...page.value);
      next = page.nextLink;
    }
    expect(paged).toEqual(events);
    for (const event of events) {
      expect(event.writer).toEqual({ kind: "service", id: "governance" });
      expect(Math.abs(Date.parse(event.timestamp_iso) - Date.now())).toBeLessThan(60_000);
    }
  });
});
