// The checks a clean room makes through GovernanceLink before it runs a query (reference upstream-spark-analytics.md
// §2.5, §3.3): the accepted documents with their owners and ballots, a document's approval status, and whether its
// caller is active — by the TLS client certificate it presented, or by the bearer token it forwarded. Against a real
// governance service, with the workload attested by the virtual platform as in sidecar.test.ts.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostDataOfConfiguration, type VirtualPlatform } from "@cleanroom/attestation";
import { ApiError, AcceptedUserDocumentSchema, UserDocumentApprovalStatusSchema } from "@cleanroom/protocol";
import { GovernanceLink, virtualPlatformSource, WorkloadKey } from "@cleanroom/runtime";
import { acceptContract, acceptedDocument, approversOf, createDocument, documentPath, enact, memberActor } from "../support/app-fixtures.js";
import { appRequest } from "../support/app-requests.js";
import { makeIdentity, startConsortium, type Consortium } from "../support/consortium.js";
import { expectServiceError } from "../support/expect-error.js";
import { startOidcProvider, type TestOidcProvider } from "../support/oidc-provider.js";
import { virtualWorkloads } from "../support/virtual-workloads.js";

const CONTRACT = "link-checks";
const AGENT_CONFIG = JSON.stringify({ workload: "agent", image: "cleanroom/agent@sha256:3333" });
const OTHER_CONFIG = JSON.stringify({ workload: "agent", image: "cleanroom/agent@sha256:4444" });
const ALICE = { clientId: "alice", oid: "oid-alice", tid: "tenant-alice" };
const MALLORY = { clientId: "mallory", oid: "oid-mallory", tid: "tenant-alice" };

let consortium: Consortium;
let platform: VirtualPlatform;
let idp: TestOidcProvider;
let agent: GovernanceLink;
let impostor: GovernanceLink;
const links: GovernanceLink[] = [];
const m0 = () => consortium.members[0]!;
const m1 = () => consortium.members[1]!;

function linkFor(configuration: string, url = consortium.service.url): GovernanceLink {
  const link = new GovernanceLink({
    url,
    serviceCertificatePem: consortium.service.serviceCertificatePem,
    contractId: CONTRACT,
    key: WorkloadKey.generate(),
    source: virtualPlatformSource(platform, configuration),
  });
  links.push(link);
  return link;
}

/** Awaits a call that must fail locally with this catalogued code (not a service answer). */
async function expectApiError(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(ApiError);
  expect((error as ApiError).code).toBe(code);
}

beforeAll(async () => {
  const virtual = await virtualWorkloads();
  platform = virtual.platform;
  idp = await startOidcProvider({ clients: [ALICE, MALLORY] });
  consortium = await startConsortium({ service: virtual.trusting });
  await acceptContract(consortium, CONTRACT);
  await enact(consortium, [
    { name: "set_clean_room_policy", args: { contractId: CONTRACT, type: "add", claims: { "x-ms-sevsnpvm-hostdata": hostDataOfConfiguration(AGENT_CONFIG) } } },
    { name: "set_jwt_issuer", args: { issuer: idp.issuer, auto_refresh: true, ca_cert_bundle: idp.certificatePem } },
    { name: "set_user_identity", args: { id: ALICE.oid, data: { tenantId: ALICE.tid } } },
  ]);
  agent = linkFor(AGENT_CONFIG);
  impostor = linkFor(OTHER_CONFIG);
});
afterAll(async () => {
  for (const link of links) link.close();
  await consortium?.close();
  await idp?.stop();
});

