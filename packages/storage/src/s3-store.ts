import { PassThrough, Readable } from "node:stream";
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleWithWebIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { Upload } from "@aws-sdk/lib-storage";
import { s3Url, type S3Location } from "./location-url.js";
import type { ResolvedCredentials } from "./credentials.js";
import { StorageError, unreachableError } from "./errors.js";
import { displayKey, isValidKey, rootedKey, validateKey, validatePrefix } from "./object-keys.js";
import type { ObjectStore, StoredObject, StoreOptions, WriteOptions } from "./object-store.js";
import { bodyError, checkedLength, httpsAgentFor, mapStreamErrors } from "./streams.js";

/**
 * Multipart part size. Memory per write is about (queue size + 1) parts; 10,000 parts of 8 MiB cap a body of
 * unknown length at 78 GiB (a known contentLength raises the part size as needed).
 */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 3;
const MAX_PARTS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;

interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

const ignore = () => undefined;
const quietLogger = { trace: ignore, debug: ignore, info: ignore, warn: ignore, error: ignore };

const NOT_FOUND = new Set(["NoSuchBucket", "NoSuchKey", "NotFound"]);
const DENIED = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "AllAccessDisabled",
  "AccountProblem",
]);

/** An S3 error (or a network failure, or a credentials failure) as a StorageError. */
export function s3Error(error: unknown, what: string): StorageError {
  const known = storageErrorIn(error);
  if (known) return known;
  const unreachable = unreachableError(error, what);
  if (unreachable) return unreachable;
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = $metadata?.httpStatusCode;
  const detail = `${name ?? "Error"}${status === undefined ? "" : ` (HTTP ${status})`}`;
  if ((name !== undefined && NOT_FOUND.has(name)) || status === 404) return new StorageError("StorageNotFound", `${what}: not found, ${detail}`, { cause: error });
  if ((name !== undefined && DENIED.has(name)) || status === 401 || status === 403) {
    return new StorageError("StorageAccessDenied", `${what}: access denied, ${detail}`, { cause: error });
  }
  return new StorageError("StorageFailed", `${what}: ${detail}`, { cause: error });
}

function storageErrorIn(error: unknown): StorageError | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof StorageError) return current;
  }
  return undefined;
}

/**
 * Temporary credentials from STS AssumeRoleWithWebIdentity, exchanged for a fresh token of the consortium's issuer
 * whenever the last ones are about to expire (concurrent requests share one exchange).
 */
function webIdentityCredentials(
  resolved: Extract<ResolvedCredentials, { kind: "s3-web-identity" }>,
  region: string,
  options: StoreOptions | undefined,
): () => Promise<AwsCredentials> {
  const agent = httpsAgentFor(options);
  const sts = new STSClient({
    region,
    ...(resolved.stsEndpoint === undefined ? {} : { endpoint: resolved.stsEndpoint }),
    maxAttempts: 3,
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, ...(agent ? { httpsAgent: agent } : {}) },
  });
  const where = `STS ${resolved.stsEndpoint ?? `(AWS, ${region})`}`;
  let current: { credentials: AwsCredentials; refreshAt: number } | undefined;
  let pending: Promise<AwsCredentials> | undefined;

  const exchange = async (): Promise<AwsCredentials> => {
    const token = await resolved.token();
    let answer;
    try {
      answer = await sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: resolved.roleArn, RoleSessionName: "cleanroom-workload", WebIdentityToken: token }));
    } catch (error) {
      const unreachable = unreachableError(error, where);
      if (unreachable) throw unreachable;
      const { name } = error as { name?: string };
      throw new StorageError("StorageAccessDenied", `${where} refused the consortium's token for role ${resolved.roleArn}: ${name ?? "Error"}`, { cause: error });
    }
    const issued = answer.Credentials;
    if (!issued?.AccessKeyId || !issued.SecretAccessKey || !issued.Expiration) {
      throw new StorageError("StorageAccessDenied", `${where} returned no credentials for role ${resolved.roleArn}`);
    }
    const expiresAt = issued.Expiration.getTime();
    const lifetime = Math.max(0, expiresAt - Date.now());
    // Refresh a quarter of the lifetime (at most five minutes) early, so no request signs with expiring keys.
    current = {
      credentials: {
        accessKeyId: issued.AccessKeyId,
        secretAccessKey: issued.SecretAccessKey,
        ...(issued.SessionToken ? { sessionToken: issued.SessionToken } : {}),
        expiration: issued.Expiration,
      },
      refreshAt: expiresAt - Math.min(5 * 60_000, lifetime / 4),
    };
    return current.credentials;
  };

  return async () => {
    if (current && Date.now() < current.refreshAt) return current.credentials;
    pending ??= exchange().finally(() => (pending = undefined));
    return pending;
  };
}

