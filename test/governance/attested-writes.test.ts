// What attested clean rooms write and fetch (reference §2.3, §2.4, §2.6, §5 scenarios 33, 35–39, 52): signed events,
// secrets of their own, and accepted user documents — with two workloads on a virtual SEV-SNP platform, S1 (host
// data H1, admitted by the contract's policy) and S2 (H2, admitted only where S1 delegates to it). Also: only a
// service told to trust the virtual platform accepts its reports.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGovernanceService } from "@cleanroom/governance";
import { AcceptedUserDocumentSchema, EventListSchema, type AuditEvent } from "@cleanroom/protocol";
import { openSecret } from "../../packages/governance/src/governance/secrets.js";
import {
  acceptContract,
  acceptedDocument,
  approversOf,
  createDocument,
  documentPath,
  enact,
  expectAuditedRefusal,
  governanceEvents,
  lastTransactionId,
  memberActor,
  NO_TIMED_SIGNATURES,
  outcome,
} from "../support/app-fixtures.js";
import { appRequest, errorCode, type AppResponse } from "../support/app-requests.js";
import { makeIdentity, startConsortium, type Consortium } from "../support/consortium.js";
import { startOidcProvider } from "../support/oidc-provider.js";
import { base64, rsaPublicKeyPem, virtualWorkloads, type Workload } from "../support/virtual-workloads.js";

const CONTRACT = "attested-writes";
const OTHER = "other-contract";
const HOSTDATA = "x-ms-sevsnpvm-hostdata";

let consortium: Consortium;
let s1: Workload;
let s2: Workload;
let trusting: Awaited<ReturnType<typeof virtualWorkloads>>["trusting"];
const m0 = () => consortium.members[0]!;

const call = (method: string, path: string, body?: unknown): Promise<AppResponse> => appRequest(consortium.service, undefined, method, path, body);
const eventsPath = (query = "", contractId = CONTRACT) => `/app/contracts/${contractId}/events${query}`;
const readEvents = async (query: string): Promise<AuditEvent[]> => {
  const response = await appRequest(consortium.service, m0(), "GET", eventsPath(query));
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return EventListSchema.parse(response.body).value;
};
const policyFor = (contractId: string, hostData: string) => ({ name: "set_clean_room_policy", args: { contractId, type: "add", claims: { [HOSTDATA]: hostData } } });

beforeAll(async () => {
  const virtual = await virtualWorkloads("s1", "s2");
  [s1, s2] = virtual.workloads as [Workload, Workload];
  trusting = virtual.trusting;
  consortium = await startConsortium({ service: { ...trusting, ...NO_TIMED_SIGNATURES } });
  await acceptContract(consortium, CONTRACT);
  await acceptContract(consortium, OTHER);
  await enact(consortium, [policyFor(CONTRACT, s1.hostData), policyFor(OTHER, s1.hostData)]);
});
afterAll(() => consortium?.close());

