// Datasets, sinks and queries as user documents (issue 5 item 1, docs/analytics-documents.md): strict validation of
// their data, secrets and federation subjects bound to the owner, and query approvers computed from the owners of
// what the query reads and writes. Every refusal is a 400 naming the field, and writes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserDocumentSchema, type Approver, type DatasetSpecification, type QuerySpecification, type UserDocument } from "@cleanroom/protocol";
import {
  NO_TIMED_SIGNATURES,
  acceptContract,
  approversOf,
  documentPath,
  enact,
  governanceEvents,
  lastTransactionId,
  memberActor,
  outcome,
  type Actor,
} from "../support/app-fixtures.js";
import { appRequest, type AppResponse } from "../support/app-requests.js";
import { makeIdentity, startConsortium, type Consortium } from "../support/consortium.js";

const CONTRACT = "ads";

let consortium: Consortium;
/** The publisher (a member), the advertiser (a user) and a third party (a member) who owns nothing. */
let publisher: Actor;
let advertiser: Actor;
let outsider: Actor;
let counter = 0;
const newId = (prefix: string) => `${prefix}-${++counter}`;

beforeAll(async () => {
  consortium = await startConsortium({ service: NO_TIMED_SIGNATURES });
  publisher = memberActor(consortium.members[0]!);
  outsider = memberActor(consortium.members[1]!);
  const user = await makeIdentity("advertiser");
  advertiser = { certificatePem: user.certificatePem, keys: user.keys, id: user.id, kind: "user" };
  await enact(consortium, [{ name: "set_user", args: { cert: user.certificatePem, user_data: { tenantId: "tenant" } } }]);
  await acceptContract(consortium, CONTRACT);
});
afterAll(() => consortium?.close());

function put(who: Actor, id: string, type: string | undefined, data: unknown, extra: Record<string, unknown> = {}): Promise<AppResponse> {
  return appRequest(consortium.service, who, "PUT", documentPath(CONTRACT, id), { data, ...(type === undefined ? {} : { labels: { type } }), ...extra });
}

async function show(id: string): Promise<UserDocument> {
  const response = await appRequest(consortium.service, outsider, "GET", documentPath(CONTRACT, id));
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return UserDocumentSchema.parse(response.body);
}

async function approve(who: Actor, id: string, version: string, action: "accept" | "reject" = "accept"): Promise<AppResponse> {
  return appRequest(consortium.service, who, "POST", documentPath(CONTRACT, id, "/approval"), { version, action });
}

/** Creates the document as `owner` and has the owner (its only approver by default) accept it. */
async function publish(owner: Actor, id: string, type: "dataset" | "datasink", data: DatasetSpecification): Promise<string> {
  const response = await put(owner, id, type, data);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  const version = response.transactionId!;
  expect((await approve(owner, id, version)).status).toBe(200);
  expect((await show(id)).state).toBe("Accepted");
  return version;
}

// The worked example of docs/analytics-documents.md.
const impressions = (owner: Actor): DatasetSpecification => ({
  name: "impressions",
  schema: {
    format: "parquet",
    fields: [
      { name: "user_hash", type: "string" },
      { name: "campaign_id", type: "long" },
      { name: "day", type: "date" },
      { name: "ip_address", type: "string" },
    ],
  },
  accessPolicy: { accessMode: "read", allowedFields: ["user_hash", "campaign_id", "day"] },
  location: { kind: "s3", endpoint: "http://127.0.0.1:9000", region: "us-east-1", bucket: "publisher-data", prefix: "impressions/v1", forcePathStyle: true },
  encryption: { mode: "parquet-uniform", keySecretId: `${owner.id}_impressions-key` },
  credentials: { kind: "federation", subject: `${CONTRACT}/${owner.id}/storage`, audience: "cleanroom-minio", roleArn: "arn:minio:iam:us-east-1::role/publisher" },
});

const conversions = (owner: Actor): DatasetSpecification => ({
  name: "conversions",
  schema: {
    format: "parquet",
    fields: [
      { name: "user_hash", type: "string" },
      { name: "converted_at", type: "timestamp" },
      { name: "value", type: "number" },
    ],
  },
  accessPolicy: { accessMode: "read", allowedFields: ["user_hash", "converted_at", "value"] },
  location: { kind: "azure-blob", accountUrl: "https://advertiser.blob.core.windows.net", container: "conversions", prefix: "2026" },
  encryption: { mode: "parquet-uniform", keySecretId: `${owner.id}_conversions-key` },
  credentials: {
    kind: "federation",
    subject: `${CONTRACT}/${owner.id}`,
    audience: "api://AzureADTokenExchange",
    tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
    clientId: "0b4b1b4e-5a3d-4c8e-9a7f-1f2e3d4c5b6a",
  },
});

