import type { Readable } from "node:stream";

export interface StoredObject {
  readonly key: string;
  readonly size: number;
}

export interface WriteOptions {
  /** Total bytes if known (lets S3 pick a single PUT for small bodies). */
  readonly contentLength?: number;
  /** Called with the cumulative bytes sent, for progress displays. */
  readonly onProgress?: (bytesSent: number) => void;
}

/**
 * One dataset's or sink's location with credentials bound. Keys are relative to the location's root (its path or
 * prefix), '/'-separated.
 */
export interface ObjectStore {
  /**
   * Where it points, for messages and events, never with credentials: "/abs/path",
   * "azure-blob://<account-url-host+path>/<container>/<prefix>", "s3://<bucket>/<prefix>" (with
   * " at <endpoint host>" for S3-compatible servers).
   */
  readonly url: string;
  /** Every object whose key starts with `prefix` (default: all), recursively, sorted by key. Pages are fetched lazily. */
  list(prefix?: string): AsyncIterable<StoredObject>;
  /** Streams one object; StorageNotFound if it does not exist. */
  read(key: string): Promise<Readable>;
  /**
   * Writes an object from a stream without buffering it whole, atomically: the object appears whole or not at all
   * (and an object it replaces stays as it was if the write fails). Overwrites an existing object.
   */
  write(key: string, body: Readable, options?: WriteOptions): Promise<void>;
  /** Removes an object; no error if it does not exist. */
  delete(key: string): Promise<void>;
  /** For local stores, the absolute file path of `key` (engines read files in place); undefined for remote stores. */
  localPath(key: string): string | undefined;
  /** Reaches the store and proves the credentials (a one-item list); throws StorageError otherwise. */
  check(): Promise<void>;
}

/** How connections are made; the defaults suit production. */
export interface ConnectionOptions {
  /**
   * PEM CA certificates to trust besides the system's, for https endpoints with private certificates: an emulator,
   * an on-premises S3 server, a test double of Entra ID.
   */
  readonly trustedCaPems?: readonly string[];
}

export interface StoreOptions extends ConnectionOptions {
  /** The most objects one listing request asks for (default: the service's maximum, 1000 on S3, 5000 on Azure). */
  readonly listPageSize?: number;
}
