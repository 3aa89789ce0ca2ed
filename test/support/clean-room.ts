// A complete collaboration for the agent's tests: a consortium of a publisher, an advertiser and an operator, an
// accepted contract whose clean-room policy admits the agent (on the virtual platform), datasets published the way
// `cleanroom dataset publish` does (encrypted Parquet in local folders, keys as the owners' governance secrets),
// a sink, and the agent itself, in this process, reaching governance only through its attested link.
import { randomBytes } from "node:crypto";
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { expect } from "vitest";
import { AgentClient } from "@cleanroom/agent-client";
import { governancePortOf, startAgent, type GovernancePort, type RunningAgent } from "@cleanroom/agent";
import { hostDataOfConfiguration } from "@cleanroom/attestation";
import { writeParquet } from "@cleanroom/parquet-crypto";
import type { DatasetField, DatasetSpecification, Location, QuerySpecification, UserDocument } from "@cleanroom/protocol";
import { openStore, parseSecretCredentials } from "@cleanroom/storage";
import { GovernanceLink, virtualPlatformSource, WorkloadKey } from "@cleanroom/runtime";
import { acceptContract, enact } from "./app-fixtures.js";
import { startConsortium, type Consortium, type TestIdentity } from "./consortium.js";
import { virtualWorkloads } from "./virtual-workloads.js";

export const CONTRACT = "collab";
export const AGENT_CONFIG = JSON.stringify({ workload: "cleanroom-agent", engine: "duckdb", contractId: CONTRACT });

export interface CleanRoom {
  consortium: Consortium;
  publisher: TestIdentity;
  advertiser: TestIdentity;
  operator: TestIdentity;
  /** Where datasets and sinks live (local-folder storage). */
  storage: string;
  agent: RunningAgent;
  /** The agent's governance port; tests may wrap it through `wrapPort` at start. */
  port: GovernancePort;
  /** An agent client authenticated as the identity. */
  clientFor(identity: TestIdentity): AgentClient;
  /** Keys kept by their owners (what the CLI's key store holds), by document id. */
  keys: Map<string, Buffer>;
  close(): Promise<void>;
}

export interface CleanRoomOptions {
  /** Wraps the agent's governance port, e.g. to revoke consent at a chosen moment. */
  wrapPort?: (port: GovernancePort) => GovernancePort;
  memoryLimit?: string;
}