const results = (owner: Actor): DatasetSpecification => ({
  name: "campaign-results",
  schema: {
    format: "parquet",
    fields: [
      { name: "campaign_id", type: "long" },
      { name: "conversions", type: "long" },
      { name: "revenue", type: "number" },
    ],
  },
  accessPolicy: { accessMode: "write", allowedFields: ["campaign_id", "conversions", "revenue"] },
  location: { kind: "local", path: "/var/lib/cleanroom/sinks/advertiser" },
  encryption: { mode: "parquet-uniform", keySecretId: `${owner.id}_results-key` },
  credentials: { kind: "none" },
});

const joinQuery = (inputs: [string, string], sink: string): QuerySpecification => ({
  inputs: [
    { dataset: inputs[0], view: "impressions" },
    { dataset: inputs[1], view: "conversions" },
  ],
  output: { sink },
  segments: [
    {
      executionSequence: 1,
      statement:
        "CREATE OR REPLACE TEMP VIEW joined AS SELECT i.campaign_id, c.value FROM impressions i JOIN conversions c ON i.user_hash = c.user_hash",
    },
    {
      executionSequence: 2,
      statement: "SELECT campaign_id, COUNT(*) AS conversions, SUM(value) AS revenue FROM joined GROUP BY campaign_id",
      preConditions: [{ viewName: "joined", minRowCount: 100 }],
      postFilters: [{ columnName: "conversions", value: 10 }],
    },
  ],
});

/** A copy of `value` with the property at `path` set (or deleted, for undefined). */
function withField<T>(value: T, path: Array<string | number>, field: unknown): T {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let target = copy;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (field === undefined) delete target[last];
  else target[last] = field;
  return copy as T;
}

/** Expects `status code` with a message matching `message`, and no transaction written. */
async function expectRefused(request: () => Promise<AppResponse>, expected: string, message: RegExp): Promise<void> {
  const before = await lastTransactionId(consortium);
  const response = await request();
  const body = response.body as { error?: { message?: string } };
  expect({ outcome: outcome(response), message: body.error?.message }, JSON.stringify(response.body)).toEqual({ outcome: expected, message: expect.stringMatching(message) });
  expect(await lastTransactionId(consortium), "nothing written").toBe(before);
}

const keyOf = (approver: Approver) => `${approver.approverIdType}:${approver.approverId}`;

