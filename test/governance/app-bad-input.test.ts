// Bad input to the application endpoints (contracts, user documents, approvals, runtime options, events, requests of
// attested clean rooms): every case gets the exact 4xx status and error code, writes nothing (the ledger's last
// transaction and every resource read back unchanged), and the service keeps serving. The style of test/governance/bad-input.test.ts, for `/app`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRequest, type AppResponse, type RequestIdentity } from "../support/app-requests.js";
import {
  acceptContract,
  acceptedDocument,
  approversOf,
  createDocument,
  documentPath,
  enact,
  lastTransactionId,
  memberActor,
  outcome,
  type Actor,
} from "../support/app-fixtures.js";
import { makeIdentity, startConsortium, type Consortium, type TestIdentity } from "../support/consortium.js";
import { base64, rsaPublicKeyPem } from "../support/virtual-workloads.js";

const ACCEPTED = "accepted-contract";
const DRAFT = "draft-contract";
const DRAFT_DOC = "draft-doc";
const ACCEPTED_DOC = "accepted-doc";
const ONE_MIB = 1024 * 1024;

let consortium: Consortium;
let m0: TestIdentity;
let m1: TestIdentity;
let u0: Actor;
let draftVersion: string;
let draftDocVersion: string;
let acceptedDocVersion: string;

beforeAll(async () => {
  // No signature transactions on a timer: every case checks that the last transaction id did not move.
  consortium = await startConsortium({ members: ["m0", "m1"], service: { signatureIntervalMs: 1_000_000_000, signatureEveryTx: 1_000_000 } });
  [m0, m1] = consortium.members as [TestIdentity, TestIdentity];
  const user = await makeIdentity("u0");
  u0 = { certificatePem: user.certificatePem, keys: user.keys, id: user.id, kind: "user" };
  await enact(consortium, [{ name: "set_user", args: { cert: user.certificatePem, user_data: { tenantId: "tenant" } } }]);
  await acceptContract(consortium, ACCEPTED);
  const draft = await appRequest(consortium.service, m0, "PUT", `/app/contracts/${DRAFT}`, { data: { purpose: "drafting" } });
  expect(draft.status).toBe(200);
  draftVersion = draft.transactionId!;
  draftDocVersion = await createDocument(consortium, u0, ACCEPTED, DRAFT_DOC, { approvers: approversOf(memberActor(m0), u0), labels: { kind: "dataset" } });
  acceptedDocVersion = await acceptedDocument(consortium, u0, ACCEPTED, ACCEPTED_DOC, [memberActor(m0)]);
  const event = await appRequest(consortium.service, u0, "PUT", `/app/contracts/${ACCEPTED}/events?scope=audit`, { data: { hello: "world" } });
  expect(event.status).toBe(204);
});
afterAll(() => consortium?.close());

const call = (who: RequestIdentity, method: string, path: string, body?: unknown) => appRequest(consortium.service, who, method, path, body);
const raw = (who: RequestIdentity, method: string, path: string, rawBody: string, contentType = "application/json") =>
  appRequest(consortium.service, who, method, path, undefined, { rawBody, contentType });

/** Everything the cases could change, read back through the API. */
async function resources(): Promise<Record<string, unknown>> {
  const reads: Array<[string, string]> = [
    ["GET", "/app/contracts"],
    ["GET", `/app/contracts/${DRAFT}`],
    ["GET", `/app/contracts/${ACCEPTED}`],
    ["POST", `/app/contracts/${ACCEPTED}/runtimeoptions/execution/status`],
    ["POST", `/app/contracts/${ACCEPTED}/runtimeoptions/logging/status`],
    ["GET", `/app/contracts/${ACCEPTED}/userdocuments`],
    ["GET", documentPath(ACCEPTED, DRAFT_DOC)],
    ["GET", documentPath(ACCEPTED, ACCEPTED_DOC)],
    ["POST", documentPath(ACCEPTED, ACCEPTED_DOC, "/runtimeoptions/execution/status")],
    ["POST", documentPath(ACCEPTED, ACCEPTED_DOC, "/runtimeoptions/telemetry/status")],
    ["GET", `/app/contracts/${ACCEPTED}/events?from_seqno=1`],
    ["GET", "/app/users/identities"],
  ];
  const result: Record<string, unknown> = {};
  for (const [method, path] of reads) {
    const response = await call(m1, method, path);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBe(200);
    result[`${method} ${path}`] = response.body;
  }
  return result;
}

type Case = [name: string, request: () => Promise<AppResponse>, status: number, code: string];

const contract = (id = DRAFT) => `/app/contracts/${id}`;
const doc = (suffix = "", id = DRAFT_DOC, contractId = ACCEPTED) => documentPath(contractId, id, suffix);
const events = (query = "", contractId = ACCEPTED) => `/app/contracts/${contractId}/events${query}`;
const huge = () => ({ data: "x".repeat(ONE_MIB + 1024) });
const invalidIds: Array<[string, string]> = [
  ["a space", "has%20space"],
  ["a percent-encoded slash", "a%2Fb"],
  ["a leading dot", ".hidden"],
  ["a non-ASCII letter", "caf%C3%A9"],
  ["a colon", "a:b"],
  ["200 characters", "a".repeat(200)],
];
/** `{"data": [[[…]]]}` nested `depth` deep: a small body (2 bytes a level) that is valid JSON. */
const deeplyNested = (depth = 10_000) => `{"data":${"[".repeat(depth)}${"]".repeat(depth)}}`;
const requiredMembers = (value: unknown) => ({ data: { metadata: { voters: { requiredMembers: value } } } });

