// User documents with approvers (the new design): reference upstream-governance.md §2.6, §3.4 and §5 scenarios
// 44–54 (the attested fetch of accepted documents is built with attestation).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventListSchema, RuntimeOptionStatusSchema, UserDocumentListSchema, UserDocumentSchema, type UserDocument } from "@cleanroom/protocol";
import { acceptContract, enact } from "../support/app-fixtures.js";
import { appRequest, errorCode, type AppResponse, type RequestIdentity } from "../support/app-requests.js";
import { makeIdentity, startConsortium, type Consortium } from "../support/consortium.js";

let consortium: Consortium;
let u0: RequestIdentity & { id: string };
let u1: RequestIdentity & { id: string };
const CONTRACT = "collab";

const m0 = () => consortium.members[0]!;
const m1 = () => consortium.members[1]!;
const m2 = () => consortium.members[2]!;
let counter = 0;
const newId = (prefix: string) => `${prefix}-${++counter}`;

function call(who: RequestIdentity | undefined, method: string, path: string, body?: unknown): Promise<AppResponse> {
  return appRequest(consortium.service, who, method, path, body);
}

beforeAll(async () => {
  consortium = await startConsortium();
  u0 = await makeIdentity("u0");
  u1 = await makeIdentity("u1");
  for (const user of [u0, u1]) {
    await enact(consortium, [{ name: "set_user", args: { cert: user.certificatePem, user_data: { tenantId: "tenant", identifier: "user" } } }]);
  }
  await acceptContract(consortium, CONTRACT, { purpose: "documents" });
});
afterAll(() => consortium.close());

const docPath = (id: string, suffix = "") => `/app/contracts/${CONTRACT}/userdocuments/${id}${suffix}`;
const approvers = (...list: Array<[string, "member" | "user"]>) => list.map(([approverId, approverIdType]) => ({ approverId, approverIdType }));

async function show(id: string, who: RequestIdentity = m0()): Promise<UserDocument> {
  const response = await call(who, "GET", docPath(id));
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return UserDocumentSchema.parse(response.body);
}

async function approve(who: RequestIdentity, id: string, version: string, action: "accept" | "reject"): Promise<AppResponse> {
  return call(who, "POST", docPath(id, "/approval"), { version, action });
}

async function create(id: string, body: Record<string, unknown>, who: RequestIdentity = u0): Promise<string> {
  const response = await call(who, "PUT", docPath(id), { data: { kind: "dataset" }, ...body });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.transactionId as string;
}

