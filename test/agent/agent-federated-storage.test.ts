// The run's data path with storage credentials by workload identity federation, through the agent: no storage
// secret exists anywhere. The advertiser's dataset and the sink are in S3 (MinIO, built from source by npm test),
// whose STS trusts the consortium's OIDC issuer; their documents name a subject of the contract, and the agent asks
// governance for a token over its attested link (`GovernancePort.issueToken`) and exchanges it at MinIO's STS. A
// subject the bucket's policy does not trust fails the run as MinIO decides, and nothing is committed.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Credentials, Location, RunStatus } from "@cleanroom/protocol";
import { downloadToFile, openStore, parseSecretCredentials, type ObjectStore } from "@cleanroom/storage";
import { readParquetWithDuckDb } from "../../packages/parquet-crypto/src/read-back.case.js";
import { CONTRACT, createQuery, publishDataset, publishRemoteDataset, publishRemoteSink, startCleanRoom, type CleanRoom } from "../support/clean-room.js";
import { enableServiceIssuer, startMinioTrusting } from "../support/federation.js";
import { createMinioBuckets, MINIO_REGION, minioBinary, minioOpenIdRoleArn, type MinioServer } from "../support/minio.js";
import { CONVERSIONS, EXPECTED_RESULT, IMPRESSIONS, objectKeys, PARTY_FIELDS, RESULT_FIELDS, runToEnd, twoPartyQuery } from "../support/remote-runs.js";

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
/** The sink as its owner sees it, with MinIO's root keys. */
const ownersSink = (): ObjectStore => openStore(s3Location("results", "out"), parseSecretCredentials(s3Location("results", "out"), rootJson));
const sinkKeys = (): Promise<string[]> => objectKeys(ownersSink());

describe.skipIf(skipReason !== undefined)("a run over S3 with credentials by federation", () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cleanroom-federated-"));
    room = await startCleanRoom();
    trusted = `${CONTRACT}/${room.advertiser.id}/storage`;
    const issuer = await enableServiceIssuer(room.consortium);
    const statement = (action: string[], resource: string[]) => ({ Effect: "Allow", Action: action, Resource: resource, Condition: { StringEquals: { "jwt:sub": [trusted] } } });
    minio = await startMinioTrusting({ issuer, consortium: room.consortium }, AUDIENCE, POLICY, {
      Version: "2012-10-17",
      Statement: [
        statement(["s3:ListBucket"], ["arn:aws:s3:::advertiser", "arn:aws:s3:::results"]),
        statement(["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], ["arn:aws:s3:::advertiser/*", "arn:aws:s3:::results/*"]),
      ],
    });
    rootJson = JSON.stringify({ accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword });
    await createMinioBuckets(minio, ["advertiser", "results"]);

    await publishDataset(room, room.publisher, "impressions", { fields: PARTY_FIELDS, rows: IMPRESSIONS });
    // The owner uploads with its own keys; the clean room gets only the federation subject.
    for (const [name, subject] of [
      ["conversions", trusted],
      ["conversions-untrusted", `${CONTRACT}/${room.advertiser.id}/other`],
    ] as const) {
      await publishRemoteDataset(room, room.advertiser, name, { location: s3Location("advertiser", name), credentialsJson: rootJson, cleanRoomFederation: federation(subject), fields: PARTY_FIELDS, rows: CONVERSIONS });
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
    await downloadToFile(ownersSink(), key!, file);
    expect(await readParquetWithDuckDb(file, room.keys.get("results"), "*", "ORDER BY campaign")).toEqual(EXPECTED_RESULT);

    // Another subject of the same owner gets a token and credentials, but the bucket's policy refuses it.
    await createQuery(room, room.operator, "q-untrusted", twoPartyQuery("impressions", "conversions-untrusted"), [room.publisher, room.advertiser]);
    const before = await sinkKeys();
    const refused = await run("q-untrusted", "untrusted-1");
    expect(refused.state).toBe("FAILED");
    expect(refused.error?.code).toBe("StorageAccessDenied");
    expect(await sinkKeys()).toEqual(before);
  });
});