describe("GovernanceLink: the checks before a run", () => {
  it("fetches an accepted document parsed, with its owner and every approver's ballot", async () => {
    const version = await acceptedDocument(consortium, m1(), CONTRACT, "sales", [memberActor(m0())]);
    const document = await agent.acceptedDocument("sales");
    expect(AcceptedUserDocumentSchema.parse(document)).toEqual(document);
    expect(document).toEqual({
      id: "sales",
      contractId: CONTRACT,
      version,
      data: { documentId: "sales" },
      labels: {},
      approvers: approversOf(memberActor(m0())),
      state: "Accepted",
      proposerId: m1().id,
      proposerIdType: "member",
      finalVotes: [{ approverId: m0().id, ballot: "accepted" }],
    });
    await expectServiceError(agent.acceptedDocument("no-such-document"), 404, "UserDocumentNotFound");
    await expectServiceError(impostor.acceptedDocument("sales"), 400, "VerifySnpAttestationFailed");
  });

  it("reads the approval status of a document that is not accepted yet: who is still pending", async () => {
    const approvers = approversOf(memberActor(m0()), memberActor(m1()));
    const version = await createDocument(consortium, m1(), CONTRACT, "pending-query", { approvers, labels: { kind: "query" } });
    const draft = await agent.documentApprovalStatus("pending-query");
    expect(UserDocumentApprovalStatusSchema.parse(draft)).toEqual(draft);
    expect(draft).toMatchObject({ id: "pending-query", state: "Draft", version, approvals: [], pendingApprovers: approvers, proposerId: m1().id, labels: { kind: "query" } });
    expect(draft).not.toHaveProperty("data");
    const approval = await appRequest(consortium.service, m0(), "POST", documentPath(CONTRACT, "pending-query", "/approval"), { version, action: "accept" });
    expect(approval.status).toBe(200);
    const proposed = await agent.documentApprovalStatus("pending-query");
    expect(proposed).toMatchObject({ state: "Proposed", pendingApprovers: approversOf(memberActor(m1())), approvals: [{ approverId: m0().id, action: "accept", version }] });
    await expectServiceError(agent.documentApprovalStatus("no-such-document"), 404, "UserDocumentNotFound");
    await expectServiceError(impostor.documentApprovalStatus("pending-query"), 400, "VerifySnpAttestationFailed");
  });

  it("checks a caller's certificate: an Active member's is active, an unknown one is the service's 403", async () => {
    expect(await agent.certificateCallerStatus(m0().certificatePem)).toEqual({ active: true, kind: "member", id: m0().id, authenticatedBy: "certificate", tenantId: "tenant" });
    const stranger = await makeIdentity("stranger");
    await expectServiceError(agent.certificateCallerStatus(stranger.certificatePem), 403, "CertificateNotRegistered");
    await expectServiceError(agent.certificateCallerStatus("not a certificate"), 400, "InvalidInput");
    await expectServiceError(impostor.certificateCallerStatus(m0().certificatePem), 400, "VerifySnpAttestationFailed");
  });

  it("checks a caller's forwarded token: a registered user is active; an invalid token is the service's refusal", async () => {
    expect(await agent.tokenCallerStatus(await idp.token(ALICE.clientId))).toEqual({ active: true, kind: "user", id: ALICE.oid, authenticatedBy: "jwt", tenantId: ALICE.tid });
    await expectServiceError(agent.tokenCallerStatus(await idp.token(MALLORY.clientId)), 403, "CallerNotAuthorized");
    await expectServiceError(agent.tokenCallerStatus("not-a-jwt"), 401, "InvalidAuthenticationInfo");
    await expectServiceError(agent.tokenCallerStatus(""), 401, "InvalidAuthenticationInfo");
    // A token no HTTP header can carry gets the service's code without being sent (Node would throw instead).
    await expectApiError(agent.tokenCallerStatus("line\nbreak"), "InvalidAuthenticationInfo");
  });

  it("reports an unreachable governance service as GovernanceUnavailable from each check", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = linkFor(AGENT_CONFIG, `https://127.0.0.1:${deadPort}`);
    await expectApiError(unreachable.acceptedDocument("sales"), "GovernanceUnavailable");
    await expectApiError(unreachable.documentApprovalStatus("sales"), "GovernanceUnavailable");
    await expectApiError(unreachable.certificateCallerStatus(m0().certificatePem), "GovernanceUnavailable");
    await expectApiError(unreachable.tokenCallerStatus("any-token"), "GovernanceUnavailable");
  });
});
