import { LocationSchema, type Location } from "@cleanroom/protocol";
import { AzureBlobStore } from "./azure-blob-store.js";
import type { ResolvedCredentials } from "./credentials.js";
import { StorageError } from "./errors.js";
import { LocalStore } from "./local-store.js";
import type { ObjectStore, StoreOptions } from "./object-store.js";
import { S3Store } from "./s3-store.js";

/**
 * Opens a store for a location, with resolved credentials (no network I/O until used). A local folder need not exist
 * yet for writes; listing or checking a missing one gives StorageNotFound.
 */
export function openStore(location: Location, credentials: ResolvedCredentials, options?: StoreOptions): ObjectStore {
  // Documents are validated by the service, but a store is where a bad path or prefix would do harm: check again.
  const parsed = LocationSchema.safeParse(location);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StorageError("StorageFailed", `Not a valid storage location: ${issue ? `${issue.path.join(".") || "location"}: ${issue.message}` : "invalid"}`);
  }
  const valid = parsed.data;
  switch (valid.kind) {
    case "local":
      if (credentials.kind !== "none") throw new StorageError("StorageCredentialsInvalid", `A local location cannot use ${credentials.kind} credentials`);
      return new LocalStore(valid.path);
    case "azure-blob":
      return new AzureBlobStore(valid, credentials, options);
    case "s3":
      return new S3Store(valid, credentials, options);
  }
}