export async function startCleanRoom(options: CleanRoomOptions = {}): Promise<CleanRoom> {
  const virtual = await virtualWorkloads();
  const consortium = await startConsortium({ members: ["publisher", "advertiser", "operator"], service: virtual.trusting });
  const [publisher, advertiser, operator] = consortium.members as [TestIdentity, TestIdentity, TestIdentity];
  await acceptContract(consortium, CONTRACT);
  await enact(consortium, [
    {
      name: "set_clean_room_policy",
      args: { contractId: CONTRACT, type: "add", claims: { "x-ms-sevsnpvm-hostdata": hostDataOfConfiguration(AGENT_CONFIG), "x-ms-sevsnpvm-is-debuggable": false } },
    },
  ]);
  const work = mkdtempSync(join(tmpdir(), "cleanroom-room-"));
  const storage = join(work, "storage");
  mkdirSync(storage);
  const source = virtualPlatformSource(virtual.platform, AGENT_CONFIG);
  const link = new GovernanceLink({
    url: consortium.service.url,
    serviceCertificatePem: consortium.service.serviceCertificatePem,
    contractId: CONTRACT,
    key: WorkloadKey.generate(),
    source,
  });
  const base = governancePortOf(link);
  const port = options.wrapPort ? options.wrapPort(base) : base;
  const agent = await startAgent({
    contractId: CONTRACT,
    governance: port,
    workDirectory: join(work, "agent"),
    attestation: { mode: source.mode, hostData: source.hostData ?? "" },
    governanceUrl: consortium.service.url,
    memoryLimit: options.memoryLimit ?? "1GB",
    threads: 2,
    logError: () => undefined,
  });
  const clients: AgentClient[] = [];
  return {
    consortium,
    publisher,
    advertiser,
    operator,
    storage,
    agent,
    port,
    keys: new Map(),
    clientFor(identity) {
      const client = new AgentClient({ url: agent.url, serviceCertificatePem: agent.certificatePem, certificatePem: identity.certificatePem, privateKeyPem: identity.keys.privateKeyPem });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.close();
      await agent.close();
      link.close();
      await consortium.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Creates an analytics document as `owner` and has `approvers` (default: the owner) accept it. */
export async function acceptAnalyticsDocument(
  room: CleanRoom,
  owner: TestIdentity,
  documentId: string,
  type: "dataset" | "datasink" | "query",
  data: unknown,
  approvers: TestIdentity[] = [owner],
): Promise<UserDocument> {
  const written = await owner.client.putUserDocument(CONTRACT, documentId, { data, labels: { type } });
  const version = written.transactionId!;
  let document: UserDocument | undefined;
  for (const approver of approvers) document = (await approver.client.approveUserDocument(CONTRACT, documentId, version, "accept")).value;
  return document ?? (await owner.client.userDocument(CONTRACT, documentId));
}

function csvOf(rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  return rows.map((row) => row.join(",")).join("\n") + "\n";
}

type Rows = ReadonlyArray<ReadonlyArray<string | number>>;

export interface PublishOptions {
  fields: DatasetField[];
  allowedFields?: string[];
  rows: Rows;
  /** Files under a day folder (`<YYYY-MM-DD>/`) instead of the dataset's root. */
  day?: string;
  encrypted?: boolean;
  /** Further files of the same dataset, e.g. other days. */
  alsoDays?: Array<{ day: string; rows: Rows }>;
}

/** Rows as (encrypted, with `key`) Parquet, as `cleanroom dataset publish` writes them. */
async function writeRows(rows: Rows, fields: DatasetField[], outputPath: string, key: Buffer | undefined): Promise<void> {
  await writeParquet({ input: { format: "csv", stream: Readable.from([csvOf(rows)]), header: false }, fields, outputPath, ...(key ? { key } : {}) });
}

interface Publication {
  kind: "dataset" | "datasink";
  fields: DatasetField[];
  allowedFields?: string[];
  location: Location;
  /** The data key, stored as the owner's `<name>-key` secret and kept in room.keys; none means plaintext. */
  key?: Buffer;
  /** Storage credentials JSON, stored as the owner's `<name>-storage` secret; none means local storage. */
  storageJson?: string;
  /** The document's credentials as given (federation), instead of a stored secret. */
  credentials?: DatasetSpecification["credentials"];
}

/** The document a publish ends with: the owner's secrets, then the dataset or sink document, accepted by its owner. */
async function acceptSpec(room: CleanRoom, owner: TestIdentity, name: string, publication: Publication): Promise<UserDocument> {
  let encryption: DatasetSpecification["encryption"] = { mode: "none" };
  if (publication.key) {
    const { value } = await owner.client.putSecret(CONTRACT, `${name}-key`, publication.key.toString("base64"));
    encryption = { mode: "parquet-uniform", keySecretId: value.secretId };
    room.keys.set(name, publication.key);
  }
  const credentials: DatasetSpecification["credentials"] =
    publication.credentials ??
    (publication.storageJson === undefined ? { kind: "none" } : { kind: "secret", secretId: (await owner.client.putSecret(CONTRACT, `${name}-storage`, publication.storageJson)).value.secretId });
  // Datasets and sinks share one shape; the label and `accessMode` tell them apart.
  const spec: DatasetSpecification = {
    name,
    schema: { format: "parquet", fields: publication.fields },
    accessPolicy: { accessMode: publication.kind === "dataset" ? "read" : "write", allowedFields: publication.allowedFields ?? publication.fields.map((field) => field.name) },
    location: publication.location,
    encryption,
    credentials,
  };
  return acceptAnalyticsDocument(room, owner, name, publication.kind, spec);
}

/** Publishes a dataset as the CLI does: encrypted Parquet in the owner's folder, the key as the owner's secret. */
export async function publishDataset(room: CleanRoom, owner: TestIdentity, name: string, options: PublishOptions): Promise<{ folder: string; document: UserDocument }> {
  const folder = join(room.storage, owner.name, name);
  const key = (options.encrypted ?? true) ? randomBytes(32) : undefined;
  const files = [{ day: options.day, rows: options.rows }, ...(options.alsoDays ?? [])];
  for (const [index, file] of files.entries()) {
    const target = file.day ? join(folder, file.day) : folder;
    mkdirSync(target, { recursive: true });
    await writeRows(file.rows, options.fields, join(target, `part-${index}.parquet`), key);
  }
  const publication: Publication = { kind: "dataset", fields: options.fields, location: { kind: "local", path: folder }, ...(key ? { key } : {}) };
  if (options.allowedFields) publication.allowedFields = options.allowedFields;
  return { folder, document: await acceptSpec(room, owner, name, publication) };
}

/** Publishes an encrypted Parquet sink in the owner's folder; the owner keeps its key (room.keys). */
export async function publishSink(room: CleanRoom, owner: TestIdentity, name: string, fields: DatasetField[], allowedFields?: string[]): Promise<{ folder: string; document: UserDocument }> {
  const folder = join(room.storage, owner.name, name);
  const publication: Publication = { kind: "datasink", fields, location: { kind: "local", path: folder }, key: randomBytes(32), ...(allowedFields ? { allowedFields } : {}) };
  return { folder, document: await acceptSpec(room, owner, name, publication) };
}

/** Creates a query as `author`; `approvers` accept it (default: nobody, so it stays Draft). */
export async function createQuery(room: CleanRoom, author: TestIdentity, queryId: string, query: QuerySpecification, approvers: TestIdentity[] = []): Promise<UserDocument> {
  const written = await author.client.putUserDocument(CONTRACT, queryId, { data: query, labels: { type: "query" } });
  let document = await author.client.userDocument(CONTRACT, queryId);
  for (const approver of approvers) document = (await approver.client.approveUserDocument(CONTRACT, queryId, written.transactionId!, "accept")).value;
  return document;
}

/** The error code of a failed agent call. */
export async function agentErrorCode(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    const code = (error as { code?: string }).code;
    expect(code, String(error)).toBeDefined();
    return code!;
  }
  throw new Error("expected the agent call to fail");
}

export interface RemoteOptions {
  location: Exclude<Location, { kind: "local" }>;
  /** The owner's storage credentials (docs/storage.md shapes): used to upload, and stored as the owner's secret. */
  credentialsJson: string;
  /** What the clean room gets instead (e.g. a wrong key), when it must differ from what the owner uploads with. */
  cleanRoomCredentialsJson?: string;
  /** The clean room's credentials in the document instead of a secret: workload identity federation. */
  cleanRoomFederation?: Extract<DatasetSpecification["credentials"], { kind: "federation" }>;
}

function cleanRoomAccess(options: RemoteOptions): Pick<Publication, "storageJson" | "credentials"> {
  return options.cleanRoomFederation ? { credentials: options.cleanRoomFederation } : { storageJson: options.cleanRoomCredentialsJson ?? options.credentialsJson };
}

/** Publishes a dataset to Azure Blob or S3: encrypted Parquet uploaded with the owner's keys, credentials as a secret. */
export async function publishRemoteDataset(room: CleanRoom, owner: TestIdentity, name: string, options: RemoteOptions & { fields: DatasetField[]; rows: Rows }): Promise<UserDocument> {
  const key = randomBytes(32);
  const local = join(room.storage, `${name}-upload.parquet`);
  await writeRows(options.rows, options.fields, local, key);
  const store = openStore(options.location, parseSecretCredentials(options.location, options.credentialsJson));
  await store.write("part-0.parquet", createReadStream(local), { contentLength: statSync(local).size });
  return acceptSpec(room, owner, name, { kind: "dataset", fields: options.fields, location: options.location, key, ...cleanRoomAccess(options) });
}

/** Publishes an encrypted Parquet sink in Azure Blob or S3. */
export async function publishRemoteSink(room: CleanRoom, owner: TestIdentity, name: string, options: RemoteOptions & { fields: DatasetField[] }): Promise<UserDocument> {
  return acceptSpec(room, owner, name, {
    kind: "datasink",
    fields: options.fields,
    location: options.location,
    key: randomBytes(32),
    ...cleanRoomAccess(options),
  });
}