const contractCases: Case[] = [
  ["contract PUT: malformed JSON", () => raw(m0, "PUT", contract(), '{"data": {'), 400, "MalformedJson"],
  ["contract PUT: an empty body declared as JSON", () => raw(m0, "PUT", contract(), ""), 400, "MalformedJson"],
  ["contract PUT: a JSON body sent as text/plain", () => raw(m0, "PUT", contract(), JSON.stringify({ version: draftVersion, data: {} }), "text/plain"), 415, "UnsupportedContentType"],
  ["contract PUT: a form body", () => raw(m0, "PUT", contract(), "data=1", "application/x-www-form-urlencoded"), 415, "UnsupportedContentType"],
  ["contract PUT: a COSE body", () => raw(m0, "PUT", contract(), "\u00d2\u0084", "application/cose"), 415, "UnsupportedContentType"],
  ["contract PUT: data missing (create)", () => call(m0, "PUT", contract("new-contract"), {}), 400, "DataMissing"],
  ["contract PUT: data missing (update)", () => call(m0, "PUT", contract(), { version: draftVersion }), 400, "DataMissing"],
  ["contract PUT: version a number", () => call(m0, "PUT", contract(), { version: 5, data: {} }), 400, "InvalidInput"],
  ["contract PUT: version empty", () => call(m0, "PUT", contract(), { version: "", data: {} }), 400, "InvalidInput"],
  ["contract PUT: an unknown field", () => call(m0, "PUT", contract(), { version: draftVersion, data: {}, state: "Accepted" }), 400, "InvalidInput"],
  ["contract PUT: a JSON array", () => call(m0, "PUT", contract(), [{ data: {} }]), 400, "InvalidInput"],
  ["contract PUT: JSON null", () => raw(m0, "PUT", contract(), "null"), 400, "InvalidInput"],
  ["contract PUT: a __proto__ key", () => raw(m0, "PUT", contract("proto"), '{"data": {}, "__proto__": {"admin": true}}'), 400, "MalformedJson"],
  ["contract PUT: data nested 10000 deep (20 KB)", () => raw(m0, "PUT", contract("deep"), deeplyNested()), 400, "InvalidInput"],
  ["contract PUT: a body over 1 MiB", () => call(m0, "PUT", contract("huge-contract"), huge()), 413, "RequestTooLarge"],
  ["contract PUT: an existing contract without version", () => call(m0, "PUT", contract(), { data: { again: true } }), 409, "ContractAlreadyExists"],
  ["contract PUT: a version on a new contract", () => call(m0, "PUT", contract("fresh-contract"), { version: draftVersion, data: {} }), 412, "PreconditionFailed"],
  ["contract PUT: a stale version", () => call(m0, "PUT", contract(), { version: "1.1", data: { stale: true } }), 412, "PreconditionFailed"],
  ["contract PUT: an accepted contract", () => call(m0, "PUT", contract(ACCEPTED), { version: draftVersion, data: {} }), 405, "ContractAlreadyAccepted"],
  ["contract PUT: requiredMembers empty", () => call(m0, "PUT", contract("rm-1"), requiredMembers([])), 400, "InvalidRequiredMembers"],
  ["contract PUT: requiredMembers not an array", () => call(m0, "PUT", contract("rm-2"), requiredMembers("m0")), 400, "InvalidRequiredMembers"],
  ["contract PUT: requiredMembers with a non-id", () => call(m0, "PUT", contract("rm-3"), requiredMembers(["m0"])), 400, "InvalidRequiredMembers"],
  ["contract PUT: requiredMembers with an unknown member", () => call(m0, "PUT", contract("rm-4"), requiredMembers(["ab".repeat(32)])), 400, "InvalidRequiredMembers"],
  ["contract PUT: requiredMembers with a duplicate", () => call(m0, "PUT", contract("rm-5"), requiredMembers([m0.id, m0.id])), 400, "InvalidRequiredMembers"],
  ["contract PUT: requiredMembers naming a user", () => call(m0, "PUT", contract("rm-6"), requiredMembers([u0.id])), 400, "InvalidRequiredMembers"],
  [
    "contract PUT: requiredMembers invalid in data given as JSON text",
    () => call(m0, "PUT", contract("rm-7"), { data: JSON.stringify(requiredMembers([]).data) }),
    400,
    "InvalidRequiredMembers",
  ],
  ["contract PUT (update): requiredMembers invalid", () => call(m0, "PUT", contract(), { version: draftVersion, ...requiredMembers([m1.id, "x"]) }), 400, "InvalidRequiredMembers"],
  ...invalidIds.flatMap(([what, id]): Case[] => [
    [`contract PUT: an id with ${what}`, () => call(m0, "PUT", contract(id), { data: {} }), 400, "InvalidParameter"],
    [`contract GET: an id with ${what}`, () => call(m0, "GET", contract(id)), 400, "InvalidParameter"],
  ]),
  ["contract GET: an unknown id", () => call(m0, "GET", contract("no-such-contract")), 404, "ContractNotFound"],
  ["contract POST read: an unknown id", () => call(m0, "POST", contract("no-such-contract")), 404, "ContractNotFound"],
  ["contract list: an unknown state", () => call(m0, "GET", "/app/contracts?state=Signed"), 400, "InvalidParameter"],
  ["contract list: an unknown query parameter", () => call(m0, "GET", "/app/contracts?owner=m0"), 400, "InvalidParameter"],
  ["contract option status: an unknown option", () => call(m0, "POST", contract(ACCEPTED) + "/runtimeoptions/speed/status"), 400, "InvalidOption"],
  ["contract option enable: an unknown option", () => call(m0, "POST", contract(ACCEPTED) + "/runtimeoptions/speed/enable"), 400, "InvalidOption"],
  ["contract option enable: logging (changed by proposal only)", () => call(m0, "POST", contract(ACCEPTED) + "/runtimeoptions/logging/enable"), 400, "InvalidOption"],
  ["contract option disable: telemetry (changed by proposal only)", () => call(m0, "POST", contract(ACCEPTED) + "/runtimeoptions/telemetry/disable"), 400, "InvalidOption"],
  ["contract option enable: a draft contract", () => call(m0, "POST", contract() + "/runtimeoptions/execution/enable"), 400, "ContractNotAccepted"],
  ["contract option disable: an unknown contract", () => call(m0, "POST", contract("no-such-contract") + "/runtimeoptions/execution/disable"), 404, "ContractNotFound"],
  ["contract option enable: an invalid contract id", () => call(m0, "POST", contract("a%2Fb") + "/runtimeoptions/execution/enable"), 400, "InvalidParameter"],
];

