import type { Agent } from "node:https";
import type { Readable } from "node:stream";
import {
  AnonymousCredential,
  BlobServiceClient,
  StorageSharedKeyCredential,
  type ContainerClient,
  type StoragePipelineOptions,
} from "@azure/storage-blob";
import { azureBlobUrl, type AzureBlobLocation } from "./location-url.js";
import type { ResolvedCredentials } from "./credentials.js";
import { StorageError, unreachableError } from "./errors.js";
import { displayKey, isValidKey, rootedKey, validateKey, validatePrefix } from "./object-keys.js";
import type { ObjectStore, StoredObject, StoreOptions, WriteOptions } from "./object-store.js";
import { bodyError, checkedLength, httpsAgentFor, mapStreamErrors } from "./streams.js";

/**
 * Blocks staged at once by a write: memory per write is about BLOCK_SIZE × BLOCK_CONCURRENCY, and 50,000 blocks of
 * 4 MiB cap an object at 195 GiB.
 */
const BLOCK_SIZE = 4 * 1024 * 1024;
const BLOCK_CONCURRENCY = 4;

const NOT_FOUND = new Set(["ContainerNotFound", "BlobNotFound", "ResourceNotFound"]);
const DENIED = new Set([
  "AuthenticationFailed",
  "AuthorizationFailure",
  "AuthorizationPermissionMismatch",
  "AuthorizationProtocolMismatch",
  "AuthorizationResourceTypeMismatch",
  "AuthorizationServiceMismatch",
  "AuthorizationSourceIPMismatch",
  "InvalidAuthenticationInfo",
  "NoAuthenticationInformation",
  "InsufficientAccountPermissions",
  "AccountIsDisabled",
]);
// @azure/identity's refusals (Entra ID said no, or no token could be obtained): a credentials problem.
const IDENTITY_ERRORS = new Set(["AuthenticationError", "AggregateAuthenticationError", "CredentialUnavailableError", "AuthenticationRequiredError"]);

/** An Azure SDK error (RestError, @azure/identity's, or a network failure) as a StorageError. */
export function azureError(error: unknown, what: string): StorageError {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    if (current instanceof StorageError) return current;
  }
  const { name, code, statusCode } = (error ?? {}) as { name?: string; code?: string; statusCode?: number };
  if (name !== undefined && IDENTITY_ERRORS.has(name)) {
    return new StorageError("StorageAccessDenied", `${what}: no access token from Entra ID (${name}${statusCode === undefined ? "" : ` ${statusCode}`})`, { cause: error });
  }
  const unreachable = unreachableError(error, what);
  if (unreachable) return unreachable;
  const detail = `${code ?? name ?? "Error"}${statusCode === undefined ? "" : ` (HTTP ${statusCode})`}`;
  if ((code !== undefined && NOT_FOUND.has(code)) || statusCode === 404) return new StorageError("StorageNotFound", `${what}: not found, ${detail}`, { cause: error });
  if ((code !== undefined && DENIED.has(code)) || statusCode === 401 || statusCode === 403) {
    return new StorageError("StorageAccessDenied", `${what}: access denied, ${detail}`, { cause: error });
  }
  return new StorageError("StorageFailed", `${what}: ${detail}`, { cause: error });
}

function serviceClient(location: AzureBlobLocation, credentials: ResolvedCredentials, options: StoreOptions | undefined): BlobServiceClient {
  const accountUrl = location.accountUrl.replace(/\/+$/, "");
  // core-rest-pipeline gives every request this agent, and an https agent cannot make http requests (Azurite).
  const agent = new URL(accountUrl).protocol === "https:" ? httpsAgentFor(options) : undefined;
  // The storage pipeline hands its options to core-rest-pipeline's createPipelineFromOptions, which installs `agent`;
  // StoragePipelineOptions just does not declare it.
  const pipelineOptions: StoragePipelineOptions & { agent?: Agent } = {
    // The SDK's default waits 4 s and more between tries: too long for a store that is simply down.
    retryOptions: { maxTries: 4, retryDelayInMs: 200, maxRetryDelayInMs: 2_000 },
    ...(agent ? { agent } : {}),
  };
  switch (credentials.kind) {
    case "azure-shared-key":
      return new BlobServiceClient(accountUrl, new StorageSharedKeyCredential(credentials.accountName, credentials.accountKey), pipelineOptions);
    case "azure-sas":
      return new BlobServiceClient(`${accountUrl}?${credentials.sasToken}`, new AnonymousCredential(), pipelineOptions);
    case "azure-token":
      return new BlobServiceClient(accountUrl, credentials.credential, pipelineOptions);
    default:
      throw new StorageError("StorageCredentialsInvalid", `An azure-blob location cannot use ${credentials.kind} credentials`);
  }
}