describe("events written by attested clean rooms (35–39)", () => {
  const SCOPE = "spark";

  it("lists nothing before any event (35)", async () => {
    expect(await readEvents(`?scope=${SCOPE}`)).toEqual([]);
  });

  it("stores S1's signed events with the clean room as writer; latest, all, and paged reads agree (35, 39)", async () => {
    for (const n of [1, 2, 3, 4]) {
      const response = await call("PUT", eventsPath(`?scope=${SCOPE}`), s1.event({ n }, `${1_700_000_000_000 + n}`));
      expect(response.status, JSON.stringify(response.body)).toBe(204);
    }
    const all = await readEvents(`?scope=${SCOPE}&from_seqno=1`);
    expect(all.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    expect(all[0]).toMatchObject({
      id: CONTRACT,
      scope: SCOPE,
      writer: { kind: "cleanroom", id: s1.hostData, hostData: s1.hostData, attestationMode: "virtual-platform", timestamp: "1700000000001" },
    });
    expect(await readEvents(`?scope=${SCOPE}`)).toEqual([all[3]]);
    const paged: AuditEvent[] = [];
    let next: string | undefined = eventsPath(`?scope=${SCOPE}&from_seqno=1&max_seqno_per_page=2`);
    while (next) {
      const page = EventListSchema.parse((await appRequest(consortium.service, m0(), "GET", next)).body);
      paged.push(...page.value);
      next = page.nextLink;
    }
    expect(paged).toEqual(all);
    // An explicit id (39), and a timestamp of fewer digits, zero-padded as the reference stores it.
    expect((await call("PUT", eventsPath(`?scope=${SCOPE}&id=job-7`), s1.event({ job: 7 }, "42"))).status).toBe(204);
    expect(await readEvents(`?scope=${SCOPE}&id=job-7`)).toMatchObject([{ id: "job-7", data: { job: 7 }, writer: { timestamp: "0000000000042" } }]);
  });

  it("refuses malformed attested writes with the reference's codes, writing nothing (36)", async () => {
    const valid = s1.event({ refused: true });
    const cases: Array<[string, unknown, string]> = [
      ["no attestation", { ...valid, attestation: undefined }, "400 AttestationMissing"],
      ["no sign", { ...valid, sign: undefined }, "400 SignatureMissing"],
      ["no signature", { ...valid, sign: { publicKey: valid.sign.publicKey } }, "400 SignatureMissing"],
      ["no timestamp", { ...valid, timestamp: undefined }, "400 TimestampMissing"],
      ["timestamp 10^13", { ...valid, timestamp: "10000000000000" }, "400 TimestampTooLarge"],
      ["timestamp not digits", { ...valid, timestamp: "1.5e12" }, "400 InvalidInput"],
      ["no data", { ...valid, data: undefined }, "400 DataMissing"],
      ["the governance scope", valid, "400 ReservedEventScope"],
    ];
    for (const [what, body, expected] of cases) {
      const before = await lastTransactionId(consortium);
      const query = what === "the governance scope" ? "?scope=governance" : `?scope=${SCOPE}`;
      expect(outcome(await call("PUT", eventsPath(query), body)), what).toBe(expected);
      expect(await lastTransactionId(consortium), what).toBe(before);
    }
  });

  it("refuses tampered data, a report bound to another key, and a workload not admitted, auditing each (36)", async () => {
    const valid = s1.event({ amount: 1 });
    const tampered = { ...valid, data: base64(JSON.stringify({ amount: 1_000_000 })) };
    const refusal = await expectAuditedRefusal(consortium, CONTRACT, () => call("PUT", eventsPath(`?scope=${SCOPE}&id=x`), tampered), "400 SignatureMismatch", "contract.event.denied");
    expect(refusal.data).toMatchObject({ id: "x", scope: SCOPE, reason: "Signature verification was not successful." });
    const unbound = { ...valid, attestation: s1.evidence(rsaPublicKeyPem()) };
    await expectAuditedRefusal(consortium, CONTRACT, () => call("PUT", eventsPath(`?scope=${SCOPE}`), unbound), "400 ReportDataMismatch", "contract.event.denied");
    await expectAuditedRefusal(consortium, CONTRACT, () => call("PUT", eventsPath(`?scope=${SCOPE}`), s2.event({ from: "s2" })), "400 VerifySnpAttestationFailed", "contract.event.denied");
    expect((await readEvents(`?scope=${SCOPE}&from_seqno=1`)).map((e) => e.data)).not.toContainEqual({ amount: 1_000_000 });
  });

  it("lets S2 write while S1 delegates events/writer to H2, and not after (38)", async () => {
    const delegate = (type: "add" | "remove") =>
      call("PUT", `/app/contracts/${CONTRACT}/cleanroompolicy/delegates/events/writer`, s1.signed({ type, claims: { [HOSTDATA]: s2.hostData } }));
    expect((await delegate("add")).status).toBe(200);
    const listed = await appRequest(consortium.service, m0(), "GET", `/app/contracts/${CONTRACT}/cleanroompolicy/delegates`);
    expect(listed.body).toEqual({ value: [{ delegateType: "events", delegateId: "writer" }] });
    expect((await call("PUT", eventsPath(`?scope=${SCOPE}&id=s2`), s2.event({ from: "s2" }))).status).toBe(204);
    expect(await readEvents(`?scope=${SCOPE}&id=s2`)).toMatchObject([{ data: { from: "s2" }, writer: { kind: "cleanroom", hostData: s2.hostData } }]);

    expect((await delegate("remove")).status).toBe(200);
    await expectAuditedRefusal(consortium, CONTRACT, () => call("PUT", eventsPath(`?scope=${SCOPE}&id=s2`), s2.event({ again: true })), "400 VerifySnpAttestationFailed", "contract.event.denied");
    expect((await call("PUT", eventsPath(`?scope=${SCOPE}&id=s1`), s1.event({ still: "s1" }))).status).toBe(204);
  });

  it("keeps the member and user branch as it was: strict body, caller recorded", async () => {
    const strict = await appRequest(consortium.service, m0(), "PUT", eventsPath(`?scope=${SCOPE}`), { data: {}, attestation: s1.evidence() });
    expect([strict.status, errorCode(strict)]).toEqual([400, "InvalidInput"]);
    expect((await appRequest(consortium.service, m0(), "PUT", eventsPath(`?scope=${SCOPE}&id=member`), { data: { by: "m0" } })).status).toBe(204);
    expect(await readEvents(`?scope=${SCOPE}&id=member`)).toMatchObject([{ writer: { kind: "member", id: m0().id } }]);
  });
});

describe("secrets written by attested clean rooms (33)", () => {
  const key = () => ({ key: consortium.service.identity.secretsKey, keyId: consortium.service.identity.secretsKeyId });
  const putSecret = (workload: Workload, name: string, payload: unknown) => call("PUT", `/app/contracts/${CONTRACT}/secrets/${name}`, workload.signed(payload));

  it("stores them sealed as cleanroom_<name>, audited with the clean room as actor, and releases them like any secret", async () => {
    const response = await putSecret(s1, "checkpoint", { value: "checkpoint-key" });
    expect([response.status, response.body]).toEqual([200, { secretId: "cleanroom_checkpoint" }]);
    expect(openSecret(consortium.service.ledger, key(), CONTRACT, "cleanroom_checkpoint")).toBe("checkpoint-key");
    expect((await governanceEvents(consortium, CONTRACT)).at(-1)?.data).toMatchObject({
      type: "contract.secret.set",
      secretId: "cleanroom_checkpoint",
      actor: { kind: "cleanroom", hostData: s1.hostData, attestationMode: "virtual-platform" },
    });
    const fetched = await call("POST", `/app/contracts/${CONTRACT}/secrets/cleanroom_checkpoint`, s1.release());
    expect(s1.unwrap((fetched.body as { value: string }).value).toString()).toBe("checkpoint-key");
    // Members' secrets of the same name are theirs: prefixes never collide.
    const member = await appRequest(consortium.service, m0(), "PUT", `/app/contracts/${CONTRACT}/secrets/checkpoint`, { value: "member" });
    expect(member.body).toEqual({ secretId: `${m0().id}_checkpoint` });
    expect(openSecret(consortium.service.ledger, key(), CONTRACT, "cleanroom_checkpoint")).toBe("checkpoint-key");
  });

  it("applies the members' size limit and messages, and refuses S2, tampering and unbound reports, auditing each", async () => {
    const limit = await expectAuditedRefusal(consortium, CONTRACT, () => putSecret(s1, "big", { value: "x".repeat(25_601) }), "400 ValueTooLarge", "contract.secret.set.denied");
    expect(limit.data).toMatchObject({ secretId: "cleanroom_big", reason: "The secret value is 25601 characters long; the maximum is 25600." });
    expect((await putSecret(s1, "big", { value: "x".repeat(25_600) })).status).toBe(200);
    await expectAuditedRefusal(consortium, CONTRACT, () => putSecret(s1, "empty", { value: "" }), "400 ValueMissing", "contract.secret.set.denied");
    await expectAuditedRefusal(consortium, CONTRACT, () => putSecret(s1, "shaped", { value: "v", owner: "m0" }), "400 InvalidInput", "contract.secret.set.denied");
    await expectAuditedRefusal(consortium, CONTRACT, () => putSecret(s2, "s2", { value: "v" }), "400 VerifySnpAttestationFailed", "contract.secret.set.denied");
    const tampered = { ...s1.signed({ value: "v" }), data: base64(JSON.stringify({ value: "w" })) };
    await expectAuditedRefusal(consortium, CONTRACT, () => call("PUT", `/app/contracts/${CONTRACT}/secrets/t`, tampered), "400 SignatureMismatch", "contract.secret.set.denied");
    const unbound = { ...s1.signed({ value: "v" }), attestation: s1.evidence(rsaPublicKeyPem()) };
    await expectAuditedRefusal(consortium, CONTRACT, () => call("PUT", `/app/contracts/${CONTRACT}/secrets/u`, unbound), "400 ReportDataMismatch", "contract.secret.set.denied");
    for (const name of ["empty", "shaped", "s2", "t", "u"]) expect(openSecret(consortium.service.ledger, key(), CONTRACT, `cleanroom_${name}`)).toBeUndefined();
  });

  it("reserves the cleanroom owner: a user whose id is 'cleanroom' cannot write secrets", async () => {
    const idp = await startOidcProvider({ clients: [{ clientId: "cleanroom-user", oid: "cleanroom", tid: "tenant-x" }] });
    try {
      const token = await idp.token("cleanroom-user");
      await enact(consortium, [
        { name: "set_jwt_issuer", args: { issuer: idp.issuer, auto_refresh: true, ca_cert_bundle: idp.certificatePem } },
        { name: "set_user_identity", args: { id: "cleanroom", data: { tenantId: "tenant-x" } } },
      ]);
      const response = await appRequest(consortium.service, { token }, "PUT", `/app/contracts/${CONTRACT}/secrets/checkpoint`, { value: "hijack" });
      expect([response.status, errorCode(response)]).toEqual([403, "CallerNotAuthorized"]);
      expect(openSecret(consortium.service.ledger, key(), CONTRACT, "cleanroom_checkpoint")).toBe("checkpoint-key");
    } finally {
      await idp.stop();
    }
  });
});

describe("accepted user documents fetched by attested clean rooms (52)", () => {
  const fetch = (workload: Workload, documentId: string, contractId = CONTRACT) => call("POST", documentPath(contractId, "accepted", `/${documentId}`), workload.release());
  let acceptedVersion: string;

  beforeAll(async () => {
    const approvers = [memberActor(m0()), memberActor(consortium.members[1]!)];
    acceptedVersion = await acceptedDocument(consortium, m0(), CONTRACT, "dataset", approvers);
    await createDocument(consortium, m0(), CONTRACT, "draft", { approvers: approversOf(...approvers) });
    const proposed = await createDocument(consortium, m0(), CONTRACT, "proposed", { approvers: approversOf(...approvers) });
    await appRequest(consortium.service, m0(), "POST", documentPath(CONTRACT, "proposed", "/approval"), { version: proposed, action: "accept" });
    const rejected = await createDocument(consortium, m0(), CONTRACT, "rejected", { approvers: approversOf(...approvers) });
    await appRequest(consortium.service, m0(), "POST", documentPath(CONTRACT, "rejected", "/approval"), { version: rejected, action: "reject" });
    await acceptedDocument(consortium, m0(), OTHER, "elsewhere", approvers);
  });

  it("wraps the accepted document to the attested key, audited as released", async () => {
    const response = await fetch(s1, "dataset");
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect((response.body as { attestationMode: string }).attestationMode).toBe("virtual-platform");
    const document = AcceptedUserDocumentSchema.parse(JSON.parse(s1.unwrap((response.body as { value: string }).value).toString("utf8")));
    expect(document).toEqual({
      id: "dataset",
      contractId: CONTRACT,
      version: acceptedVersion,
      data: { documentId: "dataset" },
      labels: {},
      approvers: approversOf(memberActor(m0()), memberActor(consortium.members[1]!)),
      state: "Accepted",
      // The owner and every ballot: the clean room checks the dataset owners' approvals itself (reference §2.5).
      proposerId: m0().id,
      proposerIdType: "member",
      finalVotes: [
        { approverId: m0().id, ballot: "accepted" },
        { approverId: consortium.members[1]!.id, ballot: "accepted" },
      ],
    });
    expect((await governanceEvents(consortium, CONTRACT)).at(-1)?.data).toMatchObject({
      type: "userdocument.released",
      documentId: "dataset",
      version: acceptedVersion,
      hostData: s1.hostData,
      attestationMode: "virtual-platform",
    });
  });

  it("does not find documents that are not accepted, refuses another contract's, and refuses S2, auditing each", async () => {
    for (const id of ["draft", "proposed", "rejected", "no-such-document"]) {
      await expectAuditedRefusal(consortium, CONTRACT, () => fetch(s1, id), "404 UserDocumentNotFound", "userdocument.denied");
    }
    const mismatch = await expectAuditedRefusal(consortium, CONTRACT, () => fetch(s1, "elsewhere"), "400 ContractIdMismatch", "userdocument.denied");
    expect(mismatch.data).toMatchObject({ documentId: "elsewhere" });
    await expectAuditedRefusal(consortium, CONTRACT, () => fetch(s2, "dataset"), "400 VerifySnpAttestationFailed", "userdocument.denied");
    const unbound = { attestation: s1.evidence(), encrypt: { publicKey: base64(rsaPublicKeyPem()) } };
    await expectAuditedRefusal(consortium, CONTRACT, () => call("POST", documentPath(CONTRACT, "accepted", "/dataset"), unbound), "400 ReportDataMismatch", "userdocument.denied");
  });

  it("refuses every workload of a contract without a clean-room policy (52)", async () => {
    const UNPOLICED = "unpoliced";
    await acceptContract(consortium, UNPOLICED);
    await acceptedDocument(consortium, m0(), UNPOLICED, "dataset", [memberActor(m0())]);
    const refusal = await expectAuditedRefusal(consortium, UNPOLICED, () => fetch(s1, "dataset", UNPOLICED), "400 VerifySnpAttestationFailed", "userdocument.denied");
    expect(refusal.data).toMatchObject({ reason: "The clean room policy is missing. Please propose a new clean room policy." });
  });

  it("reserves the document id 'accepted', whose approval path would be the fetch of a document named 'approval'", async () => {
    const response = await appRequest(consortium.service, m0(), "PUT", documentPath(CONTRACT, "accepted"), { data: {} });
    expect([response.status, errorCode(response)]).toEqual([400, "InvalidParameter"]);
  });
});

describe("virtual platform trust", () => {
  it("refuses virtual-platform reports unless the service was started trusting that platform", async () => {
    const untrusting = await Promise.all(
      [{}, { insecureVirtualAttestation: true }].map((service) => startConsortium({ members: ["m0"], service: { ...service, ...NO_TIMED_SIGNATURES } })),
    );
    try {
      for (const other of untrusting) {
        await acceptContract(other, CONTRACT, {}, other.members);
        await enact(other, [policyFor(CONTRACT, s1.hostData)], other.members);
        const put = await appRequest(other.service, other.members[0], "PUT", `/app/contracts/${CONTRACT}/secrets/dek`, { value: "v" });
        const response = await appRequest(other.service, undefined, "POST", `/app/contracts/${CONTRACT}/secrets/${(put.body as { secretId: string }).secretId}`, s1.release());
        expect([response.status, errorCode(response)]).toEqual([400, "VerifySnpAttestationFailed"]);
        expect((response.body as { error: { message: string } }).error.message).toContain("ArkNotPinned");
      }
    } finally {
      await Promise.all(untrusting.map((c) => c.close()));
    }
  });

  it("refuses to start with virtual platform roots but without the insecure flag", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "cleanroom-virtual-"));
    try {
      const member = await makeIdentity("m0");
      await expect(
        startGovernanceService({
          dataDir,
          initialMembers: [{ certificatePem: member.certificatePem, memberData: { identifier: "m0" } }],
          virtualPlatformRoots: trusting.virtualPlatformRoots!,
          logError: () => undefined,
        }),
      ).rejects.toThrow(/only together with insecureVirtualAttestation/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