const documentCases: Case[] = [
  ["document PUT: malformed JSON", () => raw(u0, "PUT", doc(), '{"version": "'), 400, "MalformedJson"],
  ["document PUT: a JSON body sent as text/plain", () => raw(u0, "PUT", doc(), JSON.stringify({ version: draftDocVersion, data: {} }), "text/plain"), 415, "UnsupportedContentType"],
  ["document PUT: an XML body", () => raw(u0, "PUT", doc(), "<data/>", "application/xml"), 415, "UnsupportedContentType"],
  ["document PUT: data missing (create)", () => call(u0, "PUT", doc("", "new-doc"), { labels: { kind: "x" } }), 400, "DataMissing"],
  ["document PUT: data missing (update)", () => call(u0, "PUT", doc(), { version: draftDocVersion }), 400, "DataMissing"],
  ["document PUT: version a number", () => call(u0, "PUT", doc(), { version: 7, data: {} }), 400, "InvalidInput"],
  ["document PUT: labels not strings", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, labels: { kind: 1 } }), 400, "InvalidInput"],
  ["document PUT: labels an array", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, labels: ["kind:dataset"] }), 400, "InvalidInput"],
  ["document PUT: a label name with a space", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, labels: { "a b": "c" } }), 400, "InvalidInput"],
  ["document PUT: an empty label value", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, labels: { kind: "" } }), 400, "InvalidInput"],
  [
    "document PUT: 33 labels",
    () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, "v"])) }),
    400,
    "InvalidInput",
  ],
  ["document PUT: approvers not an array", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, approvers: { approverId: m0.id, approverIdType: "member" } }), 400, "InvalidInput"],
  ["document PUT: an unknown approverIdType", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, approvers: [{ approverId: m0.id, approverIdType: "group" }] }), 400, "InvalidInput"],
  [
    "document PUT: an approver with an extra field",
    () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, approvers: [{ approverId: m0.id, approverIdType: "member", weight: 2 }] }),
    400,
    "InvalidInput",
  ],
  ["document PUT: an approver without approverIdType", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, approvers: [{ approverId: m0.id }] }), 400, "InvalidInput"],
  ["document PUT: an approver id with a slash", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, approvers: [{ approverId: "a/b", approverIdType: "user" }] }), 400, "InvalidInput"],
  [
    "document PUT: 65 approvers",
    () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, approvers: Array.from({ length: 65 }, (_, i) => ({ approverId: `user-${i}`, approverIdType: "user" })) }),
    400,
    "InvalidInput",
  ],
  ["document PUT: an unknown field", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, state: "Accepted" }), 400, "InvalidInput"],
  ["document PUT: contractId a number", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, contractId: 1 }), 400, "InvalidInput"],
  ["document PUT: data nested 10000 deep (20 KB)", () => raw(u0, "PUT", doc("", "deep-doc"), deeplyNested()), 400, "InvalidInput"],
  ["document PUT: a body over 1 MiB", () => call(u0, "PUT", doc("", "huge-doc"), huge()), 413, "RequestTooLarge"],
  ["document PUT: another contract's id in the body", () => call(u0, "PUT", doc(), { version: draftDocVersion, contractId: DRAFT, data: {} }), 400, "ContractIdMismatch"],
  ["document PUT: empty approvers", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, approvers: [] }), 400, "InvalidApprovers"],
  ["document PUT: an unknown member approver", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, approvers: [{ approverId: "cd".repeat(32), approverIdType: "member" }] }), 400, "InvalidApprovers"],
  ["document PUT: an unknown user approver", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, approvers: [{ approverId: "nobody", approverIdType: "user" }] }), 400, "InvalidApprovers"],
  ["document PUT: a member named as a user", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, approvers: [{ approverId: m0.id, approverIdType: "user" }] }), 400, "InvalidApprovers"],
  ["document PUT: duplicate approvers", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, approvers: approversOf(u0, u0) }), 400, "InvalidApprovers"],
  ["document PUT: an existing document without version", () => call(u0, "PUT", doc(), { data: { again: true } }), 409, "UserDocumentAlreadyExists"],
  ["document PUT: a stale version", () => call(u0, "PUT", doc(), { version: "1.1", data: {} }), 412, "PreconditionFailed"],
  ["document PUT: a version on a new document", () => call(u0, "PUT", doc("", "fresh-doc"), { version: draftDocVersion, data: {} }), 412, "PreconditionFailed"],
  ["document PUT: an accepted document", () => call(u0, "PUT", doc("", ACCEPTED_DOC), { version: acceptedDocVersion, data: {} }), 405, "UserDocumentAlreadyAccepted"],
  ["document PUT: an unknown contract", () => call(u0, "PUT", doc("", "doc", "no-such-contract"), { data: {} }), 404, "ContractNotFound"],
  ["document PUT: a type label added by an update", () => call(u0, "PUT", doc(), { version: draftDocVersion, data: {}, labels: { kind: "dataset", type: "dataset" } }), 400, "UserDocumentTypeChanged"],
  ["document PUT: a dataset whose data is not a dataset", () => call(u0, "PUT", doc("", "bad-dataset"), { data: { name: "x" }, labels: { type: "dataset" } }), 400, "InvalidDatasetDocument"],
  ["document PUT: a sink whose data is JSON text", () => call(u0, "PUT", doc("", "bad-sink"), { data: "{}", labels: { type: "datasink" } }), 400, "InvalidDatasetDocument"],
  ["document PUT: a query whose data is not a query", () => call(u0, "PUT", doc("", "bad-query"), { data: { segments: [] }, labels: { type: "query" } }), 400, "InvalidQueryDocument"],
  [
    "document PUT: a query reading an unknown dataset",
    () =>
      call(u0, "PUT", doc("", "bad-refs"), {
        data: { inputs: [{ dataset: "no-such-dataset", view: "v" }], output: { sink: "no-such-sink" }, segments: [{ executionSequence: 1, statement: "SELECT 1" }] },
        labels: { type: "query" },
      }),
    400,
    "QueryInputNotFound",
  ],
  ...invalidIds.flatMap(([what, id]): Case[] => [
    [`document PUT: an id with ${what}`, () => call(u0, "PUT", doc("", id), { data: {} }), 400, "InvalidParameter"],
    [`document GET: an id with ${what}`, () => call(u0, "GET", doc("", id)), 400, "InvalidParameter"],
    [`document PUT: a contract id with ${what}`, () => call(u0, "PUT", doc("", "doc", id), { data: {} }), 400, "InvalidParameter"],
  ]),
  ["document GET: an unknown id", () => call(u0, "GET", doc("", "no-such-doc")), 404, "UserDocumentNotFound"],
  ["document POST read: an unknown id", () => call(u0, "POST", doc("", "no-such-doc")), 404, "UserDocumentNotFound"],
  ["document GET: an unknown contract", () => call(u0, "GET", doc("", DRAFT_DOC, DRAFT)), 404, "UserDocumentNotFound"],
  ...["kind", "kind:", ":dataset", "kind:dataset,", "a b:c", "kind:data set", "kind::x", `${"k".repeat(129)}:v`].map(
    (selector): Case => [
      `document list: label selector '${selector.length > 20 ? `${selector.slice(0, 12)}…` : selector}'`,
      () => call(u0, "GET", `/app/contracts/${ACCEPTED}/userdocuments?labelSelector=${encodeURIComponent(selector)}`),
      400,
      "InvalidParameter",
    ],
  ),
  ["document list: an unknown query parameter", () => call(u0, "GET", `/app/contracts/${ACCEPTED}/userdocuments?label=kind:dataset`), 400, "InvalidParameter"],
  ["document list: an invalid contract id", () => call(u0, "GET", "/app/contracts/a%2Fb/userdocuments"), 400, "InvalidParameter"],
];