function credentialsFor(resolved: ResolvedCredentials, location: S3Location, options: StoreOptions | undefined): AwsCredentials | (() => Promise<AwsCredentials>) {
  switch (resolved.kind) {
    case "s3-static": {
      const { accessKeyId, secretAccessKey, sessionToken } = resolved;
      return { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) };
    }
    case "s3-web-identity":
      return webIdentityCredentials(resolved, location.region, options);
    default:
      throw new StorageError("StorageCredentialsInvalid", `An s3 location cannot use ${resolved.kind} credentials`);
  }
}

/** An S3 bucket (AWS, or an S3-compatible server at `endpoint`), optionally under a key prefix. */
export class S3Store implements ObjectStore {
  readonly url: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly root: string;
  private readonly pageSize: number | undefined;

  constructor(location: S3Location, credentials: ResolvedCredentials, options?: StoreOptions) {
    this.url = s3Url(location);
    this.bucket = location.bucket;
    this.root = location.prefix ? `${location.prefix}/` : "";
    this.pageSize = options?.listPageSize;
    const agent = httpsAgentFor(options);
    this.client = new S3Client({
      region: location.region,
      ...(location.endpoint === undefined ? {} : { endpoint: location.endpoint }),
      forcePathStyle: location.forcePathStyle ?? false,
      credentials: credentialsFor(credentials, location, options),
      maxAttempts: 3,
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, ...(agent ? { httpsAgent: agent } : {}) },
      // Without a logger the SDK warns on the console about failed streaming requests, which write() reports anyway.
      logger: quietLogger,
    });
  }

  async *list(prefix = ""): AsyncGenerator<StoredObject> {
    validatePrefix(prefix);
    const where = `Listing ${this.url}`;
    let continuationToken: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.root + prefix,
            ...(continuationToken === undefined ? {} : { ContinuationToken: continuationToken }),
            ...(this.pageSize === undefined ? {} : { MaxKeys: this.pageSize }),
          }),
        );
      } catch (error) {
        throw s3Error(error, where);
      }
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.root.length);
        // Folder markers ("a/") and keys this API could not address are not objects of the store.
        if (key !== undefined && isValidKey(key)) yield { key, size: object.Size ?? 0 };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  async read(key: string): Promise<Readable> {
    validateKey(key);
    const what = `Object ${displayKey(key)} in ${this.url}`;
    try {
      const { Body } = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: rootedKey(this.prefix, key) }));
      if (!(Body instanceof Readable)) throw new StorageError("StorageFailed", `${what}: the response has no body stream`);
      return mapStreamErrors(Body, (error) => s3Error(error, `Reading ${what}`));
    } catch (error) {
      throw s3Error(error, what);
    }
  }

  async write(key: string, body: Readable, options?: WriteOptions): Promise<void> {
    const length = options?.contentLength;
    try {
      const Key = rootedKey(this.prefix, validateKey(key));
      if (length !== undefined && length <= PART_SIZE) {
        await this.putStreamed(Key, body, length, options?.onProgress);
      } else {
        const upload = new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key, Body: body, ...(length === undefined ? {} : { ContentLength: length }) },
          partSize: Math.max(PART_SIZE, Math.ceil((length ?? 0) / MAX_PARTS)),
          queueSize: QUEUE_SIZE,
          // A failed upload is aborted, so no parts linger to be billed or assembled.
          leavePartsOnError: false,
        });
        const onProgress = options?.onProgress;
        if (onProgress) upload.on("httpUploadProgress", (progress) => progress.loaded !== undefined && onProgress(progress.loaded));
        await upload.done();
      }
    } catch (error) {
      const failure = bodyError(body) ?? s3Error(error, `Writing ${displayKey(key)} to ${this.url}`);
      body.destroy();
      throw failure;
    }
  }

  /**
   * One PUT of a body of known length, streamed with nothing buffered. The SDK pipes the body into the request
   * without watching it for errors (and its checksum wrapper would re-emit them where nobody listens), so a failing
   * body never reaches the SDK as an error: it aborts the request, and the server, seeing a short body, stores
   * nothing. A body longer or shorter than announced fails the same way.
   */
  private async putStreamed(Key: string, body: Readable, length: number, onProgress: ((bytes: number) => void) | undefined): Promise<void> {
    const abort = new AbortController();
    const counted = checkedLength(body, length, onProgress);
    const sent = new PassThrough();
    counted.once("error", (error) => {
      abort.abort(error);
      counted.unpipe(sent);
      sent.destroy();
    });
    counted.pipe(sent);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: sent, ContentLength: length }), { abortSignal: abort.signal });
    } catch (error) {
      const reason: unknown = abort.signal.reason;
      throw abort.signal.aborted && reason instanceof StorageError ? reason : error;
    }
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    try {
      // DeleteObject succeeds for a missing key.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: rootedKey(this.prefix, key) }));
    } catch (error) {
      throw s3Error(error, `Deleting ${displayKey(key)} from ${this.url}`);
    }
  }

  localPath(): undefined {
    return undefined;
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.root, MaxKeys: 1 }));
    } catch (error) {
      throw s3Error(error, `S3 store ${this.url}`);
    }
  }

  private get prefix(): string | undefined {
    return this.root === "" ? undefined : this.root.slice(0, -1);
  }
}