describe("datasets and sinks", () => {
  it("are validated, owned by their creator and, by default, approved by the owner alone", async () => {
    const id = newId("impressions");
    const response = await put(publisher, id, "dataset", impressions(publisher));
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const draft = await show(id);
    expect(draft).toMatchObject({ state: "Draft", data: impressions(publisher), labels: { type: "dataset" }, proposerId: publisher.id, proposerIdType: "member" });
    expect(draft.approvers).toEqual(approversOf(publisher));
    expect(UserDocumentSchema.parse((await approve(publisher, id, response.transactionId!)).body).state).toBe("Accepted");

    const sink = newId("results");
    await publish(advertiser, sink, "datasink", results(advertiser));
    expect(await show(sink)).toMatchObject({ approvers: approversOf(advertiser), proposerId: advertiser.id, proposerIdType: "user" });
  });

  it("take explicit approvers that include the owner, and refuse approvers without it", async () => {
    const id = newId("shared");
    const response = await put(advertiser, id, "dataset", conversions(advertiser), { approvers: approversOf(outsider, advertiser) });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect((await show(id)).approvers).toEqual(approversOf(outsider, advertiser));
    await expectRefused(() => put(advertiser, newId("foreign"), "dataset", conversions(advertiser), { approvers: approversOf(outsider) }), "400 InvalidApprovers", /must include its owner/);
  });

  const dataset = () => impressions(publisher);
  const sink = () => results(advertiser);
  const azure = () => conversions(advertiser);
  const fields = (count: number) => Array.from({ length: count }, (_, i) => ({ name: `f${i}`, type: "string" }));
  // [what, document type, owner, data, code, field the message names]
  const cases: Array<[string, "dataset" | "datasink", () => Actor, () => unknown, string, RegExp]> = [
    ["data that is JSON text", "dataset", () => publisher, () => JSON.stringify(dataset()), "InvalidDatasetDocument", /^Invalid dataset document: data: /],
    ["an unknown top-level field", "dataset", () => publisher, () => ({ ...dataset(), owner: "me" }), "InvalidDatasetDocument", /data: Unrecognized key/],
    ["name missing", "dataset", () => publisher, () => withField(dataset(), ["name"], undefined), "InvalidDatasetDocument", /data\.name: /],
    ["name with capitals", "dataset", () => publisher, () => withField(dataset(), ["name"], "Impressions"), "InvalidDatasetDocument", /data\.name: /],
    ["format xml", "dataset", () => publisher, () => withField(dataset(), ["schema", "format"], "xml"), "InvalidDatasetDocument", /data\.schema\.format: /],
    ["field type float", "dataset", () => publisher, () => withField(dataset(), ["schema", "fields", 1, "type"], "float"), "InvalidDatasetDocument", /data\.schema\.fields\.1\.type: /],
    ["a field name with a hyphen", "dataset", () => publisher, () => withField(dataset(), ["schema", "fields", 0, "name"], "user-hash"), "InvalidDatasetDocument", /data\.schema\.fields\.0\.name: /],
    ["a field name starting with a digit", "dataset", () => publisher, () => withField(dataset(), ["schema", "fields", 0, "name"], "1st"), "InvalidDatasetDocument", /data\.schema\.fields\.0\.name: /],
    ["a field with an extra key", "dataset", () => publisher, () => withField(dataset(), ["schema", "fields", 0, "nullable"], false), "InvalidDatasetDocument", /data\.schema\.fields\.0: Unrecognized key/],
    ["duplicate field names (case-insensitive)", "dataset", () => publisher, () => withField(dataset(), ["schema", "fields", 3, "name"], "DAY"), "InvalidDatasetDocument", /data\.schema\.fields\.3\.name: duplicate field/],
    ["no fields", "dataset", () => publisher, () => withField(dataset(), ["schema", "fields"], []), "InvalidDatasetDocument", /data\.schema\.fields: /],
    ["1025 fields", "dataset", () => publisher, () => withField(dataset(), ["schema", "fields"], fields(1025)), "InvalidDatasetDocument", /data\.schema\.fields: /],
    ["a dataset with accessMode write", "dataset", () => publisher, () => withField(dataset(), ["accessPolicy", "accessMode"], "write"), "InvalidDatasetDocument", /data\.accessPolicy\.accessMode: /],
    ["a sink with accessMode read", "datasink", () => advertiser, () => withField(sink(), ["accessPolicy", "accessMode"], "read"), "InvalidDatasetDocument", /^Invalid datasink document: data\.accessPolicy\.accessMode: /],
    ["an allowed field the schema lacks", "dataset", () => publisher, () => withField(dataset(), ["accessPolicy", "allowedFields", 1], "email"), "InvalidDatasetDocument", /data\.accessPolicy\.allowedFields\.1: 'email' is not a field/],
    ["an allowed field twice", "dataset", () => publisher, () => withField(dataset(), ["accessPolicy", "allowedFields", 2], "user_hash"), "InvalidDatasetDocument", /data\.accessPolicy\.allowedFields\.2: duplicate/],
    ["no allowed fields", "dataset", () => publisher, () => withField(dataset(), ["accessPolicy", "allowedFields"], []), "InvalidDatasetDocument", /data\.accessPolicy\.allowedFields: /],
    ["an unknown location kind", "dataset", () => publisher, () => withField(dataset(), ["location"], { kind: "gcs", bucket: "b" }), "InvalidDatasetDocument", /data\.location\.kind: /],
    ["a relative local path", "datasink", () => advertiser, () => withField(sink(), ["location", "path"], "sinks/advertiser"), "InvalidDatasetDocument", /data\.location\.path: /],
    ["a local path with '..'", "datasink", () => advertiser, () => withField(sink(), ["location", "path"], "/var/lib/../../etc"), "InvalidDatasetDocument", /data\.location\.path: /],
    ["a local path with a trailing slash", "datasink", () => advertiser, () => withField(sink(), ["location", "path"], "/var/lib/"), "InvalidDatasetDocument", /data\.location\.path: /],
    ["an http account URL off the loopback", "dataset", () => advertiser, () => withField(azure(), ["location", "accountUrl"], "http://advertiser.blob.core.windows.net"), "InvalidDatasetDocument", /data\.location\.accountUrl: expected an https URL/],
    ["an account URL with a SAS token", "dataset", () => advertiser, () => withField(azure(), ["location", "accountUrl"], "https://advertiser.blob.core.windows.net/?sv=2024&sig=abc"), "InvalidDatasetDocument", /data\.location\.accountUrl: the URL must not carry/],
    ["an invalid container name", "dataset", () => advertiser, () => withField(azure(), ["location", "container"], "Conversions_2026"), "InvalidDatasetDocument", /data\.location\.container: /],
    ["a prefix climbing out", "dataset", () => advertiser, () => withField(azure(), ["location", "prefix"], "2026/../other"), "InvalidDatasetDocument", /data\.location\.prefix: /],
    ["an absolute prefix", "dataset", () => publisher, () => withField(dataset(), ["location", "prefix"], "/impressions"), "InvalidDatasetDocument", /data\.location\.prefix: /],
    ["an invalid bucket name", "dataset", () => publisher, () => withField(dataset(), ["location", "bucket"], "Publisher..Data"), "InvalidDatasetDocument", /data\.location\.bucket: /],
    ["an invalid region", "dataset", () => publisher, () => withField(dataset(), ["location", "region"], "US East"), "InvalidDatasetDocument", /data\.location\.region: /],
    ["an endpoint that is not a URL", "dataset", () => publisher, () => withField(dataset(), ["location", "endpoint"], "minio:9000"), "InvalidDatasetDocument", /data\.location\.endpoint: /],
    ["forcePathStyle a string", "dataset", () => publisher, () => withField(dataset(), ["location", "forcePathStyle"], "true"), "InvalidDatasetDocument", /data\.location\.forcePathStyle: /],
    ["an unknown encryption mode", "dataset", () => publisher, () => withField(dataset(), ["encryption"], { mode: "cse" }), "InvalidDatasetDocument", /data\.encryption\.mode: /],
    ["parquet-uniform on CSV", "dataset", () => publisher, () => withField(dataset(), ["schema", "format"], "csv"), "InvalidDatasetDocument", /data\.encryption\.mode: parquet-uniform encryption needs/],
    ["parquet-uniform without a key", "dataset", () => publisher, () => withField(dataset(), ["encryption", "keySecretId"], undefined), "InvalidDatasetDocument", /data\.encryption\.keySecretId: /],
    ["no credentials for S3", "dataset", () => publisher, () => withField(dataset(), ["credentials"], { kind: "none" }), "InvalidDatasetDocument", /data\.credentials\.kind: s3 locations need/],
    ["secret credentials for a local folder", "datasink", () => advertiser, () => withField(sink(), ["credentials"], { kind: "secret", secretId: `${advertiser.id}_s` }), "InvalidDatasetDocument", /data\.credentials\.kind: local locations take/],
    ["S3 federation without roleArn", "dataset", () => publisher, () => withField(dataset(), ["credentials", "roleArn"], undefined), "InvalidDatasetDocument", /data\.credentials\.roleArn: required/],
    ["S3 federation with an Entra tenant", "dataset", () => publisher, () => withField(dataset(), ["credentials", "tenantId"], "contoso"), "InvalidDatasetDocument", /data\.credentials\.tenantId: not used/],
    ["Azure federation without clientId", "dataset", () => advertiser, () => withField(azure(), ["credentials", "clientId"], undefined), "InvalidDatasetDocument", /data\.credentials\.clientId: required/],
    ["Azure federation with a role ARN", "dataset", () => advertiser, () => withField(azure(), ["credentials", "roleArn"], "arn:aws:iam::123456789012:role/x"), "InvalidDatasetDocument", /data\.credentials\.roleArn: not used/],
    ["federation without an audience", "dataset", () => advertiser, () => withField(azure(), ["credentials", "audience"], undefined), "InvalidDatasetDocument", /data\.credentials\.audience: /],
    ["a malformed role ARN", "dataset", () => publisher, () => withField(dataset(), ["credentials", "roleArn"], "publisher-role"), "InvalidDatasetDocument", /data\.credentials\.roleArn: /],
    ["another party's data key", "dataset", () => publisher, () => withField(dataset(), ["encryption", "keySecretId"], `${advertiser.id}_conversions-key`), "SecretOwnerMismatch", /data\.encryption\.keySecretId: /],
    ["another party's storage credentials", "dataset", () => advertiser, () => withField(azure(), ["credentials"], { kind: "secret", secretId: `${publisher.id}_storage` }), "SecretOwnerMismatch", /data\.credentials\.secretId: /],
    ["a clean room's secret", "datasink", () => advertiser, () => withField(sink(), ["encryption", "keySecretId"], "cleanroom_results-key"), "SecretOwnerMismatch", /data\.encryption\.keySecretId: /],
    ["a secret id without an owner", "datasink", () => advertiser, () => withField(sink(), ["encryption", "keySecretId"], "results-key"), "SecretOwnerMismatch", /data\.encryption\.keySecretId: /],
    ["another party's federation subject", "dataset", () => publisher, () => withField(dataset(), ["credentials", "subject"], `${CONTRACT}/${advertiser.id}`), "FederationSubjectMismatch", /data\.credentials\.subject: /],
    ["another contract's federation subject", "dataset", () => publisher, () => withField(dataset(), ["credentials", "subject"], `other/${publisher.id}`), "FederationSubjectMismatch", /data\.credentials\.subject: /],
    ["the contract's bare subject", "dataset", () => publisher, () => withField(dataset(), ["credentials", "subject"], CONTRACT), "FederationSubjectMismatch", /data\.credentials\.subject: /],
    ["a subject with an empty name", "dataset", () => publisher, () => withField(dataset(), ["credentials", "subject"], `${CONTRACT}/${publisher.id}//x`), "FederationSubjectMismatch", /data\.credentials\.subject: /],
  ];

  it.each(cases)("refuse %s", async (_what, type, owner, data, code, message) => {
    await expectRefused(() => put(owner(), newId("bad"), type, data()), `400 ${code}`, message);
  });

  it("accept the secrets and subjects of their owner, whether or not the secret is stored yet", async () => {
    const withSecret = withField(conversions(advertiser), ["credentials"], { kind: "secret", secretId: `${advertiser.id}_azure_shared_key` });
    expect(outcome(await put(advertiser, newId("own-secret"), "dataset", withSecret))).toBe("200");
    expect(outcome(await put(publisher, newId("own-subject"), "dataset", withField(impressions(publisher), ["credentials", "subject"], `${CONTRACT}/${publisher.id}`)))).toBe("200");
  });

  it("refuse a secret id that another identity could also have written", async () => {
    // Secret ids are `<writer id>_<name>` and ids may contain '_': `<advertiser>_eu_key` is also `<advertiser>_eu`'s `key`.
    await enact(consortium, [{ name: "set_user_identity", args: { id: `${advertiser.id}_eu`, data: { tenantId: "tenant" } } }]);
    const data = withField(results(advertiser), ["encryption", "keySecretId"], `${advertiser.id}_eu_key`);
    await expectRefused(() => put(advertiser, newId("ambiguous"), "datasink", data), "400 SecretOwnerMismatch", /could also be a secret of/);
    expect(outcome(await put(advertiser, newId("unambiguous"), "datasink", results(advertiser)))).toBe("200");
  });

  it("keep their owner through another party's draft edit: secrets are checked against the owner", async () => {
    const id = newId("edited");
    const created = await put(advertiser, id, "datasink", results(advertiser));
    const foreignKey = withField(results(advertiser), ["encryption", "keySecretId"], `${outsider.id}_results-key`);
    await expectRefused(() => put(outsider, id, "datasink", foreignKey, { version: created.transactionId }), "400 SecretOwnerMismatch", /owner/);
    const edited = await put(outsider, id, "datasink", withField(results(advertiser), ["name"], "renamed"), { version: created.transactionId });
    expect(outcome(edited)).toBe("200");
    expect(await show(id)).toMatchObject({ proposerId: advertiser.id, approvers: approversOf(advertiser), data: { name: "renamed" } });
  });
});