const approvalCases: Case[] = [
  ["approval: malformed JSON", () => raw(m0, "POST", doc("/approval"), "{version"), 400, "MalformedJson"],
  ["approval: an empty body declared as JSON", () => raw(m0, "POST", doc("/approval"), ""), 400, "MalformedJson"],
  ["approval: a JSON body sent as text/plain", () => raw(m0, "POST", doc("/approval"), JSON.stringify({ version: draftDocVersion, action: "accept" }), "text/plain"), 415, "UnsupportedContentType"],
  ["approval: no body", () => call(m0, "POST", doc("/approval")), 400, "InvalidInput"],
  ["approval: version missing", () => call(m0, "POST", doc("/approval"), { action: "accept" }), 400, "InvalidInput"],
  ["approval: action missing", () => call(m0, "POST", doc("/approval"), { version: draftDocVersion }), 400, "InvalidInput"],
  ["approval: version a number", () => call(m0, "POST", doc("/approval"), { version: 3, action: "accept" }), 400, "InvalidInput"],
  ["approval: an unknown action", () => call(m0, "POST", doc("/approval"), { version: draftDocVersion, action: "approve" }), 400, "InvalidInput"],
  ["approval: the ballot strings of proposals", () => call(m0, "POST", doc("/approval"), { version: draftDocVersion, action: "accepted" }), 400, "InvalidInput"],
  ["approval: an unknown field", () => call(m0, "POST", doc("/approval"), { version: draftDocVersion, action: "accept", comment: "ok" }), 400, "InvalidInput"],
  ["approval: a body over 1 MiB", () => call(m0, "POST", doc("/approval"), { version: draftDocVersion, action: "accept", pad: "x".repeat(ONE_MIB) }), 413, "RequestTooLarge"],
  ["approval: a stale version", () => call(m0, "POST", doc("/approval"), { version: "1.1", action: "accept" }), 412, "PreconditionFailed"],
  ["approval: an unknown document", () => call(m0, "POST", doc("/approval", "no-such-doc"), { version: draftDocVersion, action: "accept" }), 404, "UserDocumentNotFound"],
  ["approval: the document under another contract", () => call(m0, "POST", doc("/approval", DRAFT_DOC, DRAFT), { version: draftDocVersion, action: "accept" }), 404, "UserDocumentNotFound"],
  ["approval: an invalid document id", () => call(m0, "POST", doc("/approval", "a%2Fb"), { version: draftDocVersion, action: "accept" }), 400, "InvalidParameter"],
  ["approval: by a non-approver", () => call(m1, "POST", doc("/approval"), { version: draftDocVersion, action: "accept" }), 403, "NotUserDocumentApprover"],
  ["approval: a second action by the same approver", () => call(m0, "POST", doc("/approval", ACCEPTED_DOC), { version: acceptedDocVersion, action: "reject" }), 409, "ApprovalAlreadySubmitted"],
];

