// Who may call which application endpoint: every `/app` endpoint of contracts, runtime options, clean-room and
// delegate policies, secrets, the OIDC issuer, user documents, events, users and user invitations (plus
// `GET /app/identity`, the service's `/app` transaction endpoints and `GET /gov/service/jwt-issuers`), called as
// each kind of caller, with the exact status and error code expected in every cell. Reference
// upstream-governance.md §1.3, §2.1–§2.4, §2.6, §2.8 and the rules in
// packages/governance/src/http/authorization.ts:
// - reads: any authenticated caller (members of any status, certificate users, registered JWT users);
// - contract PUT and execution consent: Active members only;
// - user document PUT, secret PUT and event PUT: Active members and users — or, presenting no credentials at all, an
//   attested clean room (a request without attestation gets AttestationMissing);
// - secret release, tokens, delegate changes, accepted-document fetches, approval statuses and caller checks:
//   anonymous and attested, whoever calls;
// - approvals and user document runtime options: the document's approvers (who must be Active if members);
// - accepting a user invitation: a bearer token only (the invitee's oid need not be registered); a certificate,
//   even a member's, is not an invitee (401). The cells' invitation requires the JWT users' tenant.
// Every write cell works on its own resource (or on state where repeating the call is valid), so no cell's result
// depends on the order the cells run in; every refused cell must leave the ledger unchanged.
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
import { startOidcProvider, type TestOidcProvider } from "../support/oidc-provider.js";

const COLUMNS = [
  "none",
  "unknownCert",
  "acceptedMember",
  "activeMember",
  "certUser",
  "jwtUser",
  "jwtOtherTenant",
  "jwtUnregistered",
  "nonApprover",
] as const;
type Column = (typeof COLUMNS)[number];

const COLUMN_MEANING: Record<Column, string> = {
  none: "no client certificate, no token",
  unknownCert: "a fresh self-signed P-384 certificate nobody registered",
  acceptedMember: "a member added by proposal that never activated (status Accepted)",
  activeMember: "an Active member; an approver of the documents under test",
  certUser: "a certificate user (set_user); an approver of the documents under test",
  jwtUser: "a JWT user: registered oid, right tid; an approver of the documents under test",
  jwtOtherTenant: "a token with a registered oid but another tid",
  jwtUnregistered: "a valid token of the trusted issuer whose oid is not registered",
  nonApprover: "an Active member who is not an approver of the documents under test",
};

// Expected cells: the status, and for errors the code.
const OK = "200";
const NO_CONTENT = "204";
const UNAUTHENTICATED = "401 InvalidAuthenticationInfo";
const OTHER_TENANT = "403 CallerTenantNotAuthorized";
const UNREGISTERED = "403 CallerNotAuthorized";
const NOT_ACTIVE = "403 MemberNotActive";
const MEMBER_ONLY = "403 MemberOnly";
const NOT_APPROVER = "403 NotUserDocumentApprover";
const CLAIM_MISMATCH = "403 TokenClaimMismatch";
/** Attested endpoints called without attestation: for anonymous ones identities do not matter, the attestation does. */
const NO_ATTESTATION = "400 AttestationMissing";
/** Accepting an invitation takes a bearer token only: a member's or user's certificate is not an invitee. */
const NO_TOKEN = UNAUTHENTICATED;

type Row = Record<Column, string>;
function row(...cells: string[]): Row {
  if (cells.length !== COLUMNS.length) throw new Error(`a row needs ${COLUMNS.length} cells, got ${cells.length}`);
  return Object.fromEntries(COLUMNS.map((column, i) => [column, cells[i]!])) as Row;
}

