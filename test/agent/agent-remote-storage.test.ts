// The run's data path against real object stores: the publisher's dataset in Azure Blob (Azurite), the advertiser's
// in S3 (MinIO, built from source by npm test), the sink in S3. The clean room reaches each store with credentials
// the owners stored as governance secrets, released only to the attested agent; wrong or unreachable storage fails
// the run with a clear code and nothing is committed.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Location, RunStatus } from "@cleanroom/protocol";
import { downloadToFile, openStore, parseSecretCredentials } from "@cleanroom/storage";
import { readParquetWithDuckDb } from "../../packages/parquet-crypto/src/read-back.case.js";
import { startAzurite, type AzuriteServer } from "../support/azurite.js";
import { acceptAnalyticsDocument, CONTRACT, createQuery, publishRemoteDataset, publishRemoteSink, startCleanRoom, type CleanRoom } from "../support/clean-room.js";
import { createMinioBuckets, MINIO_REGION, minioBinary, startMinio, type MinioServer } from "../support/minio.js";
import { CONVERSIONS, EXPECTED_RESULT, IMPRESSIONS, objectKeys, PARTY_FIELDS, RESULT_FIELDS, runToEnd, twoPartyQuery } from "../support/remote-runs.js";
import { freePort } from "../support/server-process.js";

const skipReason = !existsSync(minioBinary) && !process.env.CI ? `MinIO is not built at ${minioBinary}: run npm test (which builds it with Go)` : undefined;
if (skipReason) console.warn(`test/agent/agent-remote-storage: skipped — ${skipReason}`);

let room: CleanRoom;
let azurite: AzuriteServer;
let minio: MinioServer;
let s3Json: string;
let azureJson: string;
let work: string;

const azureLocation = (container: string): Location & { kind: "azure-blob" } => ({ kind: "azure-blob", accountUrl: azurite.accountUrl, container, prefix: "impressions" });
const s3Location = (bucket: string, prefix: string): Location & { kind: "s3" } => ({ kind: "s3", endpoint: minio.url, region: MINIO_REGION, bucket, prefix, forcePathStyle: true });

const run = (queryId: string, runId: string): Promise<RunStatus> => runToEnd(room, queryId, runId);
const sinkKeys = (): Promise<string[]> => objectKeys(openStore(s3Location("results", "out"), parseSecretCredentials(s3Location("results", "out"), s3Json)));

describe.skipIf(skipReason !== undefined)("a run over Azure Blob and S3", () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cleanroom-remote-"));
    [room, azurite, minio] = await Promise.all([startCleanRoom(), startAzurite(), startMinio({ env: {} })]);
    s3Json = JSON.stringify({ accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword });
    azureJson = JSON.stringify({ accountName: azurite.accountName, accountKey: azurite.accountKey });
    await createMinioBuckets(minio, ["advertiser", "results"]);
    const blob = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey));
    await blob.getContainerClient("publisher").create();

    await publishRemoteDataset(room, room.publisher, "impressions", { location: azureLocation("publisher"), credentialsJson: azureJson, fields: PARTY_FIELDS, rows: IMPRESSIONS });
    await publishRemoteDataset(room, room.advertiser, "conversions", { location: s3Location("advertiser", "conversions"), credentialsJson: s3Json, fields: PARTY_FIELDS, rows: CONVERSIONS });
    await publishRemoteSink(room, room.advertiser, "results", { location: s3Location("results", "out"), credentialsJson: s3Json, fields: RESULT_FIELDS });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([room?.close(), azurite?.stop(), minio?.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  it("reads both stores with released credentials and commits the encrypted result to S3", async () => {
    await createQuery(room, room.operator, "q-remote", twoPartyQuery("impressions"), [room.publisher, room.advertiser]);
    const status = await run("q-remote", "remote-1");
    expect(status.state, JSON.stringify(status.error)).toBe("COMPLETED");
    expect(status.stats).toMatchObject({ rowsRead: 42, rowsWritten: 2 });
    expect(status.output?.location).toContain("s3://results/out");
    const [key] = status.output!.objects;
    expect(key).toBe(`${CONTRACT}/${status.submittedAt.slice(0, 10)}/remote-1/part-00000.parquet`);
    const file = join(work, "result.parquet");
    await downloadToFile(openStore(s3Location("results", "out"), parseSecretCredentials(s3Location("results", "out"), s3Json)), key!, file);
    expect(await readParquetWithDuckDb(file, room.keys.get("results"), "*", "ORDER BY campaign")).toEqual(EXPECTED_RESULT);
  });

  it("fails with StorageAccessDenied when the clean room's credentials are wrong, committing nothing", async () => {
    await publishRemoteDataset(room, room.publisher, "impressions-badkey", {
      location: azureLocation("publisher"),
      credentialsJson: azureJson,
      cleanRoomCredentialsJson: JSON.stringify({ accountName: azurite.accountName, accountKey: Buffer.from("not the key").toString("base64") }),
      fields: PARTY_FIELDS,
      rows: [["u1", "c1"]],
    });
    await createQuery(room, room.operator, "q-badkey", twoPartyQuery("impressions-badkey"), [room.publisher, room.advertiser]);
    const before = await sinkKeys();
    const status = await run("q-badkey", "badkey-1");
    expect(status.state).toBe("FAILED");
    expect(status.error?.code).toBe("StorageAccessDenied");
    expect(status.events.map((event) => event.name)).toEqual(["QUERY_EXECUTION_FAILED", "QUERY_FAILED"]);
    expect(await sinkKeys()).toEqual(before);
  });

  it("fails with StorageCredentialsInvalid when the credential secret has the wrong shape", async () => {
    await publishRemoteDataset(room, room.publisher, "impressions-badshape", {
      location: azureLocation("publisher"),
      credentialsJson: azureJson,
      cleanRoomCredentialsJson: s3Json,
      fields: PARTY_FIELDS,
      rows: [["u1", "c1"]],
    });
    await createQuery(room, room.operator, "q-badshape", twoPartyQuery("impressions-badshape"), [room.publisher, room.advertiser]);
    const status = await run("q-badshape", "badshape-1");
    expect(status.error?.code).toBe("StorageCredentialsInvalid");
    expect(status.error?.message).not.toContain(minio.rootPassword);
  });

  it("fails with StorageUnreachable when a store does not answer", async () => {
    const location = { ...s3Location("advertiser", "gone"), endpoint: `http://127.0.0.1:${await freePort()}` };
    const keySecret = (await room.advertiser.client.putSecret(CONTRACT, "gone-key", Buffer.alloc(32, 1).toString("base64"))).value.secretId;
    const storageSecret = (await room.advertiser.client.putSecret(CONTRACT, "gone-storage", s3Json)).value.secretId;
    await acceptAnalyticsDocument(room, room.advertiser, "gone", "dataset", {
      name: "gone",
      schema: { format: "parquet", fields: PARTY_FIELDS },
      accessPolicy: { accessMode: "read", allowedFields: ["user_id", "campaign"] },
      location,
      encryption: { mode: "parquet-uniform", keySecretId: keySecret },
      credentials: { kind: "secret", secretId: storageSecret },
    });
    await createQuery(room, room.operator, "q-gone", twoPartyQuery("impressions", "gone"), [room.publisher, room.advertiser]);
    const status = await run("q-gone", "gone-1");
    expect(status.state).toBe("FAILED");
    expect(status.error?.code).toBe("StorageUnreachable");
    // A dry run reaches the stores too, so the same problem shows before anything runs.
    await expect(room.clientFor(room.operator).run("q-gone", { dryRun: true })).rejects.toMatchObject({ code: "StorageUnreachable" });
  });
});
