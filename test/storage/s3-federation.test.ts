// S3 credentials by workload identity federation, end to end: resolveCredentials with `federation` credentials, a
// CredentialSource whose tokens come from the consortium's OIDC issuer (a governance service whose issuer MinIO
// trusts, the attested test workload asking), and MinIO's STS AssumeRoleWithWebIdentity exchanging them. Every
// refusal below is MinIO's own decision.
import { existsSync } from "node:fs";
import { Readable } from "node:stream";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Credentials, Location } from "@cleanroom/protocol";
import { openStore, resolveCredentials, type CredentialSource } from "@cleanroom/storage";
import { startFederationIssuer, startMinioTrusting, type FederationIssuer } from "../support/federation.js";
import { createMinioBuckets, MINIO_REGION, minioBinary, minioOpenIdRoleArn, type MinioServer } from "../support/minio.js";
import { expectStorageError, listed, readAll } from "./streams.js";

const CONTRACT = "storage-federated";
const SUBJECT = `${CONTRACT}/sink-owner`;
/** MinIO's OpenID client id: the `aud` its STS requires. */
const AUDIENCE = "cleanroom-minio";
const POLICY = "cleanroom-storage-federated";
const BUCKET = "party-b-sink";

const skipReason =
  !existsSync(minioBinary) && !process.env.CI ? `MinIO is not built at ${minioBinary}: run npm test (which builds it with Go) to run the federation tests` : undefined;
if (skipReason) console.warn(`test/storage/s3-federation: skipped — ${skipReason}`);

let federation: FederationIssuer;
let minio: MinioServer;

/** The clean room's side: tokens from the issuer for whatever subject and audience the document names. */
function issuerSource(issued: Array<{ sub: string; aud: string; token: string }>, lifetime = 900): CredentialSource {
  return {
    releaseSecret: () => Promise.reject(new Error("no secrets in this test")),
    async issueToken({ sub, aud }) {
      const token = await federation.token({ sub, aud, lifetime });
      issued.push({ sub, aud, token });
      return token;
    },
  };
}

const location = (): Extract<Location, { kind: "s3" }> => ({
  kind: "s3",
  endpoint: minio.url,
  region: MINIO_REGION,
  bucket: BUCKET,
  prefix: "results",
  forcePathStyle: true,
});
const federated = (subject: string, audience = AUDIENCE): Credentials => ({ kind: "federation", subject, audience, roleArn: minioOpenIdRoleArn(AUDIENCE) });
const text = (value: string) => Readable.from([Buffer.from(value)]);

describe.skipIf(skipReason !== undefined)("S3 credentials by federation with MinIO's STS", () => {
  beforeAll(async () => {
    federation = await startFederationIssuer(CONTRACT);
    // MinIO's STS does not look at the subject, so the role's policy does: only the sink owner's subject may use the
    // bucket (docs/workload-identity-federation.md).
    minio = await startMinioTrusting(federation, AUDIENCE, POLICY, {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Action: ["s3:ListBucket"], Resource: [`arn:aws:s3:::${BUCKET}`], Condition: { StringEquals: { "jwt:sub": [SUBJECT] } } },
        {
          Effect: "Allow",
          Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
          Resource: [`arn:aws:s3:::${BUCKET}/*`],
          Condition: { StringEquals: { "jwt:sub": [SUBJECT] } },
        },
      ],
    });
    await createMinioBuckets(minio, [BUCKET]);
  });

  afterAll(async () => {
    // MinIO first and unconditionally: a server process must not outlive the test, whatever else failed.
    try {
      await minio?.stop();
    } finally {
      await federation?.close();
    }
  });

  it("resolves to a web identity for the role, exchanging nothing until the store is used", async () => {
    const issued: Array<{ sub: string; aud: string; token: string }> = [];
    const resolved = await resolveCredentials(location(), federated(SUBJECT), issuerSource(issued));
    // The STS defaults to the location's endpoint for S3-compatible servers.
    expect(resolved).toMatchObject({ kind: "s3-web-identity", roleArn: minioOpenIdRoleArn(AUDIENCE), stsEndpoint: minio.url });
    expect(issued).toEqual([]);
  });

  it("lists, writes, reads and deletes with temporary credentials obtained for the issuer's token", async () => {
    const issued: Array<{ sub: string; aud: string; token: string }> = [];
    const store = openStore(location(), await resolveCredentials(location(), federated(SUBJECT), issuerSource(issued)));
    await store.check();
    await store.write("ads/2025-09-01/run-1/part-0.csv", text("campaign,reach\nspring,1200\n"));
    expect(await listed(store.list("ads/"))).toEqual([["ads/2025-09-01/run-1/part-0.csv", 27]]);
    expect((await readAll(await store.read("ads/2025-09-01/run-1/part-0.csv"))).toString()).toBe("campaign,reach\nspring,1200\n");
    await store.delete("ads/2025-09-01/run-1/part-0.csv");
    expect(await listed(store.list())).toEqual([]);
    // One exchange served every request: the credentials are reused until shortly before they expire.
    expect(issued.map(({ sub, aud }) => ({ sub, aud }))).toEqual([{ sub: SUBJECT, aud: AUDIENCE }]);
    expect(decodeJwt(issued[0]!.token)).toMatchObject({ iss: federation.issuer, sub: SUBJECT, aud: AUDIENCE });
  });

  it("exchanges a fresh token before the credentials expire", async () => {
    const issued: Array<{ sub: string; aud: string; token: string }> = [];
    // MinIO's credentials expire with the token: 4 s, refreshed a quarter of that early.
    const store = openStore(location(), await resolveCredentials(location(), federated(SUBJECT), issuerSource(issued, 4)));
    await store.check();
    await store.check();
    expect(issued).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    await store.check();
    expect(issued).toHaveLength(2);
  });

  it("gives a token for another subject of the contract credentials that the bucket refuses: StorageAccessDenied", async () => {
    const store = openStore(location(), await resolveCredentials(location(), federated(`${CONTRACT}/other`), issuerSource([])));
    await expectStorageError(store.check(), "StorageAccessDenied");
    await expectStorageError(store.read("ads/anything.csv"), "StorageAccessDenied");
    await expectStorageError(store.write("ads/planted.csv", text("x")), "StorageAccessDenied");
  });

  it("reports a token STS refuses (another audience) as StorageAccessDenied, naming STS and the role", async () => {
    const store = openStore(location(), await resolveCredentials(location(), federated(SUBJECT, "sts.amazonaws.com"), issuerSource([])));
    const error = await expectStorageError(store.check(), "StorageAccessDenied");
    expect(error.message).toContain(`STS ${minio.url} refused`);
    expect(error.message).toContain(minioOpenIdRoleArn(AUDIENCE));
  });

  it("reports an issuer that gives no token as StorageAccessDenied", async () => {
    const refusing: CredentialSource = { releaseSecret: () => Promise.reject(new Error("unused")), issueToken: () => Promise.reject(new Error("consent revoked")) };
    const store = openStore(location(), await resolveCredentials(location(), federated(SUBJECT), refusing));
    const error = await expectStorageError(store.check(), "StorageAccessDenied");
    expect(error.message).toContain("consent revoked");
  });

  it("needs a roleArn for an S3 location", async () => {
    await expectStorageError(resolveCredentials(location(), { kind: "federation", subject: SUBJECT, audience: AUDIENCE }, issuerSource([])), "StorageCredentialsInvalid");
  });
});
