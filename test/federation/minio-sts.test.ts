// Workload identity federation with a real S3-compatible server (issue 4 item 7): MinIO trusts the consortium's
// OIDC issuer the way AWS IAM trusts an OpenID Connect provider, and exchanges an attested workload's token for
// temporary S3 credentials (STS AssumeRoleWithWebIdentity). Every refusal below is MinIO's own decision.
import { existsSync } from "node:fs";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleWithWebIdentityCommand, STSClient, type Credentials } from "@aws-sdk/client-sts";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenIdConfigurationSchema } from "@cleanroom/protocol";
import { appRequest } from "../support/app-requests.js";
import { forgeLike, startFederationIssuer, startMinioTrusting, type FederationIssuer } from "../support/federation.js";
import { MINIO_REGION, minioBinary, minioOpenIdRoleArn, type MinioServer } from "../support/minio.js";

const CONTRACT = "federated";
const SUBJECT = `${CONTRACT}/reader`;
/** MinIO's OpenID client id: the `aud` its STS requires. */
const AUDIENCE = "cleanroom-minio";
const POLICY = "cleanroom-federated-reader";
const BUCKET = "party-a-data";
const OBJECT = "datasets/impressions.csv";
const CONTENT = "campaign,impressions\nspring,1200\n";

// Developers without Go skip with a reason; CI (CI set) never skips: there a missing build is a failure.
const skipReason =
  !existsSync(minioBinary) && !process.env.CI ? `MinIO is not built at ${minioBinary}: run npm test (which builds it with Go) to run the federation tests` : undefined;
if (skipReason) console.warn(`test/federation/minio-sts: skipped — ${skipReason}`);

let federation: FederationIssuer;
let minio: MinioServer;
const clients: Array<{ destroy(): void }> = [];

type S3Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
const s3 = (credentials: S3Credentials) => {
  const client = new S3Client({ endpoint: minio.url, region: MINIO_REGION, forcePathStyle: true, credentials });
  clients.push(client);
  return client;
};
const token = (sub: string, aud = AUDIENCE) => federation.token({ sub, aud, lifetime: 900 });

/** STS AssumeRoleWithWebIdentity at MinIO, unsigned as AWS's is: the web identity token is the only credential. */
async function assumeRole(webIdentityToken: string): Promise<S3Credentials> {
  const sts = new STSClient({ endpoint: minio.url, region: MINIO_REGION });
  clients.push(sts);
  const { Credentials: credentials }: { Credentials?: Credentials } = await sts.send(
    new AssumeRoleWithWebIdentityCommand({ RoleArn: minioOpenIdRoleArn(AUDIENCE), RoleSessionName: "clean-room-workload", WebIdentityToken: webIdentityToken }),
  );
  if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken) throw new Error("STS returned no credentials");
  return { accessKeyId: credentials.AccessKeyId, secretAccessKey: credentials.SecretAccessKey, sessionToken: credentials.SessionToken };
}

const readObject = async (credentials: S3Credentials) => {
  const { Body } = await s3(credentials).send(new GetObjectCommand({ Bucket: BUCKET, Key: OBJECT }));
  return Body!.transformToString();
};

/** The error MinIO answered with: its code (name) and message, or a marker when the call succeeded. */
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ name: "no refusal", message: "" }),
    (error: unknown) => ({ name: (error as Error).name, message: (error as Error).message }),
  );

describe.skipIf(skipReason !== undefined)("MinIO trusts the consortium's issuer (STS AssumeRoleWithWebIdentity)", () => {
  beforeAll(async () => {
    federation = await startFederationIssuer(CONTRACT);
    // The role may read the bucket's objects, and only for the contract's subject: the condition AWS would put on
    // `<issuer>:sub` in the role's trust policy, written here as a condition on the session's `jwt:sub`.
    minio = await startMinioTrusting(federation, AUDIENCE, POLICY, {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["s3:GetObject"], Resource: [`arn:aws:s3:::${BUCKET}/*`], Condition: { StringEquals: { "jwt:sub": [SUBJECT] } } }],
    });
    const root = s3({ accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword });
    await root.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await root.send(new PutObjectCommand({ Bucket: BUCKET, Key: OBJECT, Body: CONTENT }));
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    // MinIO first and unconditionally: a server process must not outlive the test, whatever else failed.
    try {
      await minio?.stop();
    } finally {
      await federation?.close();
    }
  });

  it("advertises, under the issuer URL MinIO was given, the keys MinIO fetches", async () => {
    const discovery = OpenIdConfigurationSchema.parse((await appRequest(federation.consortium.service, undefined, "GET", "/app/oidc/.well-known/openid-configuration")).body);
    expect(discovery).toMatchObject({ issuer: federation.issuer, jwks_uri: `${federation.issuer}/keys`, id_token_signing_alg_values_supported: ["RS256"] });
  });

  it("exchanges an attested workload's token for credentials that read the object, and nothing more", async () => {
    const jwt = await token(SUBJECT);
    expect(decodeJwt(jwt)).toMatchObject({ iss: federation.issuer, sub: SUBJECT, aud: AUDIENCE });
    const credentials = await assumeRole(jwt);
    expect(await readObject(credentials), minio.output()).toBe(CONTENT);
    expect(await refusal(s3(credentials).send(new PutObjectCommand({ Bucket: BUCKET, Key: "written-by-workload", Body: "x" })))).toMatchObject({ name: "AccessDenied" });
  });

  it("gives a token for another subject of the contract credentials that cannot read the object", async () => {
    const credentials = await assumeRole(await token(`${CONTRACT}/other`));
    expect(await refusal(readObject(credentials))).toMatchObject({ name: "AccessDenied" });
  });

  it("refuses at STS a token for another audience", async () => {
    const refused = await refusal(assumeRole(await token(SUBJECT, "sts.amazonaws.com")));
    expect(refused.name).toBe("InvalidParameterValue");
    // MinIO looks for its client id in `aud`, then in `azp`, and names the last claim it tried.
    expect(refused.message).toMatch(/`aud`|`azp`/);
  });

  it("refuses at STS a token that has expired", async () => {
    const jwt = await federation.expiredToken({ sub: SUBJECT, aud: AUDIENCE });
    expect((decodeJwt(jwt).exp ?? Infinity) * 1000).toBeLessThan(Date.now());
    expect(await refusal(assumeRole(jwt))).toMatchObject({ name: "InvalidParameterValue", message: expect.stringMatching(/expired/i) as unknown });
  });

  it("refuses at STS a token signed by another key under the issuer's key id", async () => {
    const genuine = await token(SUBJECT);
    await expect(assumeRole(genuine)).resolves.toBeDefined();
    const refused = await refusal(assumeRole(await forgeLike(genuine)));
    expect(refused).toMatchObject({ name: "InvalidParameterValue", message: expect.stringMatching(/verification error/i) as unknown });
  });
});