/** An Azure Blob Storage container (or Azurite's), optionally under a name prefix; objects are block blobs. */
export class AzureBlobStore implements ObjectStore {
  readonly url: string;
  private readonly container: ContainerClient;
  private readonly prefix: string | undefined;
  private readonly pageSize: number | undefined;

  constructor(location: AzureBlobLocation, credentials: ResolvedCredentials, options?: StoreOptions) {
    this.url = azureBlobUrl(location);
    this.container = serviceClient(location, credentials, options).getContainerClient(location.container);
    this.prefix = location.prefix;
    this.pageSize = options?.listPageSize;
  }

  async *list(prefix = ""): AsyncGenerator<StoredObject> {
    validatePrefix(prefix);
    const root = this.prefix ? `${this.prefix}/` : "";
    const pages = this.container
      .listBlobsFlat({ prefix: root + prefix, includeMetadata: true })
      .byPage(this.pageSize === undefined ? {} : { maxPageSize: this.pageSize });
    for (;;) {
      let page;
      try {
        page = await pages.next();
      } catch (error) {
        throw azureError(error, `Listing ${this.url}`);
      }
      if (page.done) return;
      for (const blob of page.value.segment.blobItems) {
        // Accounts with a hierarchical namespace list their folders as empty blobs marked hdi_isfolder.
        if (blob.metadata?.hdi_isfolder === "true") continue;
        const key = blob.name.slice(root.length);
        if (isValidKey(key)) yield { key, size: blob.properties.contentLength ?? 0 };
      }
    }
  }

  async read(key: string): Promise<Readable> {
    const blob = this.blob(key);
    const what = `Object ${displayKey(key)} in ${this.url}`;
    try {
      // The SDK resumes an interrupted download from where it broke off, up to maxRetryRequests times.
      const response = await blob.download(0, undefined, { maxRetryRequests: 3 });
      if (!response.readableStreamBody) throw new StorageError("StorageFailed", `${what}: the response has no body stream`);
      return mapStreamErrors(response.readableStreamBody, (error) => azureError(error, `Reading ${what}`));
    } catch (error) {
      throw azureError(error, what);
    }
  }

  async write(key: string, body: Readable, options?: WriteOptions): Promise<void> {
    const onProgress = options?.onProgress;
    try {
      const blob = this.blob(key);
      // Stages blocks and commits the block list at the end: until then readers see the previous version, if any;
      // blocks of a failed write are never committed and the service discards them.
      const length = options?.contentLength;
      const checked = length === undefined ? body : checkedLength(body, length);
      await blob.uploadStream(checked, BLOCK_SIZE, BLOCK_CONCURRENCY, onProgress ? { onProgress: (progress) => onProgress(progress.loadedBytes) } : {});
    } catch (error) {
      const failure = bodyError(body) ?? azureError(error, `Writing ${displayKey(key)} to ${this.url}`);
      body.destroy();
      throw failure;
    }
  }

  async delete(key: string): Promise<void> {
    const blob = this.blob(key);
    try {
      await blob.deleteIfExists();
    } catch (error) {
      throw azureError(error, `Deleting ${displayKey(key)} from ${this.url}`);
    }
  }

  localPath(): undefined {
    return undefined;
  }

  async check(): Promise<void> {
    try {
      await this.container
        .listBlobsFlat({ prefix: this.prefix ? `${this.prefix}/` : "" })
        .byPage({ maxPageSize: 1 })
        .next();
    } catch (error) {
      throw azureError(error, `Azure Blob store ${this.url}`);
    }
  }

  private blob(key: string) {
    validateKey(key);
    return this.container.getBlockBlobClient(rootedKey(this.prefix, key));
  }
}
