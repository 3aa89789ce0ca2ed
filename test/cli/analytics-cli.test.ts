import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeParquet } from "@cleanroom/parquet-crypto";
import type { AuditEvent, RuntimeOptionStatus, UserDocument } from "@cleanroom/protocol";
import { readParquetWithDuckDb } from "../../packages/parquet-crypto/src/read-back.case.js";
import { acceptContract } from "../support/app-fixtures.js";
import { cli, type CliResult } from "../support/cli.js";
import { startConsortium, type Consortium, type TestIdentity } from "../support/consortium.js";

// The collaborator-facing analytics commands against a real governance service, with local-folder storage: a
// publisher and an advertiser publish datasets and a sink, a third member writes a query both must approve, consent
// is switched off and on, the audit log shows it all, and the sink's owner decrypts a run's results.

const CONTRACT = "ads";

let consortium: Consortium;
let work: string;
let home: string;
let storage: string;
let publisher: TestIdentity;
let advertiser: TestIdentity;
let analyst: TestIdentity;
const run = (...args: string[]) => cli(args, { home, cwd: work });
const runAs = (profile: string, ...args: string[]) => run("--profile", profile, ...args);
const jsonAs = <T>(profile: string, ...args: string[]) => runAs(profile, "-o", "json", ...args).then((r) => ok(r).json<T>());

function ok(result: CliResult): CliResult {
  expect(result.stderr.includes("error:") ? result.stderr : "", `exit ${result.code}`).toBe("");
  expect(result.code, result.stderr).toBe(0);
  return result;
}

function fails(result: CliResult, pattern: RegExp, code = 1): CliResult {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /); // never a stack trace
  return result;
}

function files(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(folder.length + 1))
    .sort();
}

const keyFile = (profile: string, document: string) => join(home, "keys", profile, CONTRACT, `${document}.json`);
const keyOf = (profile: string, document: string) => Buffer.from((JSON.parse(readFileSync(keyFile(profile, document), "utf8")) as { key: string }).key, "base64");

const IMPRESSIONS_CSV = "user_hash,campaign_id,day,ip_address\nu1,10,2026-01-01,10.0.0.1\nu2,10,2026-01-01,10.0.0.2\nu3,11,2026-01-02,10.0.0.3\n";
const IMPRESSION_FIELDS = "user_hash:string,campaign_id:long,day:date,ip_address:string";

function publishImpressions(...extra: string[]): Promise<CliResult> {
  return runAs(
    "publisher",
    "-o",
    "json",
    "dataset",
    "publish",
    "--contract-id",
    CONTRACT,
    "--name",
    "impressions",
    "--input",
    "impressions.csv",
    "--csv-header",
    "--fields",
    IMPRESSION_FIELDS,
    "--allowed-fields",
    "user_hash,campaign_id,day",
    "--local-path",
    join(storage, "publisher", "impressions"),
    ...extra,
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "cleanroom-analytics-cli-"));
  home = join(work, "home");
  storage = join(work, "storage");
  mkdirSync(storage);
  consortium = await startConsortium({ members: ["publisher", "advertiser", "analyst"] });
  [publisher, advertiser, analyst] = consortium.members as [TestIdentity, TestIdentity, TestIdentity];
  await acceptContract(consortium, CONTRACT);
  writeFileSync(join(work, "service_cert.pem"), consortium.service.serviceCertificatePem);
  for (const identity of consortium.members) {
    writeFileSync(join(work, `${identity.name}_cert.pem`), identity.certificatePem);
    writeFileSync(join(work, `${identity.name}_privk.pem`), identity.keys.privateKeyPem);
    ok(await run("profile", "create", identity.name, "--service-url", consortium.service.url, "--service-cert", "service_cert.pem", "--cert", `${identity.name}_cert.pem`, "--key", `${identity.name}_privk.pem`));
  }
  writeFileSync(join(work, "impressions.csv"), IMPRESSIONS_CSV);
});
afterAll(async () => {
  await consortium.close();
  rmSync(work, { recursive: true, force: true });
});