// Rows: endpoints; columns: callers (see COLUMN_MEANING).
const EXPECTED: Record<string, Row> = {
  //                                                                                                  none             unknownCert      acceptedMember activeMember certUser     jwtUser      jwtOtherTenant jwtUnregistered nonApprover
  "GET /app/contracts":                                                                           row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "PUT /app/contracts/{contractId}":                                                              row(UNAUTHENTICATED, UNAUTHENTICATED, NOT_ACTIVE,    OK,          MEMBER_ONLY, MEMBER_ONLY, OTHER_TENANT,  UNREGISTERED,   OK),
  "GET /app/contracts/{contractId}":                                                              row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "POST /app/contracts/{contractId}":                                                             row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "POST /app/contracts/{contractId}/runtimeoptions/{option}/status":                              row(NO_ATTESTATION,  UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "POST /app/contracts/{contractId}/runtimeoptions/{option}/enable":                              row(UNAUTHENTICATED, UNAUTHENTICATED, NOT_ACTIVE,    OK,          MEMBER_ONLY, MEMBER_ONLY, OTHER_TENANT,  UNREGISTERED,   OK),
  "POST /app/contracts/{contractId}/runtimeoptions/{option}/disable":                             row(UNAUTHENTICATED, UNAUTHENTICATED, NOT_ACTIVE,    OK,          MEMBER_ONLY, MEMBER_ONLY, OTHER_TENANT,  UNREGISTERED,   OK),
  "GET /app/contracts/{contractId}/cleanroompolicy":                                              row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "POST /app/contracts/{contractId}/cleanroompolicy":                                             row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "GET /app/contracts/{contractId}/cleanroompolicy/delegates":                                    row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "POST /app/contracts/{contractId}/cleanroompolicy/delegates/{delegateType}/{delegateId}":       row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "PUT /app/contracts/{contractId}/cleanroompolicy/delegates/{delegateType}/{delegateId}":        row(NO_ATTESTATION,  NO_ATTESTATION,  NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION),
  "PUT /app/contracts/{contractId}/secrets/{secretName}":                                         row(NO_ATTESTATION,  UNAUTHENTICATED, NOT_ACTIVE,    OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "POST /app/contracts/{contractId}/secrets/{secretId}":                                          row(NO_ATTESTATION,  NO_ATTESTATION,  NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION),
  "POST /app/contracts/{contractId}/oauth/token":                                                 row(NO_ATTESTATION,  NO_ATTESTATION,  NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION),
  "GET /app/contracts/{contractId}/secrets":                                                      row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "GET /app/oidc/.well-known/openid-configuration":                                               row(OK,              OK,              OK,            OK,          OK,          OK,          OK,            OK,             OK),
  "GET /app/oidc/keys":                                                                           row(OK,              OK,              OK,            OK,          OK,          OK,          OK,            OK,             OK),
  "POST /app/oidc/generateSigningKey":                                                            row(UNAUTHENTICATED, UNAUTHENTICATED, NOT_ACTIVE,    OK,          MEMBER_ONLY, MEMBER_ONLY, OTHER_TENANT,  UNREGISTERED,   OK),
  "POST /app/oidc/issuerInfo":                                                                    row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "GET /app/contracts/{contractId}/userdocuments":                                                row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "PUT /app/contracts/{contractId}/userdocuments/{documentId}":                                   row(UNAUTHENTICATED, UNAUTHENTICATED, NOT_ACTIVE,    OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "GET /app/contracts/{contractId}/userdocuments/{documentId}":                                   row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "POST /app/contracts/{contractId}/userdocuments/{documentId}":                                  row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "POST /app/contracts/{contractId}/userdocuments/{documentId}/approval":                         row(UNAUTHENTICATED, UNAUTHENTICATED, NOT_ACTIVE,    OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   NOT_APPROVER),
  "POST /app/contracts/{contractId}/userdocuments/{documentId}/runtimeoptions/{option}/status":   row(NO_ATTESTATION,  UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "POST /app/contracts/{contractId}/userdocuments/{documentId}/runtimeoptions/{option}/enable":   row(UNAUTHENTICATED, UNAUTHENTICATED, NOT_ACTIVE,    OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   NOT_APPROVER),
  "POST /app/contracts/{contractId}/userdocuments/{documentId}/runtimeoptions/{option}/disable":  row(UNAUTHENTICATED, UNAUTHENTICATED, NOT_ACTIVE,    OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   NOT_APPROVER),
  "POST /app/contracts/{contractId}/userdocuments/accepted/{documentId}":                         row(NO_ATTESTATION,  NO_ATTESTATION,  NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION),
  "POST /app/contracts/{contractId}/userdocuments/{documentId}/approvalstatus":                   row(NO_ATTESTATION,  NO_ATTESTATION,  NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION),
  "POST /app/contracts/{contractId}/callers/status":                                              row(NO_ATTESTATION,  NO_ATTESTATION,  NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION, NO_ATTESTATION),
  "GET /app/contracts/{contractId}/events":                                                       row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "PUT /app/contracts/{contractId}/events":                                                       row(NO_ATTESTATION,  UNAUTHENTICATED, NOT_ACTIVE,    NO_CONTENT,  NO_CONTENT,  NO_CONTENT,  OTHER_TENANT,  UNREGISTERED,   NO_CONTENT),
  "GET /app/users/identities":                                                                    row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "GET /app/users/identities/{identityId}":                                                       row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "POST /app/users/identities/self/status":                                                       row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "GET /app/users/invitations":                                                                   row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "GET /app/users/invitations/{invitationId}":                                                    row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "POST /app/users/invitations/{invitationId}/accept":                                            row(UNAUTHENTICATED, UNAUTHENTICATED, NO_TOKEN,      NO_TOKEN,    NO_TOKEN,    OK,          CLAIM_MISMATCH, OK,             NO_TOKEN),
  "GET /gov/service/jwt-issuers":                                                                 row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "GET /app/identity":                                                                            row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "GET /app/tx":                                                                                  row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
  "GET /app/receipt":                                                                             row(UNAUTHENTICATED, UNAUTHENTICATED, OK,            OK,          OK,          OK,          OTHER_TENANT,  UNREGISTERED,   OK),
};

/** What a cell sends. Builders of write cells may first create (as an Active member) a resource for the cell alone. */
interface CellRequest {
  method: string;
  path: string;
  body?: unknown;
}

const CONTRACT = "matrix";
const DOCUMENT = "consented";
const JWT_USER = { oid: "oid-matrix-user", tid: "tenant-matrix" };
const INVITATION = "matrix-invitation";

let consortium: Consortium;
let idp: TestOidcProvider;
let m0: TestIdentity;
let m1: TestIdentity;
let accepted: TestIdentity;
let identities: Record<Column, RequestIdentity | undefined>;
let approvers: Actor[];
let someTransaction: string;
let counter = 0;
const fresh = (prefix: string) => `${prefix}-${++counter}`;

beforeAll(async () => {
  idp = await startOidcProvider({
    clients: [
      { clientId: "user", ...JWT_USER },
      { clientId: "other-tenant", oid: JWT_USER.oid, tid: "tenant-elsewhere" },
      { clientId: "unregistered", oid: "oid-nobody", tid: JWT_USER.tid },
    ],
  });
  // No signature transactions on a timer: a refused cell is checked to leave the last transaction id unchanged.
  consortium = await startConsortium({ members: ["m0", "m1"], service: { signatureIntervalMs: 1_000_000_000, signatureEveryTx: 1_000_000 } });
  [m0, m1] = consortium.members as [TestIdentity, TestIdentity];
  const certUser = await makeIdentity("cert-user");
  await enact(consortium, [
    { name: "set_user", args: { cert: certUser.certificatePem, user_data: { tenantId: "tenant", identifier: "cert-user" } } },
    { name: "set_jwt_issuer", args: { issuer: idp.issuer, auto_refresh: true, ca_cert_bundle: idp.certificatePem } },
    { name: "set_user_identity", args: { id: JWT_USER.oid, data: { tenantId: JWT_USER.tid } } },
    { name: "set_user_invitation_by_jwt_claims", args: { invitationId: INVITATION, type: "add", claims: { tid: JWT_USER.tid } } },
    { name: "enable_oidc_issuer", args: { issuer_url: "https://issuer.example.com/matrix" } },
  ]);
  expect((await appRequest(consortium.service, m0, "POST", "/app/oidc/generateSigningKey")).status).toBe(200);
  const [userToken, otherTenantToken, unregisteredToken] = await Promise.all([idp.token("user"), idp.token("other-tenant"), idp.token("unregistered")]);
  const jwtUser: Actor = { token: userToken, id: JWT_USER.oid, kind: "user" };
  const certUserActor: Actor = { certificatePem: certUser.certificatePem, keys: certUser.keys, id: certUser.id, kind: "user" };

  // Contracts can be accepted only while no member is still Accepted (reference §3.2 step 8): accept it first.
  await acceptContract(consortium, CONTRACT);
  approvers = [memberActor(m0), certUserActor, jwtUser];
  await acceptedDocument(consortium, m0, CONTRACT, DOCUMENT, approvers);
  accepted = await consortium.addMemberWithoutActivation("accepted-member");
  someTransaction = await lastTransactionId(consortium);

  identities = {
    none: undefined,
    unknownCert: await makeIdentity("stranger"),
    acceptedMember: accepted,
    activeMember: m0,
    certUser: certUserActor,
    jwtUser,
    jwtOtherTenant: { token: otherTenantToken },
    jwtUnregistered: { token: unregisteredToken },
    nonApprover: m1,
  };
  // The JWT user's approval above fetched the issuer's keys (a ledger write); every cell finds them stored, so a
  // refused token never writes. Check the set-up identities before the matrix relies on them.
  for (const column of ["jwtUser", "acceptedMember", "certUser"] as const) {
    const response = await appRequest(consortium.service, identities[column], "POST", "/app/users/identities/self/status");
    expect(response.status, `${column}: ${JSON.stringify(response.body)}`).toBe(200);
  }
});
afterAll(async () => {
  await consortium?.close();
  await idp?.stop();
});

const contractPath = (suffix = "") => `/app/contracts/${CONTRACT}${suffix}`;

/** How each row's cells are called. Writes get fresh ids or repeat calls that stay valid (consent toggles, events). */
const REQUESTS: Record<string, (column: Column) => Promise<CellRequest> | CellRequest> = {
  "GET /app/contracts": () => ({ method: "GET", path: "/app/contracts" }),
  "PUT /app/contracts/{contractId}": (column) => ({ method: "PUT", path: `/app/contracts/${fresh(`contract-${column}`)}`, body: { data: { by: column } } }),
  "GET /app/contracts/{contractId}": () => ({ method: "GET", path: contractPath() }),
  "POST /app/contracts/{contractId}": () => ({ method: "POST", path: contractPath() }),
  "POST /app/contracts/{contractId}/runtimeoptions/{option}/status": () => ({ method: "POST", path: contractPath("/runtimeoptions/execution/status") }),
  "POST /app/contracts/{contractId}/runtimeoptions/{option}/enable": () => ({ method: "POST", path: contractPath("/runtimeoptions/execution/enable") }),
  "POST /app/contracts/{contractId}/runtimeoptions/{option}/disable": () => ({ method: "POST", path: contractPath("/runtimeoptions/execution/disable") }),
  "GET /app/contracts/{contractId}/cleanroompolicy": () => ({ method: "GET", path: contractPath("/cleanroompolicy") }),
  "POST /app/contracts/{contractId}/cleanroompolicy": () => ({ method: "POST", path: contractPath("/cleanroompolicy") }),
  "GET /app/contracts/{contractId}/cleanroompolicy/delegates": () => ({ method: "GET", path: contractPath("/cleanroompolicy/delegates") }),
  "POST /app/contracts/{contractId}/cleanroompolicy/delegates/{delegateType}/{delegateId}": () => ({
    method: "POST",
    path: contractPath(`/cleanroompolicy/delegates/oauth-federation-subjects/${encodeURIComponent(`${CONTRACT}/spark`)}`),
  }),
  "PUT /app/contracts/{contractId}/cleanroompolicy/delegates/{delegateType}/{delegateId}": () => ({ method: "PUT", path: contractPath("/cleanroompolicy/delegates/events/writer"), body: {} }),
  "PUT /app/contracts/{contractId}/secrets/{secretName}": (column) => ({ method: "PUT", path: contractPath(`/secrets/${fresh(column)}`), body: { value: "s3cret" } }),
  "POST /app/contracts/{contractId}/secrets/{secretId}": () => ({ method: "POST", path: contractPath("/secrets/some_secret"), body: {} }),
  "POST /app/contracts/{contractId}/oauth/token": () => ({ method: "POST", path: contractPath("/oauth/token?sub=matrix&aud=x"), body: {} }),
  "GET /app/contracts/{contractId}/secrets": () => ({ method: "GET", path: contractPath("/secrets") }),
  "GET /app/oidc/.well-known/openid-configuration": () => ({ method: "GET", path: "/app/oidc/.well-known/openid-configuration" }),
  "GET /app/oidc/keys": () => ({ method: "GET", path: "/app/oidc/keys" }),
  "POST /app/oidc/generateSigningKey": () => ({ method: "POST", path: "/app/oidc/generateSigningKey" }),
  "POST /app/oidc/issuerInfo": () => ({ method: "POST", path: "/app/oidc/issuerInfo" }),
  "GET /app/contracts/{contractId}/userdocuments": () => ({ method: "GET", path: contractPath("/userdocuments?labelSelector=kind:dataset") }),
  "PUT /app/contracts/{contractId}/userdocuments/{documentId}": (column) => ({
    method: "PUT",
    path: documentPath(CONTRACT, fresh(`document-${column}`)),
    body: { data: { by: column }, labels: { kind: "dataset" }, approvers: approversOf(...approvers) },
  }),
  "GET /app/contracts/{contractId}/userdocuments/{documentId}": () => ({ method: "GET", path: documentPath(CONTRACT, DOCUMENT) }),
  "POST /app/contracts/{contractId}/userdocuments/{documentId}": () => ({ method: "POST", path: documentPath(CONTRACT, DOCUMENT) }),
  "POST /app/contracts/{contractId}/userdocuments/{documentId}/approval": async (column) => {
    // A Draft of its own for every cell, created by an approver: each cell's approval is the document's first.
    const id = fresh(`approval-${column}`);
    const version = await createDocument(consortium, m0, CONTRACT, id, { approvers: approversOf(...approvers) });
    return { method: "POST", path: documentPath(CONTRACT, id, "/approval"), body: { version, action: "accept" } };
  },
  "POST /app/contracts/{contractId}/userdocuments/{documentId}/runtimeoptions/{option}/status": () => ({
    method: "POST",
    path: documentPath(CONTRACT, DOCUMENT, "/runtimeoptions/execution/status"),
  }),
  "POST /app/contracts/{contractId}/userdocuments/{documentId}/runtimeoptions/{option}/enable": () => ({
    method: "POST",
    path: documentPath(CONTRACT, DOCUMENT, "/runtimeoptions/execution/enable"),
  }),
  "POST /app/contracts/{contractId}/userdocuments/{documentId}/runtimeoptions/{option}/disable": () => ({
    method: "POST",
    path: documentPath(CONTRACT, DOCUMENT, "/runtimeoptions/telemetry/disable"),
  }),
  "POST /app/contracts/{contractId}/userdocuments/accepted/{documentId}": () => ({ method: "POST", path: documentPath(CONTRACT, "accepted", `/${DOCUMENT}`), body: {} }),
  "POST /app/contracts/{contractId}/userdocuments/{documentId}/approvalstatus": () => ({ method: "POST", path: documentPath(CONTRACT, DOCUMENT, "/approvalstatus"), body: {} }),
  "POST /app/contracts/{contractId}/callers/status": () => ({ method: "POST", path: contractPath("/callers/status"), body: {} }),
  "GET /app/contracts/{contractId}/events": () => ({ method: "GET", path: contractPath("/events?scope=matrix&from_seqno=1") }),
  "PUT /app/contracts/{contractId}/events": (column) => ({ method: "PUT", path: contractPath(`/events?scope=matrix&id=${fresh(column)}`), body: { data: { by: column } } }),
  "GET /app/users/identities": () => ({ method: "GET", path: "/app/users/identities" }),
  "GET /app/users/identities/{identityId}": () => ({ method: "GET", path: `/app/users/identities/${JWT_USER.oid}` }),
  "POST /app/users/identities/self/status": () => ({ method: "POST", path: "/app/users/identities/self/status" }),
  "GET /app/users/invitations": () => ({ method: "GET", path: "/app/users/invitations" }),
  "GET /app/users/invitations/{invitationId}": () => ({ method: "GET", path: `/app/users/invitations/${INVITATION}` }),
  "POST /app/users/invitations/{invitationId}/accept": async (column) => {
    // An Open invitation of its own for every cell: each cell's acceptance is the invitation's first.
    const invitationId = fresh(`invitation-${column}`);
    await enact(consortium, [{ name: "set_user_invitation_by_jwt_claims", args: { invitationId, type: "add", claims: { tid: JWT_USER.tid } } }]);
    return { method: "POST", path: `/app/users/invitations/${invitationId}/accept` };
  },
  "GET /gov/service/jwt-issuers": () => ({ method: "GET", path: "/gov/service/jwt-issuers" }),
  "GET /app/identity": () => ({ method: "GET", path: "/app/identity" }),
  "GET /app/tx": () => ({ method: "GET", path: `/app/tx?transaction_id=${someTransaction}` }),
  "GET /app/receipt": () => ({ method: "GET", path: `/app/receipt?transaction_id=${someTransaction}` }),
};

const actual: Record<string, Partial<Row>> = {};

function formatTable(rows: string[], values: (endpoint: string, column: Column) => string): string {
  const header = ["endpoint", ...COLUMNS];
  const lines = rows.map((endpoint) => [endpoint, ...COLUMNS.map((column) => values(endpoint, column))]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i]!.length)));
  const render = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ");
  return [render(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...lines.map(render)].join("\n");
}

/** Expected and actual side by side; mismatching cells marked `✗ expected → actual`. */
function mismatchTable(rows: string[]): string {
  return formatTable(rows, (endpoint, column) => {
    const want = EXPECTED[endpoint]![column];
    const got = actual[endpoint]?.[column];
    if (got === undefined) return `${want} (not run)`;
    return got === want ? got : `✗ ${want} → ${got}`;
  });
}

async function runCell(endpoint: string, column: Column): Promise<string> {
  const request = await REQUESTS[endpoint]!(column);
  const expected = EXPECTED[endpoint]![column];
  const refusalExpected = !expected.startsWith("2");
  const before = refusalExpected ? await lastTransactionId(consortium) : undefined;
  const response: AppResponse = await appRequest(consortium.service, identities[column], request.method, request.path, request.body);
  let result = outcome(response);
  if (response.status >= 400) {
    const body = response.body as { error?: { message?: unknown } } | undefined;
    if (typeof body?.error?.message !== "string") result += " (no error message)";
  }
  if (before !== undefined && response.status >= 400) {
    const after = await lastTransactionId(consortium);
    if (after !== before) result += ` (wrote ${before} → ${after})`;
  }
  return result;
}

describe("authorization matrix of the application endpoints", () => {
  it("covers every /app endpoint the service serves (from its OpenAPI document) and nothing else", async () => {
    const response = await appRequest(consortium.service, undefined, "GET", "/openapi.json");
    expect(response.status).toBe(200);
    const paths = (response.body as { paths: Record<string, Record<string, unknown>> }).paths;
    const served = Object.entries(paths)
      .filter(([path]) => path.startsWith("/app/") || path === "/gov/service/jwt-issuers")
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.split("?")[0]}`))
      .sort();
    expect(Object.keys(EXPECTED).sort()).toEqual(served);
    expect(Object.keys(REQUESTS).sort()).toEqual(served);
  });

  it("each column authenticates as the identity it stands for", async () => {
    const seen: Partial<Record<Column, unknown>> = {};
    for (const column of ["acceptedMember", "activeMember", "certUser", "jwtUser", "nonApprover"] as const) {
      const { kind, id, status, authenticatedBy } = (await appRequest(consortium.service, identities[column], "GET", "/app/identity")).body as Record<string, unknown>;
      seen[column] = { kind, id, status, authenticatedBy };
    }
    expect(seen).toEqual({
      acceptedMember: { kind: "member", id: accepted.id, status: "Accepted", authenticatedBy: "certificate" },
      activeMember: { kind: "member", id: m0.id, status: "Active", authenticatedBy: "certificate" },
      certUser: { kind: "user", id: approvers[1]!.id, status: undefined, authenticatedBy: "certificate" },
      jwtUser: { kind: "user", id: JWT_USER.oid, status: undefined, authenticatedBy: "jwt" },
      nonApprover: { kind: "member", id: m1.id, status: "Active", authenticatedBy: "certificate" },
    });
  });

  it.each(Object.keys(EXPECTED))("%s", async (endpoint) => {
    const cells: Partial<Row> = {};
    actual[endpoint] = cells;
    for (const column of COLUMNS) cells[column] = await runCell(endpoint, column);
    const cellNames = COLUMNS.filter((c) => cells[c] !== EXPECTED[endpoint]![c]).map((c) => `${endpoint} as ${c} (${COLUMN_MEANING[c]})`);
    expect(cells, `mismatching cells:\n  ${cellNames.join("\n  ")}\n\n${mismatchTable([endpoint])}`).toEqual(EXPECTED[endpoint]);
  });

  it("the refused cells changed nothing the successful ones did not: the consent document and contract are as the cells left them", async () => {
    // Only approvers' calls reached the consent maps: the document's telemetry was disabled by exactly the three
    // approvers whose disable cells succeeded; the contract's execution consent was last set by enable/disable
    // cells of the two Active members (disable ran after enable).
    const telemetry = await appRequest(consortium.service, m0, "POST", documentPath(CONTRACT, DOCUMENT, "/runtimeoptions/telemetry/status"));
    expect(telemetry.body).toMatchObject({ status: "disabled", disabledBy: approvers.map((a) => a.id).sort() });
    const execution = await appRequest(consortium.service, m0, "POST", contractPath("/runtimeoptions/execution/status"));
    expect(execution.body).toMatchObject({ status: "disabled", disabledBy: [m0.id, m1.id].sort() });
  });
});

afterAll(() => {
  // The whole matrix, once, when any cell differs: the per-row assertion messages show only their own row.
  const rows = Object.keys(EXPECTED).filter((endpoint) => actual[endpoint] !== undefined);
  const failed = rows.some((endpoint) => COLUMNS.some((column) => actual[endpoint]![column] !== EXPECTED[endpoint]![column]));
  if (failed) console.log(`Authorization matrix (✗ expected → actual):\n${mismatchTable(rows)}`);
});