describe("the type label", () => {
  it("cannot change, appear or disappear on update", async () => {
    const id = newId("typed");
    const created = await put(publisher, id, "dataset", impressions(publisher));
    const version = created.transactionId;
    await expectRefused(() => put(publisher, id, "datasink", withField(impressions(publisher), ["accessPolicy", "accessMode"], "write"), { version }), "400 UserDocumentTypeChanged", /type 'dataset'/);
    await expectRefused(() => put(publisher, id, undefined, { kind: "dataset" }, { version }), "400 UserDocumentTypeChanged", /no type label/);
    const untyped = newId("untyped");
    const plain = await put(publisher, untyped, undefined, { kind: "notes" });
    await expectRefused(() => put(publisher, untyped, "dataset", impressions(publisher), { version: plain.transactionId }), "400 UserDocumentTypeChanged", /no type label/);
  });

  it("only dataset, datasink and query are validated; other values are free", async () => {
    const id = newId("free");
    const response = await put(publisher, id, "querry", { anything: true });
    expect(outcome(response)).toBe("200");
    // Not an analytics document: the ordinary default approvers, every counted Active member.
    expect((await show(id)).approvers).toHaveLength(consortium.members.length);
    const notQuery = newId("not-query");
    expect(outcome(await put(publisher, notQuery, undefined, joinQuery(["x", "y"], "z"), { labels: { type: "spark-application" } }))).toBe("200");
  });
});