const runtimeOptionCases: Case[] = [
  ["document option status: logging", () => call(u0, "POST", doc("/runtimeoptions/logging/status", ACCEPTED_DOC)), 400, "InvalidUserDocumentRuntimeOption"],
  ["document option enable: logging", () => call(m0, "POST", doc("/runtimeoptions/logging/enable", ACCEPTED_DOC)), 400, "InvalidUserDocumentRuntimeOption"],
  ["document option disable: an unknown option", () => call(m0, "POST", doc("/runtimeoptions/Execution/disable", ACCEPTED_DOC)), 400, "InvalidUserDocumentRuntimeOption"],
  ["document option enable: a Draft document", () => call(m0, "POST", doc("/runtimeoptions/execution/enable")), 400, "UserDocumentNotAccepted"],
  ["document option disable: a Draft document", () => call(u0, "POST", doc("/runtimeoptions/telemetry/disable")), 400, "UserDocumentNotAccepted"],
  ["document option status: an unknown document", () => call(u0, "POST", doc("/runtimeoptions/execution/status", "no-such-doc")), 404, "UserDocumentNotFound"],
  ["document option enable: an unknown document", () => call(m0, "POST", doc("/runtimeoptions/execution/enable", "no-such-doc")), 404, "UserDocumentNotFound"],
  ["document option enable: an invalid document id", () => call(m0, "POST", doc("/runtimeoptions/execution/enable", "a".repeat(200))), 400, "InvalidParameter"],
  ["document option disable: a body over 1 MiB", () => call(m0, "POST", doc("/runtimeoptions/execution/disable", ACCEPTED_DOC), huge()), 413, "RequestTooLarge"],
  ["contract option disable: a body over 1 MiB", () => call(m0, "POST", contract(ACCEPTED) + "/runtimeoptions/execution/disable", huge()), 413, "RequestTooLarge"],
  ["document option enable: by a non-approver", () => call(m1, "POST", doc("/runtimeoptions/execution/disable", ACCEPTED_DOC)), 403, "NotUserDocumentApprover"],
];

