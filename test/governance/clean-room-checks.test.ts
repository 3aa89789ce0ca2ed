// What a clean room asks governance before it runs a query (reference upstream-spark-analytics.md §2.5, §3.2, §3.3),
// with two workloads on a virtual SEV-SNP platform: the agent (admitted by the contract's clean-room policy) and an
// outsider (not admitted).
// - Caller checks: is the TLS client certificate the agent's caller presented an Active member's or a certificate
//   user's? Signed by the attested workload key, answered as a TLS client with that certificate would be.
// - Approval status: where a document stands in its approval (any state, without its data), so the agent can name
//   the owners who have not approved a query.
// - The accepted-document fetch carries the owner and every ballot, for the agent's own approval check.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AcceptedUserDocumentSchema,
  CallerStatusSchema,
  UserDocumentApprovalStatusSchema,
  type UserDocument,
} from "@cleanroom/protocol";
import {
  acceptContract,
  acceptedDocument,
  approversOf,
  createDocument,
  documentPath,
  enact,
  expectAuditedRefusal,
  lastTransactionId,
  memberActor,
  NO_TIMED_SIGNATURES,
  outcome,
  readDocument,
  type Actor,
} from "../support/app-fixtures.js";
import { appRequest, type AppResponse } from "../support/app-requests.js";
import { makeIdentity, startConsortium, type Consortium, type TestIdentity } from "../support/consortium.js";
import { base64, rsaPublicKeyPem, virtualWorkloads, type Workload } from "../support/virtual-workloads.js";

const CONTRACT = "checks";
const OTHER = "other-checks";
const UNPOLICED = "unpoliced-checks";
const HOSTDATA = "x-ms-sevsnpvm-hostdata";

let consortium: Consortium;
let agent: Workload;
let outsider: Workload;
let certUser: Actor;
let notActivated: TestIdentity;
const m0 = () => consortium.members[0]!;
const m1 = () => consortium.members[1]!;

const call = (method: string, path: string, body?: unknown): Promise<AppResponse> => appRequest(consortium.service, undefined, method, path, body);
const policyFor = (contractId: string, hostData: string) => ({ name: "set_clean_room_policy", args: { contractId, type: "add", claims: { [HOSTDATA]: hostData } } });

/** `{attestation, sign, data}`: the workload's signed request, its report binding the signing key (as for events). */
function signedBy(workload: Workload, payload: unknown): { attestation: unknown; sign: { signature: string; publicKey: string }; data: string } {
  const { attestation, sign, data } = workload.signed(payload);
  return { attestation, sign, data };
}
const checkCaller = (body: unknown, contractId = CONTRACT) => call("POST", `/app/contracts/${contractId}/callers/status`, body);
const checkCertificate = (workload: Workload, certificate: string, contractId = CONTRACT) => checkCaller(signedBy(workload, { certificate }), contractId);

/** A request that must not write anything: no audit record, no transaction. */
async function expectNoWrite(request: () => Promise<AppResponse>): Promise<AppResponse> {
  const before = await lastTransactionId(consortium);
  const response = await request();
  expect(await lastTransactionId(consortium), JSON.stringify(response.body)).toBe(before);
  return response;
}