describe("dataset publish", () => {
  it("refuses bad arguments before uploading or creating anything", async () => {
    const before = files(storage);
    fails(await publishImpressions("--allowed-fields", "user_hash,email"), /^error: invalid dataset: --allowed-fields \(accessPolicy\.allowedFields\.1\): 'email' is not a field of the schema\n$/, 2);
    fails(await publishImpressions("--fields", "user_hash:string,campaign_id:money"), /^error: --fields: field 'campaign_id' has unknown type 'money' \(types: string, integer/, 2);
    fails(await publishImpressions("--fields", "user_hash"), /--fields: 'user_hash' is not <name>:<type>/, 2);
    fails(await publishImpressions("--input", "missing.csv"), /^error: --input missing\.csv: no such file\n$/, 2);
    fails(await publishImpressions("--name", "Impressions!"), /--name \(the default --id\) 'Impressions!': expected 1-128 characters/, 2);
    fails(await publishImpressions("--name", "Impressions", "--id", "imp"), /--name \(name\): expected 1-63 lowercase letters/, 2);
    fails(await publishImpressions("--partition-date", "2026-02-30"), /--partition-date '2026-02-30' is not a date/, 2);
    fails(await publishImpressions("--format", "xml"), /argument 'xml' is invalid/, 2);
    const s3 = JSON.stringify({ kind: "s3", endpoint: "http://127.0.0.1:9", region: "us-east-1", bucket: "publisher-data" });
    const location = ["--contract-id", CONTRACT, "--name", "impressions", "--input", "impressions.csv", "--csv-header", "--fields", IMPRESSION_FIELDS, "--location", s3];
    fails(await runAs("publisher", "dataset", "publish", ...location), /^error: uploading to a s3 location needs --storage-credentials <file>/, 2);
    writeFileSync(join(work, "wrong-creds.json"), JSON.stringify({ accountName: "a", accountKey: "k" }));
    fails(await runAs("publisher", "dataset", "publish", ...location, "--storage-credentials", "wrong-creds.json"), /--storage-credentials: The credentials for the s3 location do not have the right shape \(they have the shape of azure-blob/, 2);
    fails(await publishImpressions("--local-path", "relative/../x", "--location", "{}"), /exactly one of --location <json\|@file> and --local-path <dir>/, 2);
    fails(await runAs("publisher", "dataset", "publish", "--contract-id", "nope", "--name", "x", "--input", "impressions.csv", "--csv-header", "--fields", IMPRESSION_FIELDS, "--local-path", join(storage, "x")), /ContractNotFound \(HTTP 404\)/);

    expect(files(storage)).toEqual(before);
    expect(existsSync(join(home, "keys"))).toBe(false);
    expect(await jsonAs<unknown[]>("publisher", "dataset", "list", "--contract-id", CONTRACT)).toEqual([]);
  });

  it("encrypts a CSV with a header into Parquet, uploads it, stores the key and accepts the document", async () => {
    const result = await publishImpressions();
    const published = ok(result).json<{ id: string; state: string; object: { key: string; rows: number; uploaded: boolean }; keySecretId: string; changes: string[]; keyFile: string }>();
    expect(published).toMatchObject({ id: "impressions", state: "Accepted", object: { key: "impressions.parquet", rows: 3, uploaded: true }, keySecretId: `${publisher.id}_impressions-key` });
    expect(published.changes).toHaveLength(5); // key, upload, secret, document, approval
    expect(result.stderr).toMatch(/uploading impressions\.parquet to .*: .* done\n/);
    expect(published.keyFile).toBe(keyFile("publisher", "impressions"));

    // The key store: 0600 files in 0700 folders, the key the secret holds.
    expect(statSync(keyFile("publisher", "impressions")).mode & 0o777).toBe(0o600);
    for (const folder of [join(home, "keys"), join(home, "keys", "publisher"), join(home, "keys", "publisher", CONTRACT)]) expect(statSync(folder).mode & 0o777).toBe(0o700);
    const key = keyOf("publisher", "impressions");
    expect(key).toHaveLength(32);
    expect((await publisher.client.secrets(CONTRACT)).map((s) => s.secretId)).toContain(`${publisher.id}_impressions-key`);

    // The object decrypts with that key to the input's rows, and cannot be read without it.
    const object = join(storage, "publisher", "impressions", "impressions.parquet");
    expect(await readParquetWithDuckDb(object, key, "user_hash, campaign_id, CAST(day AS VARCHAR) AS day, ip_address", "ORDER BY user_hash")).toEqual([
      { user_hash: "u1", campaign_id: "10", day: "2026-01-01", ip_address: "10.0.0.1" },
      { user_hash: "u2", campaign_id: "10", day: "2026-01-01", ip_address: "10.0.0.2" },
      { user_hash: "u3", campaign_id: "11", day: "2026-01-02", ip_address: "10.0.0.3" },
    ]);
    await expect(readParquetWithDuckDb(object, undefined)).rejects.toThrow();
    await expect(readParquetWithDuckDb(object, Buffer.alloc(32, 7))).rejects.toThrow(/AES tag/);

    const document = await publisher.client.userDocument(CONTRACT, "impressions");
    expect(document).toMatchObject({ state: "Accepted", labels: { type: "dataset" }, proposerId: publisher.id });
    expect(document.data).toMatchObject({
      name: "impressions",
      schema: { format: "parquet", fields: [{ name: "user_hash", type: "string" }, { name: "campaign_id", type: "long" }, { name: "day", type: "date" }, { name: "ip_address", type: "string" }] },
      accessPolicy: { accessMode: "read", allowedFields: ["user_hash", "campaign_id", "day"] },
      location: { kind: "local", path: join(storage, "publisher", "impressions") },
      encryption: { mode: "parquet-uniform", keySecretId: `${publisher.id}_impressions-key` },
      credentials: { kind: "none" },
    });
  });

  it("does nothing when run again with the same input and arguments", async () => {
    const object = join(storage, "publisher", "impressions", "impressions.parquet");
    const before = statSync(object);
    const version = (await publisher.client.userDocument(CONTRACT, "impressions")).version;
    const secrets = (await publisher.client.secrets(CONTRACT)).length;
    const again = ok(await publishImpressions());
    expect(again.json()).toMatchObject({ changes: [], object: { uploaded: false }, state: "Accepted", version });
    expect(again.stderr).toMatch(/dataset impressions is up to date .*nothing to do/);
    expect(again.stderr).not.toMatch(/uploading/);
    expect(statSync(object).mtimeMs).toBe(before.mtimeMs);
    expect((await publisher.client.secrets(CONTRACT)).length).toBe(secrets);
    // In table output too.
    expect(ok(await runAs("publisher", "dataset", "publish", ...publishArgs())).stdout).toMatch(/changes\s+none \(up to date\)/);
  });

  it("uploads again under the same key when the input changes, keeping the document", async () => {
    const key = keyOf("publisher", "impressions");
    const version = (await publisher.client.userDocument(CONTRACT, "impressions")).version;
    writeFileSync(join(work, "impressions.csv"), `${IMPRESSIONS_CSV}u4,12,2026-01-03,10.0.0.4\n`);
    const changed = ok(await publishImpressions());
    expect(changed.json()).toMatchObject({ version, object: { uploaded: true, rows: 4 }, changes: [expect.stringMatching(/^uploaded impressions\.parquet again: the input changed \(4 rows/)] });
    expect(keyOf("publisher", "impressions")).toEqual(key);
    expect(await readParquetWithDuckDb(join(storage, "publisher", "impressions", "impressions.parquet"), key, "count(*)::INTEGER AS n")).toEqual([{ n: 4 }]);
  });

  it("adds a date partition as its own object", async () => {
    const partition = ok(await publishImpressions("--partition-date", "2026-01-04"));
    expect(partition.json()).toMatchObject({ object: { key: "2026-01-04/impressions.parquet", uploaded: true }, changes: [expect.stringMatching(/^uploaded 2026-01-04\/impressions\.parquet \(/)] });
    expect(files(join(storage, "publisher", "impressions"))).toEqual(["2026-01-04/impressions.parquet", "impressions.parquet"]);
    expect(ok(await publishImpressions("--partition-date", "2026-01-04")).json()).toMatchObject({ changes: [] });
  });

  it("refuses to change an accepted document, before uploading", async () => {
    const before = statSync(join(storage, "publisher", "impressions", "impressions.parquet")).mtimeMs;
    writeFileSync(join(work, "impressions.csv"), IMPRESSIONS_CSV);
    fails(await publishImpressions("--allowed-fields", "user_hash,day"), /^error: The dataset impressions of contract ads is Accepted with different accessPolicy: an accepted document cannot change .*Publish under a new --id/);
    expect(statSync(join(storage, "publisher", "impressions", "impressions.parquet")).mtimeMs).toBe(before);
    // Someone else's document of that id is not theirs to publish.
    fails(
      await runAs("advertiser", "dataset", "publish", "--contract-id", CONTRACT, "--name", "impressions", "--input", "impressions.csv", "--csv-header", "--fields", IMPRESSION_FIELDS, "--local-path", join(storage, "advertiser", "x")),
      /belongs to member .*: only its owner publishes it/,
    );
    expect(files(join(storage, "advertiser"))).toEqual([]);
  });

  it("publishes plaintext Parquet with --no-encrypt, from JSON lines", async () => {
    writeFileSync(join(work, "conversions.jsonl"), ['{"user_hash":"u1","value":2.5}', '{"user_hash":"u3","value":4}', '{"user_hash":"u9","value":1}'].join("\n") + "\n");
    const published = ok(
      await runAs("advertiser", "-o", "json", "dataset", "publish", "--contract-id", CONTRACT, "--name", "conversions", "--input", "conversions.jsonl", "--fields", "user_hash:string,value:number", "--local-path", join(storage, "advertiser", "conversions"), "--no-encrypt"),
    ).json<{ encryption: string; keySecretId?: string; object: { key: string } }>();
    expect(published).toMatchObject({ encryption: "none", object: { key: "conversions.parquet" } });
    expect(published.keySecretId).toBeUndefined();
    expect((await advertiser.client.userDocument(CONTRACT, "conversions")).data).toMatchObject({ encryption: { mode: "none" }, schema: { format: "parquet" } });
    expect(await readParquetWithDuckDb(join(storage, "advertiser", "conversions", "conversions.parquet"), undefined, "user_hash, value", "ORDER BY user_hash")).toEqual([
      { user_hash: "u1", value: 2.5 },
      { user_hash: "u3", value: 4 },
      { user_hash: "u9", value: 1 },
    ]);
    expect(JSON.parse(readFileSync(keyFile("advertiser", "conversions"), "utf8"))).not.toHaveProperty("key");
  });

  it("encrypts a Parquet input, with the columns from --schema @file", async () => {
    writeFileSync(join(work, "conversion-fields.json"), JSON.stringify([{ name: "user_hash", type: "string" }, { name: "value", type: "number" }]));
    const input = join(storage, "advertiser", "conversions", "conversions.parquet");
    const published = await jsonAs<{ object: { key: string; rows: number } }>(
      "advertiser",
      "dataset",
      "publish",
      "--contract-id",
      CONTRACT,
      "--name",
      "conversions-enc",
      "--input",
      input,
      "--schema",
      "@conversion-fields.json",
      "--local-path",
      join(storage, "advertiser", "conversions-enc"),
    );
    expect(published.object).toMatchObject({ key: "conversions.parquet", rows: 3 });
    expect(await readParquetWithDuckDb(join(storage, "advertiser", "conversions-enc", "conversions.parquet"), keyOf("advertiser", "conversions-enc"), "sum(value) AS total")).toEqual([{ total: 7.5 }]);
    writeFileSync(join(work, "bad-fields.json"), JSON.stringify([{ name: "user_hash", type: "varchar" }]));
    fails(await runAs("advertiser", "dataset", "publish", "--contract-id", CONTRACT, "--name", "x", "--input", input, "--schema", "@bad-fields.json", "--local-path", join(storage, "x")), /--schema\[0\]: type: /, 2);
    fails(await runAs("advertiser", "dataset", "publish", "--contract-id", CONTRACT, "--name", "x", "--input", input, "--schema", "@bad-fields.json", "--fields", "a:long", "--local-path", join(storage, "x")), /exactly one of --fields/, 2);
  });

  it("reports input that does not match the fields, and uploads nothing", async () => {
    writeFileSync(join(work, "bad.csv"), "u1,not-a-number\n");
    fails(
      await runAs("advertiser", "dataset", "publish", "--contract-id", CONTRACT, "--name", "bad", "--input", "bad.csv", "--fields", "user_hash:string,value:long", "--local-path", join(storage, "advertiser", "bad")),
      /\nerror: the input file does not match the declared fields: .*invalid value 'not-a-number'\n$/,
    );
    expect(files(join(storage, "advertiser", "bad"))).toEqual([]);
    expect((await advertiser.client.userDocuments(CONTRACT)).map((d) => d.id)).not.toContain("bad");
  });
});

describe("a publish interrupted midway completes when run again", () => {
  const args = (id: string, contractId = CONTRACT) => [
    "--contract-id",
    contractId,
    "--name",
    "clicks",
    "--id",
    id,
    "--input",
    "clicks.csv",
    "--fields",
    "user_hash:string,clicks:integer",
    "--local-path",
    join(storage, "publisher", id),
  ];

  beforeAll(async () => {
    writeFileSync(join(work, "clicks.csv"), "u1,3\nu2,5\n");
    await acceptContract(consortium, "ads2");
  });

  it("after the key was created: keeps that key", async () => {
    // What a publish that stopped right after saving its new key leaves behind.
    const key = Buffer.alloc(32, 9).toString("base64");
    mkdirSync(join(home, "keys", "publisher", CONTRACT), { recursive: true, mode: 0o700 });
    writeFileSync(keyFile("publisher", "clicks-1"), JSON.stringify({ key, secretId: `${publisher.id}_clicks-1-key` }), { mode: 0o600 });
    const result = await jsonAs<{ state: string; changes: string[] }>("publisher", "dataset", "publish", ...args("clicks-1"));
    expect(result.state).toBe("Accepted");
    expect(result.changes.join("\n")).not.toMatch(/created a data key/);
    expect(keyOf("publisher", "clicks-1")).toEqual(Buffer.alloc(32, 9));
    expect(await readParquetWithDuckDb(join(storage, "publisher", "clicks-1", "clicks.parquet"), Buffer.alloc(32, 9), "count(*)::INTEGER AS n")).toEqual([{ n: 2 }]);
    expect((await publisher.client.secrets(CONTRACT)).map((s) => s.secretId)).toContain(`${publisher.id}_clicks-1-key`);
  });

  it("after the upload: stores the secret and creates and approves the document without uploading again", async () => {
    // Published completely in another contract; its key file copied here is what an upload that was recorded, but
    // not followed by the secret and the document, leaves: the same object, recorded, in the same folder.
    ok(await runAs("publisher", "dataset", "publish", ...args("clicks-2", "ads2")));
    writeFileSync(keyFile("publisher", "clicks-2"), readFileSync(join(home, "keys", "publisher", "ads2", "clicks-2.json")), { mode: 0o600 });
    const mtime = statSync(join(storage, "publisher", "clicks-2", "clicks.parquet")).mtimeMs;
    const result = await jsonAs<{ state: string; object: { uploaded: boolean }; changes: string[] }>("publisher", "dataset", "publish", ...args("clicks-2"));
    expect(result).toMatchObject({ state: "Accepted", object: { uploaded: false } });
    expect(result.changes).toEqual([expect.stringMatching(/^stored the data key as secret .*_clicks-2-key$/), expect.stringMatching(/^created the dataset document/), expect.stringMatching(/^approved version .*: the document is Accepted$/)]);
    expect(statSync(join(storage, "publisher", "clicks-2", "clicks.parquet")).mtimeMs).toBe(mtime);
  });

  it("after the document was created: approves it; a changed draft gets a new version, approved", async () => {
    ok(await runAs("publisher", "dataset", "publish", ...args("clicks-3", "ads2")));
    const data = (await publisher.client.userDocument("ads2", "clicks-3")).data as Record<string, unknown>;
    // A Draft of the same data, as a publish that stopped before approving leaves it.
    await publisher.client.putUserDocument(CONTRACT, "clicks-3", { data, labels: { type: "dataset" } });
    writeFileSync(keyFile("publisher", "clicks-3"), readFileSync(join(home, "keys", "publisher", "ads2", "clicks-3.json")), { mode: 0o600 });
    const approved = await jsonAs<{ state: string; changes: string[] }>("publisher", "dataset", "publish", ...args("clicks-3"));
    expect(approved.state).toBe("Accepted");
    expect(approved.changes.at(-1)).toMatch(/^approved version/);
    expect(approved.changes.join("\n")).not.toMatch(/created the dataset document/);

    // A Draft with other data (say, the first attempt named other allowed fields) is updated, then approved.
    ok(await runAs("publisher", "dataset", "publish", ...args("clicks-4", "ads2")));
    const other = (await publisher.client.userDocument("ads2", "clicks-4")).data as { accessPolicy: { allowedFields: string[] } };
    const draft = await publisher.client.putUserDocument(CONTRACT, "clicks-4", { data: { ...other, accessPolicy: { accessMode: "read", allowedFields: ["user_hash"] } }, labels: { type: "dataset" } });
    writeFileSync(keyFile("publisher", "clicks-4"), readFileSync(join(home, "keys", "publisher", "ads2", "clicks-4.json")), { mode: 0o600 });
    const updated = await jsonAs<{ state: string; version: string; changes: string[] }>("publisher", "dataset", "publish", ...args("clicks-4"));
    expect(updated.state).toBe("Accepted");
    expect(updated.version).not.toBe(draft.value.version);
    expect(updated.changes).toEqual([expect.stringMatching(/^stored the data key/), expect.stringMatching(/^updated the draft document to version /), expect.stringMatching(/^approved version /)]);
    expect(((await publisher.client.userDocument(CONTRACT, "clicks-4")).data as typeof other).accessPolicy.allowedFields).toEqual(["user_hash", "clicks"]);
  });

  it("refuses a new key for a document that exists when this profile has lost its key", async () => {
    rmSync(keyFile("publisher", "clicks-1"));
    fails(await runAs("publisher", "dataset", "publish", ...args("clicks-1")), /The dataset clicks-1 exists already, but profile 'publisher' has no key for it .*a new key would make what it holds unreadable/);
    expect(existsSync(keyFile("publisher", "clicks-1"))).toBe(false);
  });
});

function publishArgs(): string[] {
  return ["--contract-id", CONTRACT, "--name", "impressions", "--input", "impressions.csv", "--csv-header", "--fields", IMPRESSION_FIELDS, "--allowed-fields", "user_hash,campaign_id,day", "--local-path", join(storage, "publisher", "impressions")];
}

describe("sink publish, and listing datasets and sinks", () => {
  const sinkArgs = () => ["sink", "publish", "--contract-id", CONTRACT, "--name", "campaign-results", "--id", "results", "--fields", "campaign_id:long,conversions:long,revenue:number", "--local-path", join(storage, "advertiser", "sink")];

  it("creates the sink's key, secret and accepted document, idempotently", async () => {
    const published = await jsonAs<{ id: string; state: string; format: string; encryption: string; keySecretId: string; changes: string[] }>("advertiser", ...sinkArgs());
    expect(published).toMatchObject({ id: "results", state: "Accepted", format: "parquet", encryption: "parquet-uniform", keySecretId: `${advertiser.id}_results-key` });
    expect(keyOf("advertiser", "results")).toHaveLength(32);
    expect((await advertiser.client.secrets(CONTRACT)).map((s) => s.secretId)).toContain(`${advertiser.id}_results-key`);
    expect((await advertiser.client.userDocument(CONTRACT, "results")).data).toMatchObject({ accessPolicy: { accessMode: "write" }, schema: { format: "parquet" } });
    const again = ok(await runAs("advertiser", ...sinkArgs()));
    expect(again.stderr).toMatch(/sink results is up to date/);
    expect(again.stdout).toMatch(/changes\s+none \(up to date\)/);

    // A CSV sink is not encrypted.
    const csv = await jsonAs<{ encryption: string }>("advertiser", "sink", "publish", "--contract-id", CONTRACT, "--name", "raw", "--format", "csv", "--fields", "campaign_id:long", "--local-path", join(storage, "advertiser", "raw"));
    expect(csv.encryption).toBe("none");
    fails(await runAs("advertiser", "sink", "publish", "--contract-id", CONTRACT, "--name", "remote", "--fields", "a:long", "--location", JSON.stringify({ kind: "azure-blob", accountUrl: "https://acct.blob.core.windows.net", container: "results" })), /a azure-blob location needs --storage-credentials <file> .* or --federation <json>/, 2);
  });

  it("stores a remote sink's credentials as a secret, or uses federation with the owner's subject", async () => {
    writeFileSync(join(work, "azure-creds.json"), JSON.stringify({ accountName: "acct", accountKey: "a2V5" }));
    const location = JSON.stringify({ kind: "azure-blob", accountUrl: "https://acct.blob.core.windows.net", container: "results" });
    const secret = await jsonAs<{ storageSecretId: string; location: string }>("advertiser", "sink", "publish", "--contract-id", CONTRACT, "--name", "remote", "--fields", "a:long", "--location", location, "--storage-credentials", "azure-creds.json");
    expect(secret).toMatchObject({ storageSecretId: `${advertiser.id}_remote-storage`, location: "azure-blob://acct.blob.core.windows.net/results/" });
    expect((await advertiser.client.userDocument(CONTRACT, "remote")).data).toMatchObject({ credentials: { kind: "secret", secretId: `${advertiser.id}_remote-storage` } });

    writeFileSync(join(work, "federation.json"), JSON.stringify({ audience: "api://AzureADTokenExchange", tenantId: "tenant", clientId: "0000-1111" }));
    ok(await runAs("advertiser", "sink", "publish", "--contract-id", CONTRACT, "--name", "federated", "--fields", "a:long", "--location", location, "--federation", "@federation.json"));
    expect((await advertiser.client.userDocument(CONTRACT, "federated")).data).toMatchObject({
      credentials: { kind: "federation", subject: `${CONTRACT}/${advertiser.id}`, audience: "api://AzureADTokenExchange", tenantId: "tenant", clientId: "0000-1111" },
    });
  });

  it("lists and shows datasets and sinks as tables and as JSON", async () => {
    const datasets = await jsonAs<UserDocument[]>("analyst", "dataset", "list", "--contract-id", CONTRACT);
    expect(datasets.map((d) => d.id).sort()).toEqual(["clicks-1", "clicks-2", "clicks-3", "clicks-4", "conversions", "conversions-enc", "impressions"]);
    expect(datasets.every((d) => d.labels.type === "dataset")).toBe(true);
    const table = ok(await runAs("analyst", "dataset", "list", "--contract-id", CONTRACT)).stdout;
    expect(table).toMatch(/^ID\s+NAME\s+STATE\s+OWNER\s+FORMAT\s+ENCRYPTED\s+LOCATION\n/);
    expect(table).toMatch(new RegExp(`impressions\\s+impressions\\s+Accepted\\s+publisher \\(.{8}…\\) \\(member\\)\\s+parquet\\s+yes\\s+${join(storage, "publisher", "impressions")}`));
    expect(table).toMatch(/conversions\s+conversions\s+Accepted\s+advertiser .*parquet\s+no\s+/);

    const shown = ok(await runAs("publisher", "dataset", "show", "--contract-id", CONTRACT, "--id", "impressions")).stdout;
    expect(shown).toMatch(/state\s+Accepted/);
    expect(shown).toMatch(/fields\s+user_hash:string, campaign_id:long, day:date, ip_address:string/);
    expect(shown).toMatch(/allowedFields\s+user_hash, campaign_id, day/);
    expect(shown).toMatch(/approvers\s+publisher \(.{8}…\) \(member\): accepted/);
    expect(shown).toMatch(new RegExp(`localKey\\s+${keyFile("publisher", "impressions")}`));
    expect(ok(await runAs("analyst", "dataset", "show", "--contract-id", CONTRACT, "--id", "impressions")).stdout).toMatch(/localKey\s+none in this profile \(kept by the owner's profile\)/);
    expect((await jsonAs<UserDocument>("analyst", "dataset", "show", "--contract-id", CONTRACT, "--id", "impressions")).id).toBe("impressions");

    const sinks = await jsonAs<UserDocument[]>("analyst", "sink", "list", "--contract-id", CONTRACT);
    expect(sinks.map((d) => d.id).sort()).toEqual(["federated", "raw", "remote", "results"]);
    expect(ok(await runAs("analyst", "sink", "list", "--contract-id", CONTRACT)).stdout).toMatch(/results\s+campaign-results\s+Accepted\s+advertiser .*parquet\s+yes/);
    expect(ok(await runAs("advertiser", "sink", "show", "--contract-id", CONTRACT, "--id", "results")).stdout).toMatch(/encryption\s+parquet-uniform \(key secret .*_results-key\)/);
    fails(await runAs("analyst", "sink", "show", "--contract-id", CONTRACT, "--id", "impressions"), /Document impressions of contract ads is not a sink \(label type: dataset\)/);
    fails(await runAs("analyst", "dataset", "show", "--contract-id", CONTRACT, "--id", "nothing"), /UserDocumentNotFound \(HTTP 404\)/);
  });
});

describe("queries: created by a third party, approved by the owners", () => {
  const create = (id: string, ...extra: string[]) =>
    runAs("analyst", "-o", "json", "query", "create", "--contract-id", CONTRACT, "--id", id, "--input", "impressions:impressions", "--input", "conversions:conversions", "--sink", "results", ...extra);
  const sql = "SELECT i.campaign_id, COUNT(*) AS conversions, SUM(c.value) AS revenue FROM impressions i JOIN conversions c ON i.user_hash = c.user_hash GROUP BY i.campaign_id";

  it("refuses bad query arguments", async () => {
    fails(await create("q-bad"), /give exactly one of --sql "<statement>" \(one segment\) and --segments/, 2);
    fails(await create("q-bad", "--sql", sql, "--min-rows", "impressions"), /--min-rows 'impressions' is not <view>:<rows>/, 2);
    fails(await create("q-bad", "--sql", sql, "--post-filter", "conversions:ten"), /--post-filter 'conversions:ten': 'ten' is not an integer/, 2);
    fails(await create("q-bad", "--sql", sql, "--input", "impressions:imp"), /--input \(inputs\.2\.dataset\): the dataset is already an input/, 2);
    writeFileSync(join(work, "segments.json"), JSON.stringify([{ executionSequence: 1, statement: "SELECT 1" }, { executionSequence: 1, statement: "SELECT 2" }]));
    fails(await create("q-bad", "--segments", "@segments.json"), /--sql\/--segments \(segments\): the highest executionSequence \(1\) must have exactly one segment/, 2);
    fails(await runAs("analyst", "query", "create", "--contract-id", CONTRACT, "--id", "q-bad", "--sink", "results", "--sql", sql), /give at least one --input/, 2);
    fails(await create("q-bad", "--sql", sql, "--sink", "impressions"), /QueryOutputNotDatasink/);
  });

  it("shows both owners as pending approvers, and is Accepted once each approved", async () => {
    const created = await create("q1", "--sql", sql, "--min-rows", "impressions:2", "--post-filter", "conversions:1").then((r) => ok(r));
    expect(created.stderr).toMatch(/query q1 created at version .* \(Draft\); it must be approved by: publisher \(.{8}…\) \(member\), advertiser \(.{8}…\) \(member\)/);
    expect(created.stderr).toMatch(/each of them runs: cleanroom query approve --contract-id ads --id q1 --version /);
    const document = created.json<UserDocument>();
    expect(document.approvers).toEqual([
      { approverId: publisher.id, approverIdType: "member" },
      { approverId: advertiser.id, approverIdType: "member" },
    ]);
    expect(document.data).toMatchObject({
      inputs: [{ dataset: "impressions", view: "impressions" }, { dataset: "conversions", view: "conversions" }],
      output: { sink: "results" },
      segments: [{ executionSequence: 1, statement: sql, preConditions: [{ viewName: "impressions", minRowCount: 2 }], postFilters: [{ columnName: "conversions", value: 1 }] }],
    });

    const shown = ok(await runAs("analyst", "query", "show", "--contract-id", CONTRACT, "--id", "q1")).stdout;
    expect(shown).toMatch(/state\s+Draft/);
    expect(shown).toMatch(/approvers\s+publisher \(.{8}…\) \(member\): pending; advertiser \(.{8}…\) \(member\): pending/);
    expect(shown).toMatch(/inputs\s+impressions as impressions \(version \d+\.\d+\), conversions as conversions \(version \d+\.\d+\)/);
    expect(shown).toMatch(/output\s+sink results \(version \d+\.\d+\)/);
    expect(shown).toMatch(/segments:\n {2}1\. \[sequence 1\] SELECT i\.campaign_id.*\n {5}pre-conditions: impressions has >= 2 rows\n {5}post-filters: keep rows with conversions >= 1\n/);
    fails(await runAs("analyst", "query", "approve", "--contract-id", CONTRACT, "--id", "q1"), /NotUserDocumentApprover \(HTTP 403\)/);

    const first = ok(await runAs("publisher", "query", "approve", "--contract-id", CONTRACT, "--id", "q1", "--version", document.version));
    expect(first.stderr).toMatch(/approved query q1 at version .*: it is Proposed; still pending: advertiser \(.{8}…\) \(member\)/);
    expect(first.stdout).toMatch(/approvers\s+publisher \(.{8}…\) \(member\): accepted .*; advertiser \(.{8}…\) \(member\): pending/);
    expect(ok(await runAs("analyst", "query", "list", "--contract-id", CONTRACT)).stdout).toMatch(/q1\s+Proposed\s+impressions, conversions\s+results\s+1\/2\s+advertiser/);

    const accepted = await jsonAs<UserDocument>("advertiser", "query", "approve", "--contract-id", CONTRACT, "--id", "q1");
    expect(accepted.state).toBe("Accepted");
    expect(ok(await runAs("analyst", "query", "list", "--contract-id", CONTRACT)).stdout).toMatch(/q1\s+Accepted\s+impressions, conversions\s+results\s+2\/2\s+none/);
    expect((await jsonAs<UserDocument[]>("analyst", "query", "list", "--contract-id", CONTRACT)).map((q) => q.id)).toEqual(["q1"]);
  });

  it("is Rejected by one owner's rejection", async () => {
    writeFileSync(
      join(work, "segments.json"),
      JSON.stringify([
        { executionSequence: 1, statement: "CREATE OR REPLACE TEMP VIEW joined AS SELECT i.campaign_id FROM impressions i JOIN conversions c ON i.user_hash = c.user_hash" },
        { executionSequence: 2, statement: "SELECT campaign_id, COUNT(*) AS conversions, 0.0 AS revenue FROM joined GROUP BY campaign_id", preConditions: [{ viewName: "joined", minRowCount: 100 }] },
      ]),
    );
    ok(await create("q2", "--segments", "@segments.json"));
    const rejected = ok(await runAs("advertiser", "query", "reject", "--contract-id", CONTRACT, "--id", "q2"));
    expect(rejected.stderr).toMatch(/rejected query q2 at version .*: it is Rejected/);
    expect(rejected.stdout).toMatch(/segments:\n {2}1\. \[sequence 1\] CREATE OR REPLACE TEMP VIEW joined.*\n {2}2\. \[sequence 2\] SELECT campaign_id.*\n {5}pre-conditions: joined has >= 100 rows\n/);
    fails(await runAs("publisher", "query", "approve", "--contract-id", CONTRACT, "--id", "q2"), /UserDocumentRejected \(HTTP 409\)/);
    expect((await jsonAs<UserDocument>("analyst", "query", "show", "--contract-id", CONTRACT, "--id", "q2")).state).toBe("Rejected");
  });
});

describe("consent", () => {
  it("is disabled, shown and enabled again on a document, by its approver", async () => {
    const disabled = await jsonAs<RuntimeOptionStatus>("publisher", "consent", "disable", "--contract-id", CONTRACT, "--document-id", "impressions");
    expect(disabled).toMatchObject({ status: "disabled", reason: { code: "UserDocumentRuntimeOptionDisabled" }, disabledBy: [publisher.id] });
    const shown = ok(await runAs("analyst", "consent", "show", "--contract-id", CONTRACT, "--document-id", "impressions")).stdout;
    expect(shown).toMatch(/target\s+document impressions of contract ads\noption\s+execution\nstatus\s+disabled\nreason\s+UserDocumentRuntimeOptionDisabled: .*\ndisabledBy\s+publisher \(.{8}…\)\n/);
    fails(await runAs("analyst", "consent", "enable", "--contract-id", CONTRACT, "--document-id", "impressions"), /NotUserDocumentApprover/);
    const enabled = ok(await runAs("publisher", "consent", "enable", "--contract-id", CONTRACT, "--document-id", "impressions"));
    expect(enabled.stderr).toMatch(/execution enabled for document impressions of contract ads by this profile; it is now enabled/);
    expect(await jsonAs<RuntimeOptionStatus>("analyst", "consent", "show", "--contract-id", CONTRACT, "--document-id", "impressions")).toEqual({ status: "enabled" });
  });

  it("is disabled, shown and enabled again on the contract, by a member", async () => {
    expect(await jsonAs<RuntimeOptionStatus>("analyst", "consent", "disable", "--contract-id", CONTRACT, "--contract")).toMatchObject({ status: "disabled", disabledBy: [analyst.id] });
    expect(ok(await runAs("publisher", "consent", "show", "--contract-id", CONTRACT, "--contract")).stdout).toMatch(/target\s+contract ads\n.*\nstatus\s+disabled\nreason\s+ContractDisabled: .*\ndisabledBy\s+analyst \(.{8}…\)/);
    ok(await runAs("analyst", "consent", "enable", "--contract-id", CONTRACT, "--contract"));
    expect(await jsonAs<RuntimeOptionStatus>("publisher", "consent", "show", "--contract-id", CONTRACT, "--contract")).toMatchObject({ status: "enabled" });
    fails(await runAs("publisher", "consent", "show", "--contract-id", CONTRACT), /give exactly one of --document-id <id> .* and --contract/, 2);
    fails(await runAs("publisher", "consent", "show", "--contract-id", CONTRACT, "--contract", "--document-id", "impressions"), /give exactly one of/, 2);
  });
});

describe("audit list", () => {
  it("shows the contract's governance decisions as a timeline", async () => {
    const events = await jsonAs<AuditEvent[]>("analyst", "audit", "list", "--contract-id", CONTRACT);
    const types = events.map((e) => (e.data as { type?: string }).type);
    expect(types).toEqual(expect.arrayContaining(["contract.accepted", "contract.secret.set", "userdocument.approved", "userdocument.accepted", "userdocument.rejected", "userdocument.consent.changed", "contract.consent.changed"]));
    const table = ok(await runAs("analyst", "audit", "list", "--contract-id", CONTRACT)).stdout;
    expect(table).toMatch(/^TIME\s+SOURCE\s+MESSAGE\n/);
    expect(table).toMatch(/governance\s+userdocument\.approved by publisher \(.{8}…\): documentId=q1 version=\d+\.\d+/);
    expect(table).toMatch(/governance\s+userdocument\.consent\.changed by publisher \(.{8}…\): documentId=impressions option=execution status=disabled/);
    expect(table).toMatch(/governance\s+contract\.secret\.set by advertiser \(.{8}…\): secretId=.{8}…_results-key\n/);
    expect(table).toMatch(/governance\s+contract\.accepted: proposalId=.{8}… proposerId=publisher \(.{8}…\) action=set_contract proposalState=Accepted finalVotes=publisher \(.{8}…\): accept, /);
  });

  it("filters by scope and by run id", async () => {
    ok(await runAs("analyst", "governance", "event", "put", "--contract-id", CONTRACT, "--scope", "notes", "--data", JSON.stringify({ source: "analyst-notes", message: "reviewed run-0042 of q1" })));
    const notes = await jsonAs<AuditEvent[]>("analyst", "audit", "list", "--contract-id", CONTRACT, "--scope", "notes");
    expect(notes).toHaveLength(1);
    expect(ok(await runAs("analyst", "audit", "list", "--contract-id", CONTRACT, "--run-id", "run-0042")).stdout).toMatch(/member analyst \(.{8}…\)\s+reviewed run-0042 of q1\n$/);
    expect((await jsonAs<AuditEvent[]>("analyst", "audit", "list", "--contract-id", CONTRACT, "--scope", "governance")).every((e) => e.scope === "governance")).toBe(true);
    expect(ok(await runAs("analyst", "audit", "list", "--contract-id", CONTRACT, "--run-id", "run-9")).stdout).toBe("no events mention run run-9 in contract ads's audit log\n");
    fails(await runAs("analyst", "audit", "list", "--contract-id", CONTRACT, "--run-id", "bad id"), /--run-id 'bad id': expected 1-63 letters/, 2);
  });
});

describe("results download (without an agent: the run's folder is found by listing the sink)", () => {
  const sinkFolder = () => join(storage, "advertiser", "sink");
  const download = (profile: string, ...extra: string[]) => runAs(profile, "results", "download", "--contract-id", CONTRACT, "--sink", "results", "--job-id", "run-1", ...extra);

  beforeAll(async () => {
    // What the agent writes for a run: <contractId>/<YYYY-MM-DD>/<runId>/part-00000.parquet, under the sink's key.
    const folder = join(sinkFolder(), CONTRACT, "2026-01-05", "run-1");
    mkdirSync(folder, { recursive: true });
    const rows = Array.from({ length: 250 }, (_, i) => `${i},${i * 2},${(i * 1.5).toFixed(1)}`).join("\n") + "\n";
    const { Readable } = await import("node:stream");
    await writeParquet({
      input: { format: "csv", stream: Readable.from([rows]) },
      fields: [
        { name: "campaign_id", type: "long" },
        { name: "conversions", type: "long" },
        { name: "revenue", type: "number" },
      ],
      outputPath: join(folder, "part-00000.parquet"),
      key: keyOf("advertiser", "results"),
    });
    const small = join(sinkFolder(), CONTRACT, "2026-01-06", "run-2");
    mkdirSync(small, { recursive: true });
    await writeParquet({
      input: { format: "csv", stream: Readable.from(["10,3,7.5\n11,1,2\n"]) },
      fields: [
        { name: "campaign_id", type: "long" },
        { name: "conversions", type: "long" },
        { name: "revenue", type: "number" },
      ],
      outputPath: join(small, "part-00000.parquet"),
      key: keyOf("advertiser", "results"),
    });
  });

  it("decrypts and prints all rows of a small result as a table", async () => {
    const result = ok(await runAs("advertiser", "results", "download", "--contract-id", CONTRACT, "--sink", "results", "--run-id", "run-2"));
    expect(result.stdout).toBe(
      ["campaign_id  conversions  revenue", "-----------  -----------  -------", "10           3            7.5", "11           1            2", "2 rows", ""].join("\n"),
    );
    expect(result.stderr).toMatch(/downloading ads\/2026-01-06\/run-2\/part-00000\.parquet: .* done/);
  });

  it("prints the first 200 rows and a count, or every row as JSON lines", async () => {
    const table = ok(await download("advertiser")).stdout.split("\n");
    expect(table[0]).toMatch(/^campaign_id\s+conversions\s+revenue$/);
    expect(table).toHaveLength(2 + 200 + 2);
    expect(table.at(-2)).toBe("first 200 of 250 rows: use --out <dir> to write them all as CSV, or --output json for JSON lines");
    const lines = ok(await download("advertiser", "-o", "json")).stdout.trim().split("\n");
    expect(lines).toHaveLength(250);
    expect(JSON.parse(lines[249]!)).toEqual({ campaign_id: "249", conversions: "498", revenue: 373.5 });
  });

  it("writes CSV files into --out", async () => {
    const out = join(work, "out");
    const written = ok(await download("advertiser", "-o", "json", "--out", out)).json<{ files: Array<{ path: string; rows: number; object: string }> }>();
    expect(written.files).toEqual([{ object: "ads/2026-01-05/run-1/part-00000.parquet", path: join(out, "part-00000.csv"), rows: 250 }]);
    const csv = readFileSync(join(out, "part-00000.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("campaign_id,conversions,revenue");
    expect(csv).toHaveLength(251);
    expect(readdirSync(out)).toEqual(["part-00000.csv"]);
  });

  it("says who holds the key when this profile has none, and what is missing otherwise", async () => {
    fails(await download("analyst"), /Profile 'analyst' has no key for sink results .*kept by the sink owner's profile \(advertiser \(.{8}…\) \(member\)\), which created it with `cleanroom sink publish`/);
    fails(await runAs("advertiser", "results", "download", "--contract-id", CONTRACT, "--sink", "results", "--job-id", "run-3"), /No results of run run-3 in .*: nothing under ads\/<YYYY-MM-DD>\/run-3\//);
    fails(await runAs("advertiser", "results", "download", "--contract-id", CONTRACT, "--sink", "results"), /give the run with --job-id <id>/, 2);
    fails(await runAs("advertiser", "results", "download", "--contract-id", CONTRACT, "--sink", "impressions", "--job-id", "run-1"), /is not a sink/);
  });

  it("refuses results that do not decrypt with the key", async () => {
    const folder = join(sinkFolder(), CONTRACT, "2026-01-07", "run-4");
    mkdirSync(folder, { recursive: true });
    const { Readable } = await import("node:stream");
    await writeParquet({ input: { format: "csv", stream: Readable.from(["1,1,1\n"]) }, fields: [{ name: "campaign_id", type: "long" }, { name: "conversions", type: "long" }, { name: "revenue", type: "number" }], outputPath: join(folder, "part-00000.parquet"), key: Buffer.alloc(32, 1) });
    fails(await runAs("advertiser", "results", "download", "--contract-id", CONTRACT, "--sink", "results", "--job-id", "run-4"), /The results do not decrypt with this profile's key for the sink/);
  });
});

describe("query run, status and runs: argument handling without an agent", () => {
  it("needs an agent in the profile, and checks arguments first", async () => {
    fails(await runAs("analyst", "query", "run", "--contract-id", CONTRACT, "--id", "q1"), /^error: Profile 'analyst' has no agent: set one with `cleanroom profile set-agent --agent-url <url> --agent-cert <file>`\.\n$/);
    fails(await runAs("analyst", "query", "run", "--contract-id", CONTRACT, "--id", "q1", "--run-id", "-x"), /--run-id '-x': expected 1-63 letters/, 2);
    fails(await runAs("analyst", "query", "run", "--contract-id", CONTRACT, "--id", "q1", "--start-date", "2026-01-02"), /Both --start-date and --end-date must be provided/, 2);
    fails(await runAs("analyst", "query", "run", "--contract-id", CONTRACT, "--id", "q1", "--start-date", "2026-01-02", "--end-date", "2026-01-01"), /--start-date must be earlier than or equal to the --end-date/, 2);
    fails(await runAs("analyst", "query", "status"), /give the run with --job-id <id> \(or --run-id <id>\)/, 2);
    fails(await runAs("analyst", "query", "runs", "--contract-id", CONTRACT, "--id", "q1"), /has no agent/);
  });

  it("sets a profile's agent", async () => {
    writeFileSync(join(work, "agent_cert.pem"), consortium.service.serviceCertificatePem);
    ok(await runAs("analyst", "profile", "set-agent", "--agent-url", "https://127.0.0.1:1", "--agent-cert", "agent_cert.pem"));
    expect(await jsonAs<{ agentUrl: string; agentCertificate: string }>("analyst", "profile", "show")).toMatchObject({ agentUrl: "https://127.0.0.1:1", agentCertificate: join(work, "agent_cert.pem") });
    fails(await runAs("analyst", "query", "runs", "--contract-id", CONTRACT, "--id", "q1"), /cannot reach the service|ECONNREFUSED/);
    fails(await run("profile", "create", "half", "--service-url", consortium.service.url, "--service-cert", "service_cert.pem", "--agent-url", "https://127.0.0.1:1"), /Give --agent-url and --agent-cert together/);
    fails(await runAs("analyst", "profile", "set-agent", "--agent-url", "http://127.0.0.1:1", "--agent-cert", "agent_cert.pem"), /invalid input/);
  });
});