const eventCases: Case[] = [
  ["event PUT: the reserved scope governance", () => call(u0, "PUT", events("?scope=governance"), { data: { type: "contract.accepted" } }), 400, "ReservedEventScope"],
  ["event PUT: the reserved scope with an id", () => call(m0, "PUT", events("?scope=governance&id=forged"), { data: {} }), 400, "ReservedEventScope"],
  ["event PUT: data missing", () => call(u0, "PUT", events("?scope=audit"), {}), 400, "DataMissing"],
  ["event PUT: malformed JSON", () => raw(u0, "PUT", events("?scope=audit"), '{"data": [1,'), 400, "MalformedJson"],
  ["event PUT: a JSON body sent as text/plain", () => raw(u0, "PUT", events("?scope=audit"), JSON.stringify({ data: {} }), "text/plain"), 415, "UnsupportedContentType"],
  ["event PUT: an unknown field", () => call(u0, "PUT", events("?scope=audit"), { data: {}, timestamp: "0000000000001" }), 400, "InvalidInput"],
  ["event PUT: a JSON array", () => call(u0, "PUT", events("?scope=audit"), [{ data: {} }]), 400, "InvalidInput"],
  ["event PUT: data nested 10000 deep (20 KB)", () => raw(u0, "PUT", events("?scope=audit"), deeplyNested()), 400, "InvalidInput"],
  ["event PUT: a body over 1 MiB", () => call(u0, "PUT", events("?scope=audit"), huge()), 413, "RequestTooLarge"],
  ["event PUT: an unknown contract", () => call(u0, "PUT", events("?scope=audit", "no-such-contract"), { data: {} }), 404, "ContractNotFound"],
  ["event PUT: a scope with a space", () => call(u0, "PUT", events("?scope=a%20b"), { data: {} }), 400, "InvalidParameter"],
  ["event PUT: an id with a slash", () => call(u0, "PUT", events("?id=a%2Fb"), { data: {} }), 400, "InvalidParameter"],
  ["event PUT: an unknown query parameter", () => call(u0, "PUT", events("?scope=audit&seqno=5"), { data: {} }), 400, "InvalidParameter"],
  ["event PUT: an invalid contract id", () => call(u0, "PUT", events("?scope=audit", "a".repeat(200)), { data: {} }), 400, "InvalidParameter"],
  ["event GET: from_seqno=abc", () => call(u0, "GET", events("?from_seqno=abc")), 400, "InvalidParameter"],
  ["event GET: to_seqno=abc", () => call(u0, "GET", events("?from_seqno=1&to_seqno=abc")), 400, "InvalidParameter"],
  ["event GET: from_seqno=0", () => call(u0, "GET", events("?from_seqno=0")), 400, "InvalidParameter"],
  ["event GET: from_seqno=-1", () => call(u0, "GET", events("?from_seqno=-1")), 400, "InvalidParameter"],
  ["event GET: from_seqno=1.5", () => call(u0, "GET", events("?from_seqno=1.5")), 400, "InvalidParameter"],
  ["event GET: from_seqno empty", () => call(u0, "GET", events("?from_seqno=")), 400, "InvalidParameter"],
  ["event GET: from_seqno given twice", () => call(u0, "GET", events("?from_seqno=1&from_seqno=2")), 400, "InvalidParameter"],
  ["event GET: to_seqno < from_seqno", () => call(u0, "GET", events("?from_seqno=5&to_seqno=4")), 400, "InvalidParameter"],
  ["event GET: max_seqno_per_page=0", () => call(u0, "GET", events("?from_seqno=1&max_seqno_per_page=0")), 400, "InvalidParameter"],
  ["event GET: max_seqno_per_page too large", () => call(u0, "GET", events("?from_seqno=1&max_seqno_per_page=100001")), 400, "InvalidParameter"],
  ["event GET: a scope with a slash", () => call(u0, "GET", events("?scope=a%2Fb")), 400, "InvalidParameter"],
  ["event GET: an unknown query parameter", () => call(u0, "GET", events("?from=1")), 400, "InvalidParameter"],
  ["event GET: an invalid contract id", () => call(u0, "GET", events("", "a%20b")), 400, "InvalidParameter"],
];

// Requests of attested clean rooms that are refused for their shape, before any attestation work: nothing is
// verified, so nothing is audited either. (Refusals of verified requests are audited: delegates.test.ts.)
const workloadKey = base64(rsaPublicKeyPem());
const someEvidence = { evidence: "AAAA", endorsements: "AAAA" };
const signature = { signature: base64("not checked before the attestation"), publicKey: workloadKey };
const signedBody = (fields: Record<string, unknown> = {}) => ({ attestation: someEvidence, encrypt: { publicKey: workloadKey }, sign: signature, data: base64("{}"), ...fields });
const eventBody = (fields: Record<string, unknown> = {}) => ({ timestamp: "1700000000000", attestation: someEvidence, sign: signature, data: base64("{}"), ...fields });
const delegate = (type = "events", id = "writer", contractId = ACCEPTED) => `/app/contracts/${contractId}/cleanroompolicy/delegates/${type}/${id}`;
const anonymous = {};