/** What a TLS client presenting `identity`'s certificate is told by `POST /app/users/identities/self/status`. */
async function selfStatus(identity: Pick<Actor, "certificatePem" | "keys">): Promise<unknown> {
  const response = await appRequest(consortium.service, identity, "POST", "/app/users/identities/self/status");
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

beforeAll(async () => {
  const virtual = await virtualWorkloads("agent", "outsider");
  [agent, outsider] = virtual.workloads as [Workload, Workload];
  consortium = await startConsortium({ service: { ...virtual.trusting, ...NO_TIMED_SIGNATURES } });
  for (const contractId of [CONTRACT, OTHER, UNPOLICED]) await acceptContract(consortium, contractId);
  const user = await makeIdentity("cert-user");
  certUser = { certificatePem: user.certificatePem, keys: user.keys, id: user.id, kind: "user" };
  await enact(consortium, [
    policyFor(CONTRACT, agent.hostData),
    policyFor(OTHER, agent.hostData),
    { name: "set_user", args: { cert: user.certificatePem, user_data: { tenantId: "tenant-u", identifier: "cert-user" } } },
  ]);
  // Added last: no contract can be accepted while a member is still Accepted.
  notActivated = await consortium.addMemberWithoutActivation("not-activated");
});
afterAll(() => consortium?.close());

describe("caller checks by certificate (POST /app/contracts/{c}/callers/status)", () => {
  it("answers for an Active member's and a certificate user's certificate exactly as self/status answers the TLS client", async () => {
    for (const identity of [memberActor(m0()), certUser]) {
      const response = await expectNoWrite(() => checkCertificate(agent, identity.certificatePem!));
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(CallerStatusSchema.parse(response.body)).toMatchObject({ active: true, kind: identity.kind, id: identity.id, authenticatedBy: "certificate" });
      expect(response.body).toEqual(await selfStatus(identity));
    }
  });

  it("answers 403 for an unknown certificate and for a member who has not activated, writing nothing", async () => {
    const stranger = await makeIdentity("stranger");
    const unknown = await expectNoWrite(() => checkCertificate(agent, stranger.certificatePem));
    expect(outcome(unknown)).toBe("403 CertificateNotRegistered");
    expect(JSON.stringify(unknown.body)).toContain(stranger.id);
    const inactive = await expectNoWrite(() => checkCertificate(agent, notActivated.certificatePem));
    expect(outcome(inactive)).toBe("403 MemberNotActive");
  });

  it("refuses what is not exactly one PEM certificate with InvalidInput, writing nothing", async () => {
    const pem = m0().certificatePem;
    const cases: Array<[string, string]> = [
      ["not PEM", "hello"],
      ["a public key", rsaPublicKeyPem()],
      ["a corrupted body", pem.replace(/(-----BEGIN CERTIFICATE-----\n)..../, "$1AAAA")],
      ["a bundle of two", `${pem}${certUser.certificatePem!}`],
      ["trailing data", `${pem}trailing`],
    ];
    for (const [what, certificate] of cases) {
      expect(outcome(await expectNoWrite(() => checkCertificate(agent, certificate))), what).toBe("400 InvalidInput");
    }
  });

  it("refuses malformed requests with the reference's codes before any verification, writing nothing", async () => {
    const valid = signedBy(agent, { certificate: m0().certificatePem });
    const cases: Array<[string, unknown, string]> = [
      ["no attestation", { ...valid, attestation: undefined }, "400 AttestationMissing"],
      ["another platform", { ...valid, platform: "tdx" }, "400 UnsupportedPlatform"],
      ["no sign", { ...valid, sign: undefined }, "400 SignatureMissing"],
      ["no data", { ...valid, data: undefined }, "400 DataMissing"],
      ["an unknown field", { ...valid, encrypt: { publicKey: valid.sign.publicKey } }, "400 InvalidInput"],
    ];
    for (const [what, body, expected] of cases) expect(outcome(await expectNoWrite(() => checkCaller(body))), what).toBe(expected);
  });

  it("refuses a workload outside the clean-room policy, another key's signature, tampered data and an unbound report, auditing each", async () => {
    const certificate = m0().certificatePem;
    const denied = await expectAuditedRefusal(consortium, CONTRACT, () => checkCertificate(outsider, certificate), "400 VerifySnpAttestationFailed", "contract.callerstatus.denied");
    expect(denied.data).toMatchObject({ code: "VerifySnpAttestationFailed" });
    const valid = signedBy(agent, { certificate });
    // The attested key is named, but another key made the signature.
    const forged = { ...valid, sign: { ...valid.sign, signature: outsider.key.sign(Buffer.from(valid.data, "base64")).toString("base64") } };
    await expectAuditedRefusal(consortium, CONTRACT, () => checkCaller(forged), "400 SignatureMismatch", "contract.callerstatus.denied");
    const tampered = { ...valid, data: base64(JSON.stringify({ certificate: certUser.certificatePem })) };
    await expectAuditedRefusal(consortium, CONTRACT, () => checkCaller(tampered), "400 SignatureMismatch", "contract.callerstatus.denied");
    // Signed with the outsider's own key, under the agent's report (bound to the agent's key).
    const unbound = { ...signedBy(outsider, { certificate }), attestation: agent.evidence() };
    await expectAuditedRefusal(consortium, CONTRACT, () => checkCaller(unbound), "400 ReportDataMismatch", "contract.callerstatus.denied");
    const shaped = signedBy(agent, { certificate, also: "this" });
    await expectAuditedRefusal(consortium, CONTRACT, () => checkCaller(shaped), "400 InvalidInput", "contract.callerstatus.denied");
    await expectAuditedRefusal(consortium, UNPOLICED, () => checkCertificate(agent, certificate, UNPOLICED), "400 VerifySnpAttestationFailed", "contract.callerstatus.denied");
  });
});

describe("approval status of user documents (POST …/userdocuments/{d}/approvalstatus)", () => {
  const status = (workload: Workload, documentId: string, contractId = CONTRACT) => call("POST", documentPath(contractId, documentId, "/approvalstatus"), workload.release());
  const approvers = () => [memberActor(m0()), memberActor(m1())];
  const approve = async (documentId: string, version: string, approver: Actor, action: "accept" | "reject" = "accept") => {
    const response = await appRequest(consortium.service, approver, "POST", documentPath(CONTRACT, documentId, "/approval"), { version, action });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  };
  /** The members' view of the document without what the status leaves out (data, finalVotes). */
  const statusOf = ({ data: _data, finalVotes: _finalVotes, ...rest }: UserDocument) => rest;

  beforeAll(async () => {
    // Owned by m1, approved by m0 and m1.
    const writer = m1();
    await createDocument(consortium, writer, CONTRACT, "draft", { approvers: approversOf(...approvers()), labels: { kind: "query" }, data: { secret: "sql" } });
    const proposed = await createDocument(consortium, writer, CONTRACT, "proposed", { approvers: approversOf(...approvers()) });
    await approve("proposed", proposed, memberActor(m0()));
    await acceptedDocument(consortium, writer, CONTRACT, "accepted-doc", approvers());
    const rejected = await createDocument(consortium, writer, CONTRACT, "rejected", { approvers: approversOf(...approvers()) });
    await approve("rejected", rejected, memberActor(m1()), "reject");
    await acceptedDocument(consortium, m0(), OTHER, "elsewhere", [memberActor(m0())]);
  });

  it("answers in every state with who must approve, who did and who has not, never the data, and writes nothing", async () => {
    const expectedPending = { draft: approvers(), proposed: [memberActor(m1())], "accepted-doc": [], rejected: [] };
    for (const [documentId, pending] of Object.entries(expectedPending)) {
      const response = await expectNoWrite(() => status(agent, documentId));
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      const answer = UserDocumentApprovalStatusSchema.parse(response.body);
      expect(answer.pendingApprovers, documentId).toEqual(approversOf(...pending));
      expect(answer).toMatchObject({ proposerId: m1().id, proposerIdType: "member" });
      expect(response.body, documentId).toEqual(statusOf(await readDocument(consortium, m0(), CONTRACT, documentId)));
      expect(response.body).not.toHaveProperty("data");
    }
    const proposed = UserDocumentApprovalStatusSchema.parse((await status(agent, "proposed")).body);
    expect(proposed).toMatchObject({ state: "Proposed", approvals: [{ approverId: m0().id, approverIdType: "member", action: "accept" }] });
    expect(UserDocumentApprovalStatusSchema.parse((await status(agent, "draft")).body)).toMatchObject({ state: "Draft", labels: { kind: "query" }, approvals: [] });
  });

  it("refuses unknown documents, another contract's, and workloads outside the policy, auditing each", async () => {
    const unknown = await expectAuditedRefusal(consortium, CONTRACT, () => status(agent, "no-such-document"), "404 UserDocumentNotFound", "userdocument.denied");
    expect(unknown.data).toMatchObject({ documentId: "no-such-document", read: "approvalstatus" });
    await expectAuditedRefusal(consortium, CONTRACT, () => status(agent, "elsewhere"), "400 ContractIdMismatch", "userdocument.denied");
    await expectAuditedRefusal(consortium, CONTRACT, () => status(outsider, "proposed"), "400 VerifySnpAttestationFailed", "userdocument.denied");
    const unbound = { attestation: agent.evidence(), encrypt: { publicKey: base64(rsaPublicKeyPem()) } };
    await expectAuditedRefusal(consortium, CONTRACT, () => call("POST", documentPath(CONTRACT, "proposed", "/approvalstatus"), unbound), "400 ReportDataMismatch", "userdocument.denied");
    expect(outcome(await expectNoWrite(() => call("POST", documentPath(CONTRACT, "proposed", "/approvalstatus"), { attestation: agent.evidence() })))).toBe("400 EncryptionMissing");
  });

  it("keeps `…/accepted/approvalstatus` the fetch of an accepted document named 'approvalstatus'", async () => {
    await acceptedDocument(consortium, m1(), CONTRACT, "approvalstatus", [memberActor(m0())]);
    const fetched = await call("POST", documentPath(CONTRACT, "accepted", "/approvalstatus"), agent.release());
    expect(fetched.status, JSON.stringify(fetched.body)).toBe(200);
    const document = AcceptedUserDocumentSchema.parse(JSON.parse(agent.unwrap((fetched.body as { value: string }).value).toString("utf8")));
    expect(document.id).toBe("approvalstatus");
    const itsStatus = await status(agent, "approvalstatus");
    expect(UserDocumentApprovalStatusSchema.parse(itsStatus.body)).toMatchObject({ id: "approvalstatus", state: "Accepted" });
  });
});

describe("accepted documents carry their owner and ballots", () => {
  it("names the owner even when it is not an approver, and every approver's ballot", async () => {
    await acceptedDocument(consortium, m1(), CONTRACT, "owned-by-m1", [memberActor(m0()), certUser]);
    const fetched = await call("POST", documentPath(CONTRACT, "accepted", "/owned-by-m1"), agent.release());
    expect(fetched.status, JSON.stringify(fetched.body)).toBe(200);
    const document = AcceptedUserDocumentSchema.parse(JSON.parse(agent.unwrap((fetched.body as { value: string }).value).toString("utf8")));
    expect(document).toMatchObject({
      proposerId: m1().id,
      proposerIdType: "member",
      approvers: approversOf(memberActor(m0()), certUser),
      finalVotes: [
        { approverId: m0().id, ballot: "accepted" },
        { approverId: certUser.id, ballot: "accepted" },
      ],
    });
  });
});
