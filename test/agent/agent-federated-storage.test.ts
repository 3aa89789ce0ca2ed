// The run's data path with storage credentials by workload identity federation, through the agent: no storage
// secret exists anywhere. The advertiser's dataset and the sink are in S3 (MinIO, built from source by npm test),
// whose STS trusts the consortium's OIDC issuer; their documents name a subject of the contract, and the agent asks
// governance for a token over its attested link (`GovernancePort.issueToken`) and exchanges it at MinIO's STS. A
// subject the bucket's policy does not trust fails the run as MinIO decides, and nothing is committed.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Credentials, Location, RunStatus } from "@cleanroom/protocol";
import { downloadToFile, openStore, parseSecretCredentials } from "@cleanroom/storage";
import { readParquetWithDuckDb } from "../../packages/parquet-crypto/src/read-back.case.js";
import { enact } from "../support/app-fixtures.js";
import { appRequest } from "../support/app-requests.js";
import { CONTRACT, createQuery, publishDataset, publishRemoteDataset, publishRemoteSink, startCleanRoom, type CleanRoom } from "../support/clean-room.js";
import { startMinioTrusting } from "../support/federation.js";
import { MINIO_REGION, minioBinary, minioOpenIdRoleArn, type MinioServer } from "../support/minio.js";
import { objectKeys, PARTY_FIELDS, RESULT_FIELDS, runToEnd, twoPartyQuery } from "../support/remote-runs.js";

const skipReason = !existsSync(minioBinary) && !process.env.CI ? `MinIO is not built at ${minioBinary}: run npm test (which builds it with Go)` : undefined;
if (skipReason) console.warn(`test/agent/agent-federated-storage: skipped — ${skipReason}`);

/** MinIO's OpenID client id: the `aud` its STS requires. */
const AUDIENCE = "cleanroom-minio";
const POLICY = "cleanroom-agent-federated";

let room: CleanRoom;
let minio: MinioServer;
/**
 * The one subject the buckets trust: the service lets an owner name only `<contract>/<its id>[/<name>]`. MinIO's STS
 * does not check subjects, so the role's policy does.
 */
let trusted: string;
let rootJson: string;
let work: string;

const s3Location = (bucket: string, prefix: string): Location & { kind: "s3" } => ({ kind: "s3", endpoint: minio.url, region: MINIO_REGION, bucket, prefix, forcePathStyle: true });
const federation = (subject: string): Extract<Credentials, { kind: "federation" }> => ({ kind: "federation", subject, audience: AUDIENCE, roleArn: minioOpenIdRoleArn(AUDIENCE) });

const run = (queryId: string, runId: string): Promise<RunStatus> => runToEnd(room, queryId, runId);
/** What the sink's bucket holds, listed with MinIO's root keys (the owner's view). */
const sinkKeys = (): Promise<string[]> => objectKeys(openStore(s3Location("results", "out"), parseSecretCredentials(s3Location("results", "out"), rootJson)));

describe.skipIf(skipReason !== undefined)("a run over S3 with credentials by federation", () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cleanroom-federated-"));
    room = await startCleanRoom();
    trusted = `${CONTRACT}/${room.advertiser.id}/storage`;
    // The consortium's issuer, at the service's own address, so that MinIO on this machine can fetch its keys.
    const issuer = `${room.consortium.service.url}/app/oidc`;
    await enact(room.consortium, [{ name: "enable_oidc_issuer", args: { issuer_url: issuer } }]);
    const generated = await appRequest(room.consortium.service, room.consortium.members[0], "POST", "/app/oidc/generateSigningKey");
    expect(generated.status, JSON.stringify(generated.body)).toBe(200);
    const statement = (action: string[], resource: string[]) => ({ Effect: "Allow", Action: action, Resource: resource, Condition: { StringEquals: { "jwt:sub": [trusted] } } });
    minio = await startMinioTrusting({ issuer, consortium: room.consortium }, AUDIENCE, POLICY, {
      Version: "2012-10-17",
      Statement: [
        statement(["s3:ListBucket"], ["arn:aws:s3:::advertiser", "arn:aws:s3:::results"]),
        statement(["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], ["arn:aws:s3:::advertiser/*", "arn:aws:s3:::results/*"]),
      ],
    });
    rootJson = JSON.stringify({ accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword });
    const root = new S3Client({ endpoint: minio.url, region: MINIO_REGION, forcePathStyle: true, credentials: { accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword } });
    await root.send(new CreateBucketCommand({ Bucket: "advertiser" }));
    await root.send(new CreateBucketCommand({ Bucket: "results" }));
    root.destroy();

    const impressions = Array.from({ length: 30 }, (_, i) => [`u${i}`, i < 20 ? "c1" : "c2"]);
    const conversions = Array.from({ length: 12 }, (_, i) => [`u${i * 2}`, "c1"]);
    await publishDataset(room, room.publisher, "impressions", { fields: PARTY_FIELDS, rows: impressions });
    // The owner uploads with its own keys; the clean room gets only the federation subject.
    for (const [name, subject] of [
      ["conversions", trusted],
      ["conversions-untrusted", `${CONTRACT}/${room.advertiser.id}/other`],
    ] as const) {
      await publishRemoteDataset(room, room.advertiser, name, { location: s3Location("advertiser", name), credentialsJson: rootJson, cleanRoomFederation: federation(subject), fields: PARTY_FIELDS, rows: conversions });
    }
    await publishRemoteSink(room, room.advertiser, "results", { location: s3Location("results", "out"), credentialsJson: rootJson, cleanRoomFederation: federation(trusted), fields: RESULT_FIELDS });
  }, 180_000);

  afterAll(async () => {
    // MinIO first and unconditionally: a server process must not outlive the test, whatever else failed.
    try {
      await minio?.stop();
    } finally {
      await room?.close();
      if (work) rmSync(work, { recursive: true, force: true });
    }
  });

  it("reads the dataset and commits the encrypted result with credentials exchanged for the agent's tokens", async () => {
    await createQuery(room, room.operator, "q-federated", twoPartyQuery("impressions", "conversions"), [room.publisher, room.advertiser]);
    const status = await run("q-federated", "federated-1");
    expect(status.state, JSON.stringify(status.error)).toBe("COMPLETED");
    expect(status.stats).toMatchObject({ rowsRead: 42, rowsWritten: 2 });
    const [key] = status.output!.objects;
    const file = join(work, "result.parquet");
    await downloadToFile(openStore(s3Location("results", "out"), parseSecretCredentials(s3Location("results", "out"), rootJson)), key!, file);
    expect(await readParquetWithDuckDb(file, room.keys.get("results"), "*", "ORDER BY campaign")).toEqual([
      { campaign: "c1", users: "10" },
      { campaign: "c2", users: "2" },
    ]);

    // Another subject of the same owner gets a token and credentials, but the bucket's policy refuses it.
    await createQuery(room, room.operator, "q-untrusted", twoPartyQuery("impressions", "conversions-untrusted"), [room.publisher, room.advertiser]);
    const before = await sinkKeys();
    const refused = await run("q-untrusted", "untrusted-1");
    expect(refused.state).toBe("FAILED");
    expect(refused.error?.code).toBe("StorageAccessDenied");
    expect(await sinkKeys()).toEqual(before);
  });
});