const attestedCases: Case[] = [
  ["delegate show: an unknown type", () => call(m0, "POST", delegate("ca", "endorsed-cert")), 400, "InvalidDelegateType"],
  ["delegate show: events other than writer", () => call(u0, "POST", delegate("events", "reader")), 400, "InvalidDelegateType"],
  ["delegate show: another contract's subject", () => call(u0, "POST", delegate("oauth-federation-subjects", `${DRAFT}%2Fx`)), 400, "InvalidDelegateType"],
  ["delegate show: a subject with a space", () => call(u0, "POST", delegate("oauth-federation-subjects", `${ACCEPTED}%2Fa%20b`)), 400, "InvalidDelegateType"],
  ["delegate show: a secret id with a colon", () => call(u0, "POST", delegate("secrets", "a:b")), 400, "InvalidDelegateType"],
  ["delegate show: an id over 300 characters", () => call(u0, "POST", delegate("secrets", "s".repeat(301))), 400, "InvalidParameter"],
  ["delegate list: an invalid contract id", () => call(u0, "GET", "/app/contracts/a%2Fb/cleanroompolicy/delegates"), 400, "InvalidParameter"],
  ["delegate PUT: an unknown type", () => call(anonymous, "PUT", delegate("podpolicies", "admin"), signedBody()), 400, "InvalidDelegateType"],
  ["delegate PUT: no attestation", () => call(anonymous, "PUT", delegate(), signedBody({ attestation: undefined })), 400, "AttestationMissing"],
  ["delegate PUT: an unknown platform", () => call(anonymous, "PUT", delegate(), signedBody({ platform: "snp-cvm" })), 400, "UnsupportedPlatform"],
  ["delegate PUT: no encrypt", () => call(anonymous, "PUT", delegate(), signedBody({ encrypt: undefined })), 400, "EncryptionMissing"],
  ["delegate PUT: no sign", () => call(anonymous, "PUT", delegate(), signedBody({ sign: undefined })), 400, "SignatureMissing"],
  ["delegate PUT: a signature that is not base64", () => call(anonymous, "PUT", delegate(), signedBody({ sign: { ...signature, signature: "%%%" } })), 400, "SignatureMissing"],
  ["delegate PUT: a signing key that is not a PEM", () => call(anonymous, "PUT", delegate(), signedBody({ sign: { ...signature, publicKey: base64("key") } })), 400, "SignatureMissing"],
  ["delegate PUT: an EC signing key", () => call(anonymous, "PUT", delegate(), signedBody({ sign: { ...signature, publicKey: base64(m0.certificatePem) } })), 400, "SignatureMissing"],
  ["delegate PUT: no data", () => call(anonymous, "PUT", delegate(), signedBody({ data: undefined })), 400, "DataMissing"],
  ["delegate PUT: data that is not base64", () => call(anonymous, "PUT", delegate(), signedBody({ data: "{not base64}" })), 400, "InvalidInput"],
  ["delegate PUT: an unknown field", () => call(anonymous, "PUT", delegate(), signedBody({ delegate: "events/writer" })), 400, "InvalidInput"],
  ["delegate PUT: encrypt with an extra field", () => call(anonymous, "PUT", delegate(), signedBody({ encrypt: { publicKey: workloadKey, kid: "k" } })), 400, "InvalidInput"],
  ["delegate PUT: a JSON body sent as text/plain", () => raw(anonymous, "PUT", delegate(), JSON.stringify(signedBody()), "text/plain"), 415, "UnsupportedContentType"],
  ["delegate PUT: a body over 1 MiB", () => call(anonymous, "PUT", delegate(), signedBody({ data: base64("x".repeat(ONE_MIB)) })), 413, "RequestTooLarge"],
  ["clean-room secret PUT: a member's body without credentials", () => call(anonymous, "PUT", `/app/contracts/${ACCEPTED}/secrets/s`, { value: "v" }), 400, "AttestationMissing"],
  ["clean-room secret PUT: no sign", () => call(anonymous, "PUT", `/app/contracts/${ACCEPTED}/secrets/s`, signedBody({ sign: undefined })), 400, "SignatureMissing"],
  ["clean-room secret PUT: an invalid name", () => call(anonymous, "PUT", `/app/contracts/${ACCEPTED}/secrets/a%20b`, signedBody()), 400, "InvalidParameter"],
  ["attested event PUT: a member's body without credentials", () => call(anonymous, "PUT", events("?scope=audit"), { data: {} }), 400, "AttestationMissing"],
  ["attested event PUT: no sign", () => call(anonymous, "PUT", events("?scope=audit"), eventBody({ sign: undefined })), 400, "SignatureMissing"],
  ["attested event PUT: no timestamp", () => call(anonymous, "PUT", events("?scope=audit"), eventBody({ timestamp: undefined })), 400, "TimestampMissing"],
  ["attested event PUT: an empty timestamp", () => call(anonymous, "PUT", events("?scope=audit"), eventBody({ timestamp: "" })), 400, "TimestampMissing"],
  ["attested event PUT: timestamp 10000000000000", () => call(anonymous, "PUT", events("?scope=audit"), eventBody({ timestamp: "10000000000000" })), 400, "TimestampTooLarge"],
  ["attested event PUT: a negative timestamp", () => call(anonymous, "PUT", events("?scope=audit"), eventBody({ timestamp: "-1" })), 400, "InvalidInput"],
  ["attested event PUT: a numeric timestamp", () => call(anonymous, "PUT", events("?scope=audit"), eventBody({ timestamp: 1700000000000 })), 400, "InvalidInput"],
  ["attested event PUT: an encrypt field", () => call(anonymous, "PUT", events("?scope=audit"), eventBody({ encrypt: { publicKey: workloadKey } })), 400, "InvalidInput"],
  ["attested event PUT: the reserved scope", () => call(anonymous, "PUT", events("?scope=governance"), eventBody()), 400, "ReservedEventScope"],
  ["attested event PUT: data not base64", () => call(anonymous, "PUT", events("?scope=audit"), eventBody({ data: "{}" })), 400, "InvalidInput"],
  ["member event PUT: attested fields", () => call(u0, "PUT", events("?scope=audit"), eventBody()), 400, "InvalidInput"],
  ["accepted document fetch: no attestation", () => call(anonymous, "POST", doc("", `accepted/${ACCEPTED_DOC}`), {}), 400, "AttestationMissing"],
  ["accepted document fetch: no encrypt", () => call(anonymous, "POST", doc("", `accepted/${ACCEPTED_DOC}`), { attestation: someEvidence }), 400, "EncryptionMissing"],
  ["accepted document fetch: an invalid document id", () => call(anonymous, "POST", doc("", "accepted/a%20b"), { attestation: someEvidence }), 400, "InvalidParameter"],
  ["document PUT: the reserved id 'accepted'", () => call(u0, "PUT", doc("", "accepted"), { data: {} }), 400, "InvalidParameter"],
];