describe("queries", () => {
  let publisherData: string;
  let advertiserData: string;
  let advertiserSink: string;
  const versions: Record<string, string> = {};

  beforeAll(async () => {
    publisherData = newId("impressions");
    advertiserData = newId("conversions");
    advertiserSink = newId("results");
    versions[publisherData] = await publish(publisher, publisherData, "dataset", impressions(publisher));
    versions[advertiserData] = await publish(advertiser, advertiserData, "dataset", conversions(advertiser));
    versions[advertiserSink] = await publish(advertiser, advertiserSink, "datasink", results(advertiser));
  });

  it("get the owners of their inputs and sink as approvers, once each, and are bound to their accepted versions", async () => {
    const id = newId("join");
    // Written by a party that owns nothing: its approval is not needed, the owners' is.
    const response = await put(outsider, id, "query", joinQuery([publisherData, advertiserData], advertiserSink));
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const query = await show(id);
    expect(query.approvers).toEqual([...approversOf(publisher), ...approversOf(advertiser)]);
    expect(query.proposerId).toBe(outsider.id);
    const bound = joinQuery([publisherData, advertiserData], advertiserSink);
    bound.inputs[0]!.version = versions[publisherData];
    bound.inputs[1]!.version = versions[advertiserData];
    bound.output.version = versions[advertiserSink];
    expect(query.data).toEqual(bound);
  });

  it("reach Accepted only when every owner accepts, through the ordinary approvals", async () => {
    const id = newId("approved");
    const version = (await put(outsider, id, "query", joinQuery([publisherData, advertiserData], advertiserSink))).transactionId!;
    const byOutsider = await approve(outsider, id, version);
    expect(outcome(byOutsider)).toBe("403 NotUserDocumentApprover");
    const first = UserDocumentSchema.parse((await approve(publisher, id, version)).body);
    expect(first).toMatchObject({ state: "Proposed", pendingApprovers: approversOf(advertiser) });
    const second = UserDocumentSchema.parse((await approve(advertiser, id, version)).body);
    expect(second.state).toBe("Accepted");
    expect(second.finalVotes).toEqual([
      { approverId: publisher.id, ballot: "accepted" },
      { approverId: advertiser.id, ballot: "accepted" },
    ]);
    const types = (await governanceEvents(consortium, CONTRACT))
      .filter((event) => (event.data as { documentId?: string }).documentId === id)
      .map((event) => (event.data as { type: string }).type);
    expect(types).toEqual(["userdocument.approved", "userdocument.approved", "userdocument.accepted"]);
  });

  it("are rejected for good by any owner's rejection", async () => {
    const id = newId("refused");
    const version = (await put(outsider, id, "query", joinQuery([publisherData, advertiserData], advertiserSink))).transactionId!;
    await approve(advertiser, id, version);
    expect(UserDocumentSchema.parse((await approve(publisher, id, version, "reject")).body).state).toBe("Rejected");
  });

  it("take client approvers equal to the computed set in any order, and refuse any other set", async () => {
    const query = joinQuery([publisherData, advertiserData], advertiserSink);
    const reordered = await put(outsider, newId("explicit"), "query", query, { approvers: approversOf(advertiser, publisher) });
    expect(outcome(reordered)).toBe("200");
    for (const approvers of [approversOf(publisher), approversOf(publisher, advertiser, outsider), approversOf(outsider), approversOf(publisher, advertiser, advertiser)]) {
      await expectRefused(() => put(outsider, newId("mismatch"), "query", query, { approvers }), "400 QueryApproversMismatch", /owners of its inputs and sink/);
    }
  });

  it("de-duplicate owners: one party owning every input and the sink is the only approver", async () => {
    const ownData = newId("own-conversions");
    await publish(advertiser, ownData, "dataset", conversions(advertiser));
    const query: QuerySpecification = { inputs: [{ dataset: ownData, view: "conversions" }], output: { sink: advertiserSink }, segments: [{ executionSequence: 1, statement: "SELECT 1" }] };
    const id = newId("solo");
    expect(outcome(await put(publisher, id, "query", query))).toBe("200");
    expect((await show(id)).approvers.map(keyOf)).toEqual([`user:${advertiser.id}`]);
  });

  it("accept a version that is the referenced document's accepted version, and refuse any other", async () => {
    const query = joinQuery([publisherData, advertiserData], advertiserSink);
    query.inputs[0]!.version = versions[publisherData];
    query.output.version = versions[advertiserSink];
    expect(outcome(await put(outsider, newId("pinned"), "query", query))).toBe("200");
    const stale = withField(query, ["inputs", 1, "version"], "1.1");
    await expectRefused(() => put(outsider, newId("stale"), "query", stale), "400 QueryReferenceVersionMismatch", /data\.inputs\.1\.version: /);
    const staleSink = withField(query, ["output", "version"], "1.1");
    await expectRefused(() => put(outsider, newId("stale"), "query", staleSink), "400 QueryReferenceVersionMismatch", /data\.output\.version: /);
  });

  it("need every reference to exist in the contract, with the right type, Accepted", async () => {
    const draftData = newId("draft-data");
    expect(outcome(await put(publisher, draftData, "dataset", impressions(publisher)))).toBe("200");
    const draftSink = newId("draft-sink");
    expect(outcome(await put(advertiser, draftSink, "datasink", results(advertiser)))).toBe("200");
    const rejectedData = newId("rejected-data");
    const rejectedVersion = (await put(publisher, rejectedData, "dataset", impressions(publisher))).transactionId!;
    await approve(publisher, rejectedData, rejectedVersion, "reject");
    const untyped = newId("untyped");
    expect(outcome(await put(publisher, untyped, undefined, impressions(publisher)))).toBe("200");
    // Another contract's document of the same id does not count.
    await acceptContract(consortium, "elsewhere");
    const elsewhere = newId("elsewhere");
    const elsewhereData = withField(impressions(publisher), ["credentials", "subject"], `elsewhere/${publisher.id}`);
    const written = await appRequest(consortium.service, publisher, "PUT", documentPath("elsewhere", elsewhere), { data: elsewhereData, labels: { type: "dataset" } });
    expect(written.status, JSON.stringify(written.body)).toBe(200);
    const accepted = await appRequest(consortium.service, publisher, "POST", documentPath("elsewhere", elsewhere, "/approval"), { version: written.transactionId, action: "accept" });
    expect(UserDocumentSchema.parse(accepted.body).state).toBe("Accepted");

    const cases: Array<[QuerySpecification, string, RegExp]> = [
      [joinQuery(["no-such-dataset", advertiserData], advertiserSink), "QueryInputNotFound", /data\.inputs\.0\.dataset: .*no document 'no-such-dataset'/],
      [joinQuery([publisherData, elsewhere], advertiserSink), "QueryInputNotFound", /data\.inputs\.1\.dataset: /],
      [joinQuery([publisherData, advertiserSink], advertiserData), "QueryInputNotDataset", /data\.inputs\.1\.dataset: .*labelled type 'datasink'/],
      [joinQuery([publisherData, untyped], advertiserSink), "QueryInputNotDataset", /data\.inputs\.1\.dataset: .*not labelled/],
      [joinQuery([draftData, advertiserData], advertiserSink), "QueryInputNotAccepted", /data\.inputs\.0\.dataset: .*is Draft/],
      [joinQuery([rejectedData, advertiserData], advertiserSink), "QueryInputNotAccepted", /is Rejected/],
      [joinQuery([publisherData, advertiserData], "no-such-sink"), "QueryOutputNotFound", /data\.output\.sink: /],
      [joinQuery([publisherData, advertiserData], publisherData), "QueryOutputNotDatasink", /data\.output\.sink: .*labelled type 'dataset'/],
      [joinQuery([publisherData, advertiserData], draftSink), "QueryOutputNotAccepted", /data\.output\.sink: .*is Draft/],
    ];
    for (const [query, code, message] of cases) await expectRefused(() => put(outsider, newId("refs"), "query", query), `400 ${code}`, message);
  });

  const query = () => joinQuery(["a", "b"], "s");
  const segment = (executionSequence: number, statement = "SELECT 1") => ({ executionSequence, statement });
  const inputs = (count: number) => Array.from({ length: count }, (_, i) => ({ dataset: `d${i}`, view: `v${i}` }));
  const badQueries: Array<[string, () => unknown, RegExp]> = [
    ["data that is not an object", () => ["SELECT 1"], /^Invalid query document: data: /],
    ["an unknown field", () => ({ ...query(), name: "q" }), /data: Unrecognized key/],
    ["no inputs", () => withField(query(), ["inputs"], []), /data\.inputs: /],
    ["33 inputs", () => withField(query(), ["inputs"], inputs(33)), /data\.inputs: /],
    ["an input without a view", () => withField(query(), ["inputs", 0, "view"], undefined), /data\.inputs\.0\.view: /],
    ["a view that is not an SQL identifier", () => withField(query(), ["inputs", 0, "view"], "pub-data"), /data\.inputs\.0\.view: /],
    ["a dataset id with a slash", () => withField(query(), ["inputs", 0, "dataset"], "a/b"), /data\.inputs\.0\.dataset: /],
    ["duplicate views (case-insensitive)", () => withField(query(), ["inputs", 1, "view"], "IMPRESSIONS"), /data\.inputs\.1\.view: duplicate view/],
    ["the same dataset twice", () => withField(query(), ["inputs", 1, "dataset"], "a"), /data\.inputs\.1\.dataset: the dataset is already an input/],
    ["an input version that is not a transaction id", () => withField(query(), ["inputs", 0, "version"], "latest"), /data\.inputs\.0\.version: /],
    ["no output", () => withField(query(), ["output"], undefined), /data\.output: /],
    ["an output with a view", () => withField(query(), ["output", "view"], "output"), /data\.output: Unrecognized key/],
    ["no segments", () => withField(query(), ["segments"], []), /data\.segments: /],
    ["two segments at the highest sequence", () => withField(query(), ["segments"], [segment(1), segment(2), segment(2)]), /data\.segments: the highest executionSequence \(2\) must have exactly one segment/],
    ["executionSequence 0", () => withField(query(), ["segments", 0, "executionSequence"], 0), /data\.segments\.0\.executionSequence: /],
    ["executionSequence 1.5", () => withField(query(), ["segments", 0, "executionSequence"], 1.5), /data\.segments\.0\.executionSequence: /],
    ["executionSequence a string", () => withField(query(), ["segments", 0, "executionSequence"], "1"), /data\.segments\.0\.executionSequence: /],
    ["a blank statement", () => withField(query(), ["segments", 0, "statement"], "  \n"), /data\.segments\.0\.statement: expected a non-empty/],
    ["a statement over 64 KiB", () => withField(query(), ["segments", 0, "statement"], `SELECT '${"x".repeat(64 * 1024)}'`), /data\.segments\.0\.statement: longer than 65536 bytes/],
    ["the reference's `data` for the statement", () => withField(query(), ["segments", 0], { executionSequence: 1, data: "SELECT 1" }), /data\.segments\.0\.statement: /],
    ["a negative minRowCount", () => withField(query(), ["segments", 1, "preConditions", 0, "minRowCount"], -1), /data\.segments\.1\.preConditions\.0\.minRowCount: /],
    ["a preCondition on a non-identifier", () => withField(query(), ["segments", 1, "preConditions", 0, "viewName"], "joined; DROP"), /data\.segments\.1\.preConditions\.0\.viewName: /],
    ["a fractional postFilter value", () => withField(query(), ["segments", 1, "postFilters", 0, "value"], 2.5), /data\.segments\.1\.postFilters\.0\.value: /],
    ["a postFilter value as a string", () => withField(query(), ["segments", 1, "postFilters", 0, "value"], "10"), /data\.segments\.1\.postFilters\.0\.value: /],
    ["a postFilter without a column", () => withField(query(), ["segments", 1, "postFilters", 0, "columnName"], undefined), /data\.segments\.1\.postFilters\.0\.columnName: /],
  ];

  it.each(badQueries)("refuse %s", async (_what, data, message) => {
    await expectRefused(() => put(outsider, newId("bad-query"), "query", data()), "400 InvalidQueryDocument", message);
  });
});