describe("user documents", () => {
  it("a user creates a Draft with explicit approvers; the creator is recorded (44)", async () => {
    const id = newId("doc");
    const version = await create(id, { approvers: approvers([u1.id, "user"], [m0().id, "member"]), labels: { kind: "dataset" } });
    expect(await show(id, u1)).toMatchObject({
      id,
      contractId: CONTRACT,
      version,
      state: "Draft",
      approvers: approvers([u1.id, "user"], [m0().id, "member"]),
      approvals: [],
      pendingApprovers: approvers([u1.id, "user"], [m0().id, "member"]),
      proposerId: u0.id,
      proposerIdType: "user",
      labels: { kind: "dataset" },
    });
  });

  it("without approvers, every counted Active member is required, frozen at creation (45)", async () => {
    const id = newId("default");
    await create(id, {});
    const document = await show(id);
    expect(document.approvers.map((a) => a.approverId).sort()).toEqual([m0().id, m1().id, m2().id].sort());
    expect(document.approvers.every((a) => a.approverIdType === "member")).toBe(true);
  });

  it("Draft → Proposed → Accepted as approvers accept the current version (46)", async () => {
    const id = newId("flow");
    const version = await create(id, { approvers: approvers([m0().id, "member"], [u1.id, "user"]) });
    const first = await approve(m0(), id, version, "accept");
    expect(first.status).toBe(200);
    expect(UserDocumentSchema.parse(first.body)).toMatchObject({ state: "Proposed", pendingApprovers: approvers([u1.id, "user"]) });
    const second = UserDocumentSchema.parse((await approve(u1, id, version, "accept")).body);
    expect(second.state).toBe("Accepted");
    expect(second.pendingApprovers).toEqual([]);
    expect(second.approvals.map((a) => [a.approverId, a.action, a.version])).toEqual([
      [m0().id, "accept", version],
      [u1.id, "accept", version],
    ]);
    expect(second.approvals.every((a) => /^\d+\.\d+$/.test(a.transactionId))).toBe(true);
    expect(second.finalVotes).toEqual([
      { approverId: m0().id, ballot: "accepted" },
      { approverId: u1.id, ballot: "accepted" },
    ]);
  });

  it("any rejection is terminal, even after an accept (47)", async () => {
    const id = newId("reject");
    const version = await create(id, { approvers: approvers([m0().id, "member"], [u1.id, "user"], [m1().id, "member"]) });
    await approve(m0(), id, version, "accept");
    const rejected = UserDocumentSchema.parse((await approve(u1, id, version, "reject")).body);
    expect(rejected).toMatchObject({ state: "Rejected", pendingApprovers: [] });
    const late = await approve(m1(), id, version, "accept");
    expect([late.status, errorCode(late)]).toEqual([409, "UserDocumentRejected"]);
    const option = await call(m0(), "POST", docPath(id, "/runtimeoptions/execution/enable"));
    expect([option.status, errorCode(option)]).toEqual([400, "UserDocumentNotAccepted"]);
    const status = RuntimeOptionStatusSchema.parse((await call(m0(), "POST", docPath(id, "/runtimeoptions/execution/status"))).body);
    expect(status).toMatchObject({ status: "disabled", reason: { code: "UserDocumentRejected" } });
  });

  it("can be edited only while Draft (48)", async () => {
    const id = newId("edit");
    const version = await create(id, { approvers: approvers([m0().id, "member"], [m1().id, "member"]) });
    await approve(m0(), id, version, "accept");
    const edit = await call(u0, "PUT", docPath(id), { version, data: { changed: true } });
    expect([edit.status, errorCode(edit)]).toEqual([409, "UserDocumentNotDraft"]);
    await approve(m1(), id, version, "accept");
    const accepted = await call(u0, "PUT", docPath(id), { version, data: { changed: true } });
    expect([accepted.status, errorCode(accepted)]).toEqual([405, "UserDocumentAlreadyAccepted"]);
    expect((await show(id)).data).toEqual({ kind: "dataset" });
  });

  it("an approval of an older version is refused; the current one is accepted (49)", async () => {
    const id = newId("stale");
    const v1 = await create(id, { approvers: approvers([m0().id, "member"]) });
    const again = await call(u0, "PUT", docPath(id), { data: { kind: "dataset" } });
    expect([again.status, errorCode(again)]).toEqual([409, "UserDocumentAlreadyExists"]);
    const v2 = (await call(u0, "PUT", docPath(id), { version: v1, data: { kind: "dataset", v: 2 }, approvers: approvers([m0().id, "member"]) }))
      .transactionId as string;
    expect(v2).not.toBe(v1);
    const stale = await approve(m0(), id, v1, "accept");
    expect([stale.status, errorCode(stale)]).toEqual([412, "PreconditionFailed"]);
    expect((await show(id)).state).toBe("Draft");
    expect(UserDocumentSchema.parse((await approve(m0(), id, v2, "accept")).body).state).toBe("Accepted");
  });

  it("only approvers act, once each (50)", async () => {
    const id = newId("who");
    const version = await create(id, { approvers: approvers([m0().id, "member"], [u1.id, "user"]) });
    for (const outsider of [m2(), u0]) {
      const response = await approve(outsider, id, version, "accept");
      expect([response.status, errorCode(response)]).toEqual([403, "NotUserDocumentApprover"]);
    }
    expect((await approve(m0(), id, version, "accept")).status).toBe(200);
    const twice = await approve(m0(), id, version, "accept");
    expect([twice.status, errorCode(twice)]).toEqual([409, "ApprovalAlreadySubmitted"]);
    const changeMind = await approve(m0(), id, version, "reject");
    expect([changeMind.status, errorCode(changeMind)]).toEqual([409, "ApprovalAlreadySubmitted"]);
    await approve(u1, id, version, "accept");
    const toggle = await call(m2(), "POST", docPath(id, "/runtimeoptions/execution/disable"));
    expect([toggle.status, errorCode(toggle)]).toEqual([403, "NotUserDocumentApprover"]);
  });

  it("runtime options: any approver disables for everyone until they re-enable (51)", async () => {
    const id = newId("consent");
    const version = await create(id, { approvers: approvers([m0().id, "member"], [u1.id, "user"]) });
    const before = RuntimeOptionStatusSchema.parse((await call(m0(), "POST", docPath(id, "/runtimeoptions/execution/status"))).body);
    expect(before).toMatchObject({ status: "disabled", reason: { code: "UserDocumentNotAccepted" } });
    await approve(m0(), id, version, "accept");
    await approve(u1, id, version, "accept");
    for (const option of ["execution", "telemetry"]) {
      const statusOf = async () => RuntimeOptionStatusSchema.parse((await call(u0, "POST", docPath(id, `/runtimeoptions/${option}/status`))).body);
      expect(await statusOf()).toEqual({ status: "enabled" });
      await call(m0(), "POST", docPath(id, `/runtimeoptions/${option}/disable`));
      const disabled = await statusOf();
      expect(disabled).toMatchObject({ status: "disabled", reason: { code: "UserDocumentRuntimeOptionDisabled" }, disabledBy: [m0().id] });
      expect(disabled.reason?.message).toBe(
        `UserDocument runtime option '${option}' for document ${id} has been disabled by the following approver(s): ${m0().id}.`,
      );
      await call(u1, "POST", docPath(id, `/runtimeoptions/${option}/enable`));
      expect((await statusOf()).status).toBe("disabled");
      await call(m0(), "POST", docPath(id, `/runtimeoptions/${option}/enable`));
      expect(await statusOf()).toEqual({ status: "enabled" });
    }
    const logging = await call(m0(), "POST", docPath(id, "/runtimeoptions/logging/status"));
    expect([logging.status, errorCode(logging)]).toEqual([400, "InvalidUserDocumentRuntimeOption"]);
  });

  it("lists by label selector (53)", async () => {
    const shared = newId("shared");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = newId("labelled");
      ids.push(id);
      await create(id, { labels: { unique: id, shared } });
    }
    const list = async (selector: string) => {
      const response = await call(m0(), "GET", `/app/contracts/${CONTRACT}/userdocuments?labelSelector=${encodeURIComponent(selector)}`);
      return response.status === 200 ? UserDocumentListSchema.parse(response.body).value.map((d) => d.id) : errorCode(response);
    };
    expect(((await list(`shared:${shared}`)) as string[]).sort()).toEqual([...ids].sort());
    expect(await list(`unique:${ids[2]}`)).toEqual([ids[2]]);
    expect(await list(`unique:${ids[2]},shared:${shared}`)).toEqual([ids[2]]);
    expect(await list("unknown:label")).toEqual([]);
    expect(await list(`shared:nothing`)).toEqual([]);
    for (const invalid of ["name", ":value", "name:", "a:b,,c:d", "a b:c"]) expect(await list(invalid), invalid).toBe("InvalidParameter");
    // Documents of another contract are not listed under this one.
    const other = await call(m0(), "GET", `/app/contracts/other/userdocuments?labelSelector=shared:${shared}`);
    expect(UserDocumentListSchema.parse(other.body).value).toEqual([]);
  });

  it("needs an existing contract, data and matching contract ids (54)", async () => {
    const missing = await call(u0, "PUT", "/app/contracts/nope/userdocuments/d", { data: {} });
    expect([missing.status, errorCode(missing)]).toEqual([404, "ContractNotFound"]);
    const mismatch = await call(u0, "PUT", docPath("d"), { contractId: "other", data: {} });
    expect([mismatch.status, errorCode(mismatch)]).toEqual([400, "ContractIdMismatch"]);
    const noData = await call(u0, "PUT", docPath("d"), { labels: {} });
    expect([noData.status, errorCode(noData)]).toEqual([400, "DataMissing"]);
    const notFound = await call(u0, "GET", docPath("never"));
    expect([notFound.status, errorCode(notFound)]).toEqual([404, "UserDocumentNotFound"]);
    for (const bad of [[], approvers(["f".repeat(64), "member"]), approvers(["someone", "user"]), approvers([m0().id, "member"], [m0().id, "member"])]) {
      const response = await call(u0, "PUT", docPath(newId("bad")), { data: {}, approvers: bad });
      expect([response.status, errorCode(response)], JSON.stringify(bad)).toEqual([400, "InvalidApprovers"]);
    }
  });

  it("audits approvals, rejections, acceptance and consent changes", async () => {
    const id = newId("audit");
    const version = await create(id, { approvers: approvers([m0().id, "member"], [u1.id, "user"]) });
    await approve(m0(), id, version, "accept");
    await approve(u1, id, version, "accept");
    await call(u1, "POST", docPath(id, "/runtimeoptions/telemetry/disable"));
    const response = await call(m1(), "GET", `/app/contracts/${CONTRACT}/events?scope=governance&from_seqno=1`);
    const events = EventListSchema.parse(response.body).value.filter((e) => (e.data as { documentId?: string }).documentId === id);
    expect(events.map((e) => [(e.data as { type: string }).type, (e.data as { actor?: { id: string } }).actor?.id])).toEqual([
      ["userdocument.approved", m0().id],
      ["userdocument.approved", u1.id],
      ["userdocument.accepted", undefined],
      ["userdocument.consent.changed", u1.id],
    ]);
  });
});
