import { createHash, createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { repoRoot } from "./repo-root.js";
import { onFreePort, startServerProcess } from "./server-process.js";

// A real MinIO server for federation tests: built from source by `npm test` (scripts/setup.mjs `buildMinio`, pinned
// there), run on 127.0.0.1 with a temporary data directory and configured only through its environment.

/** Where scripts/setup.mjs installs MinIO. */
export const minioBinary = join(repoRoot(), ".cache", "go-bin", "minio");

export const MINIO_REGION = "us-east-1";

export interface MinioServer {
  /** `http://127.0.0.1:<port>`: the S3, STS and admin endpoint. */
  url: string;
  rootUser: string;
  rootPassword: string;
  /** What the server printed so far: attached to failures, since MinIO explains refusals only in its log. */
  output(): string;
  stop(): Promise<void>;
}

export interface MinioOptions {
  /** MINIO_* settings, e.g. MINIO_IDENTITY_OPENID_CONFIG_URL. */
  env: Record<string, string>;
  /** PEM certificates MinIO trusts as roots for its outgoing TLS (the OpenID provider's), besides the system's. */
  trustedCaPems?: string[];
}

export async function startMinio(options: MinioOptions): Promise<MinioServer> {
  if (!existsSync(minioBinary)) throw new Error(`MinIO is not built (${minioBinary}); run npm test, which builds it.`);
  return onFreePort((port) => launchMinio(options, port), /port is already in use/i);
}

async function launchMinio(options: MinioOptions, port: number): Promise<MinioServer> {
  const dir = mkdtempSync(join(tmpdir(), "cleanroom-minio-"));
  const certsDir = join(dir, "certs");
  // MinIO adds every file of <certs-dir>/CAs to the roots its outgoing TLS trusts (OpenID discovery and JWKS).
  mkdirSync(join(certsDir, "CAs"), { recursive: true });
  for (const [index, pem] of (options.trustedCaPems ?? []).entries()) writeFileSync(join(certsDir, "CAs", `trusted-${index}.crt`), pem);
  const rootUser = "cleanroom-root";
  const rootPassword = randomBytes(18).toString("base64url");
  const url = `http://127.0.0.1:${port}`;
  const server = await startServerProcess({
    name: "MinIO",
    command: minioBinary,
    args: ["server", join(dir, "data"), "--address", `127.0.0.1:${port}`, "--certs-dir", certsDir],
    // Only what we set: a developer's own MINIO_* variables must not change what the test exercises.
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dir,
      MINIO_ROOT_USER: rootUser,
      MINIO_ROOT_PASSWORD: rootPassword,
      MINIO_SITE_REGION: MINIO_REGION,
      MINIO_BROWSER: "off",
      MINIO_UPDATE: "off",
      ...options.env,
    },
    dir,
    // Ready means the S3 API answers; IAM may still be initializing (putMinioPolicy waits for it).
    ready: () =>
      fetch(`${url}/minio/health/ready`).then(
        (response) => response.ok,
        () => false,
      ),
    timeoutMs: 60_000,
    intervalMs: 200,
  });
  return { url, rootUser, rootPassword, ...server };
}

const sha256Hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

/**
 * A request to MinIO's admin API (`/minio/admin/v3/...`) signed with the root credentials (AWS Signature V4, service
 * `s3`). The AWS SDK has no client for this API, and MinIO's own (`mc`) would be one more Go build for one call.
 */
export async function minioAdmin(minio: MinioServer, method: string, path: string, query: Record<string, string>, body: string): Promise<Response> {
  const url = new URL(path, minio.url);
  const canonicalQuery = Object.keys(query)
    .sort()
    .map((key) => `${encodeRfc3986(key)}=${encodeRfc3986(query[key]!)}`)
    .join("&");
  const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256Hex(body);
  const headers = { host: url.host, "x-amz-content-sha256": payloadHash, "x-amz-date": amzDate };
  const signedHeaders = Object.keys(headers).sort().join(";");
  const canonicalHeaders = Object.entries(headers)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, value]) => `${key}:${value}\n`)
    .join("");
  const canonicalRequest = [method, url.pathname, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join("\n");
  const scope = `${day}/${MINIO_REGION}/s3/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  let key: Buffer = hmac(`AWS4${minio.rootPassword}`, day);
  for (const part of [MINIO_REGION, "s3", "aws4_request"]) key = hmac(key, part);
  const signature = createHmac("sha256", key).update(stringToSign).digest("hex");
  return fetch(`${url.origin}${url.pathname}?${canonicalQuery}`, {
    method,
    body,
    headers: {
      "x-amz-content-sha256": payloadHash,
      "x-amz-date": amzDate,
      authorization: `AWS4-HMAC-SHA256 Credential=${minio.rootUser}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    },
  });
}

function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Creates (or replaces) an IAM policy by name: what `mc admin policy create` does. MinIO reports itself ready before
 * its IAM subsystem is, and never initializes IAM while its OpenID provider is unreachable or untrusted, so "not
 * initialized" is retried for a while and then reported with MinIO's log, which names the cause.
 */
export async function putMinioPolicy(minio: MinioServer, name: string, document: unknown): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await minioAdmin(minio, "PUT", "/minio/admin/v3/add-canned-policy", { name }, JSON.stringify(document));
    if (response.ok) return;
    const text = await response.text();
    if (!text.includes("XMinioServerNotInitialized") || Date.now() > deadline) {
      throw new Error(`MinIO refused policy ${name}: ${response.status} ${text}\nMinIO's log:\n${minio.output()}`);
    }
    await sleep(250);
  }
}

/**
 * The ARN MinIO gives the role of an OpenID provider configured with a role policy: the resource id is the
 * unpadded base64url SHA-1 of the client id (MinIO's internal/config/identity/openid), the region the server's.
 */
export function minioOpenIdRoleArn(clientId: string): string {
  return `arn:minio:iam:${MINIO_REGION}::role/${createHash("sha1").update(clientId).digest("base64url")}`;
}

/** Creates the buckets with MinIO's root credentials, as the storage's owner would. */
export async function createMinioBuckets(minio: MinioServer, buckets: readonly string[]): Promise<void> {
  const root = new S3Client({ endpoint: minio.url, region: MINIO_REGION, forcePathStyle: true, credentials: { accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword } });
  try {
    for (const bucket of buckets) await root.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    root.destroy();
  }
}