const userCases: Case[] = [
  ["user identity GET: an unknown id", () => call(u0, "GET", "/app/users/identities/oid-nobody"), 404, "UserIdentityNotFound"],
  ["user identity GET: an invalid id", () => call(u0, "GET", "/app/users/identities/a%20b"), 400, "InvalidParameter"],
];

describe("bad application input gets a clear 4xx, changes nothing, and the service keeps serving", () => {
  let initial: Record<string, unknown>;
  beforeAll(async () => {
    initial = await resources();
  });

  describe.each([
    ["contracts", contractCases],
    ["user documents", documentCases],
    ["approvals", approvalCases],
    ["runtime options", runtimeOptionCases],
    ["events", eventCases],
    ["attested requests", attestedCases],
    ["users", userCases],
  ] as const)("%s", (_group, cases) => {
    it.each(cases)("%s", async (_name, request, status, code) => {
      // Only transactions change state: an unchanged last transaction id means nothing was written. Reading it
      // after the refusal also shows that the service still answers.
      const before = await lastTransactionId(consortium);
      const response = await request();
      const after = await lastTransactionId(consortium);
      expect(
        { response: outcome(response), body: response.body, lastTransactionId: after },
        JSON.stringify(response.body)?.slice(0, 300),
      ).toEqual({ response: `${status} ${code}`, body: { error: { code, message: expect.any(String) } }, lastTransactionId: before });
    });
  });

  it("every resource reads back as before the bad requests", async () => {
    expect(await resources()).toEqual(initial);
  });

  it("accepts ids of the maximum length (128 characters) in every path", async () => {
    const longest = (c: string) => c.repeat(128);
    const contractId = longest("c");
    const documentId = longest("d");
    const eventId = longest("e");
    const identityId = longest("i");
    const results = {
      contractPut: outcome(await call(m0, "PUT", contract(contractId), { data: { long: true } })),
      contractGet: outcome(await call(m0, "GET", contract(contractId))),
      documentPut: outcome(await call(u0, "PUT", doc("", documentId), { data: { long: true }, approvers: approversOf(u0) })),
      documentGet: outcome(await call(u0, "GET", doc("", documentId))),
      documentUnderLongContract: outcome(await call(u0, "PUT", doc("", "short", contractId), { data: {}, approvers: approversOf(u0) })),
      eventPut: outcome(await call(u0, "PUT", events(`?id=${eventId}`, contractId), { data: {} })),
      identityGet: outcome(await call(u0, "GET", `/app/users/identities/${identityId}`)),
    };
    expect(results).toEqual({
      contractPut: "200",
      contractGet: "200",
      documentPut: "200",
      documentGet: "200",
      documentUnderLongContract: "200",
      eventPut: "204",
      identityGet: "404 UserIdentityNotFound",
    });
  });

  it("still serves valid requests after all of the above", async () => {
    const contractUpdate = await call(m0, "PUT", contract(), { version: draftVersion, data: { purpose: "still drafting" } });
    expect(contractUpdate.status).toBe(200);
    const documentUpdate = await call(u0, "PUT", doc(), { version: draftDocVersion, data: { v: 2 }, approvers: approversOf(memberActor(m0), u0) });
    expect(documentUpdate.status).toBe(200);
    const approval = await call(m0, "POST", doc("/approval"), { version: documentUpdate.transactionId, action: "accept" });
    expect([approval.status, (approval.body as { state?: string }).state]).toEqual([200, "Proposed"]);
    expect((await call(u0, "POST", doc("/runtimeoptions/execution/disable", ACCEPTED_DOC))).status).toBe(403);
    expect((await call(m0, "POST", doc("/runtimeoptions/execution/disable", ACCEPTED_DOC))).status).toBe(200);
    expect((await call(m1, "POST", contract(ACCEPTED) + "/runtimeoptions/execution/disable")).status).toBe(200);
    expect((await call(u0, "PUT", events("?scope=audit&id=after"), { data: { ok: true } })).status).toBe(204);
    const latest = await call(u0, "GET", events("?scope=audit&id=after"));
    expect(latest.body).toMatchObject({ value: [{ scope: "audit", id: "after", data: { ok: true }, writer: { kind: "user", id: u0.id } }] });
  });
});
