import { createHash } from "node:crypto";
import type { GovernanceClient } from "@cleanroom/governance-client";
import { ANALYTICS_TYPE_LABEL, type Credentials, type DatasetField, type DatasetSpecification, type Location, type UserDocument } from "@cleanroom/protocol";
import type { ResolvedCredentials } from "@cleanroom/storage";
import { cleanroomHome } from "../profiles.js";
import type { CommandContext } from "../context.js";
import { federationOption, fieldsOption, locationOption, nameList } from "./arguments.js";
import { ownId } from "./documents.js";
import { canonicalJson, changedFields, KIND_NAME, typeOf } from "./documents.js";
import { describeIssues, UsageError } from "./errors.js";
import { dataKeyOf, KeyStore, newDataKey, type KeyEntry } from "./key-store.js";

// What `dataset publish` and `sink publish` share (a sink's specification has the dataset's shape, so the types
// below say DatasetSpecification for both): the owner's key, the secrets, the document and its approval, each
// step done only when it is not done yet, in an order that a re-run after a failure completes.

export type PublishKind = "dataset" | "datasink";

/** What a publish did; empty when everything was already in place. */
export type Changes = string[];

/** The secret names a document's id gives: `<id>-key` (the data key) and `<id>-storage` (storage credentials). */
export const keySecretName = (id: string) => `${id}-key`;
export const storageSecretName = (id: string) => `${id}-storage`;

export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The flags of a spec's fields, so that schema errors name what the user typed. */
export const SPEC_FLAGS: ReadonlyArray<[string, string]> = [
  ["name", "--name"],
  ["schema.fields", "--fields/--schema"],
  ["schema.format", "--format"],
  ["accessPolicy.allowedFields", "--allowed-fields"],
  ["location", "--location"],
  ["encryption", "--no-encrypt"],
  ["credentials", "--federation/--storage-credentials"],
];

/** Parses a spec with its protocol schema; a UsageError naming the flags otherwise. Nothing has happened yet. */
export function checkedSpec<S>(schema: { safeParse(value: unknown): { success: true; data: S } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, spec: unknown, kind: PublishKind): S {
  const parsed = schema.safeParse(spec);
  if (!parsed.success) throw new UsageError(`invalid ${KIND_NAME[kind]}: ${describeIssues(parsed.error.issues, SPEC_FLAGS)}`);
  return parsed.data;
}

export interface StorageAccess {
  /** The document's `credentials`: how the clean room reaches the storage. */
  credentials: Credentials;
  /** The owner's own credentials, to upload or download with now (`--storage-credentials`), if given. */
  resolved: ResolvedCredentials;
  /** The credentials JSON to store as the `<id>-storage` secret (kind `secret` only). */
  secretJson?: string;
}

/**
 * The document's credentials and the owner's own: local → none; otherwise `--federation` (no stored credential),
 * else `--storage-credentials` stored as the `<id>-storage` secret. `needOwnCredentials`: the command itself
 * reaches the storage (upload), so a remote location needs `--storage-credentials` even with `--federation`.
 */
export async function storageAccess(
  ctx: CommandContext,
  options: { storageCredentials?: string; federation?: string },
  location: Location,
  ids: { contractId: string; id: string; ownerId: string },
  needOwnCredentials: boolean,
): Promise<StorageAccess> {
  if (location.kind === "local") {
    if (options.storageCredentials !== undefined || options.federation !== undefined) throw new UsageError("a local location takes neither --storage-credentials nor --federation");
    return { credentials: { kind: "none" }, resolved: { kind: "none" } };
  }
  const shapes = location.kind === "s3" ? '{"accessKeyId", "secretAccessKey", "sessionToken"?}' : '{"accountName", "accountKey"} or {"sasToken"}';
  if (options.storageCredentials === undefined && (needOwnCredentials || options.federation === undefined)) {
    throw new UsageError(
      needOwnCredentials
        ? `uploading to a ${location.kind} location needs --storage-credentials <file> (JSON ${shapes})`
        : `a ${location.kind} location needs --storage-credentials <file> (JSON ${shapes}, stored as a governance secret) or --federation <json>`,
    );
  }
  let resolved: ResolvedCredentials = { kind: "none" };
  let secretJson: string | undefined;
  if (options.storageCredentials !== undefined) {
    let json: string;
    try {
      json = ctx.readFile(options.storageCredentials);
    } catch {
      throw new UsageError(`--storage-credentials ${options.storageCredentials}: cannot read the file`);
    }
    const { parseSecretCredentials } = await import("@cleanroom/storage");
    try {
      resolved = parseSecretCredentials(location, json);
    } catch (error) {
      throw new UsageError(`--storage-credentials: ${(error as Error).message}`);
    }
    secretJson = json;
  }
  if (options.federation !== undefined) return { credentials: federationOption(ctx, options.federation, ids.contractId, ids.ownerId), resolved };
  return { credentials: { kind: "secret", secretId: `${ids.ownerId}_${storageSecretName(ids.id)}` }, resolved, ...(secretJson !== undefined ? { secretJson } : {}) };
}

/** What to do with the document: create it, update the Draft, approve it, or nothing. Throws when it cannot be published. */
export type DocumentStep = "create" | "update" | "approve" | "none";

export function documentStep(existing: UserDocument | undefined, kind: PublishKind, ownerId: string, spec: DatasetSpecification): DocumentStep {
  if (existing === undefined) return "create";
  const what = `${KIND_NAME[kind]} ${existing.id} of contract ${existing.contractId}`;
  const type = typeOf(existing);
  if (type !== kind) throw new Error(`Document ${existing.id} of contract ${existing.contractId} exists and is not a ${KIND_NAME[kind]} (label type: ${type ?? "none"}): choose another --id.`);
  if (existing.proposerId !== ownerId) throw new Error(`The ${what} belongs to ${existing.proposerIdType} ${existing.proposerId}: only its owner publishes it; choose another --id.`);
  if (existing.state === "Rejected") throw new Error(`The ${what} was rejected: publish under a new --id.`);
  const same = canonicalJson(existing.data) === canonicalJson(spec);
  if (!same) {
    if (existing.state === "Draft") return "update";
    const fields = changedFields(existing.data, spec).join(", ");
    throw new Error(
      `The ${what} is ${existing.state} with different ${fields}: an accepted document cannot change (a changed ${KIND_NAME[kind]} is a new document). Publish under a new --id, or run again with the arguments it was published with.`,
    );
  }
  const pending = existing.pendingApprovers.some((approver) => approver.approverId === ownerId);
  return existing.state !== "Accepted" && pending ? "approve" : "none";
}

/** The publish of one document by its owner: key store entry, secrets, document. */
export class Publication {
  readonly keyStore: KeyStore;
  readonly keyPath: string;
  entry: KeyEntry;
  readonly changes: Changes = [];
  /** Whether this run created the data key (so its secret must be stored whatever is there). */
  private newKey = false;

  constructor(
    readonly ctx: CommandContext,
    readonly client: GovernanceClient,
    readonly kind: PublishKind,
    readonly contractId: string,
    readonly id: string,
    readonly ownerId: string,
  ) {
    this.keyStore = new KeyStore(cleanroomHome(ctx.io.env), ctx.profile().name);
    this.keyPath = this.keyStore.path(contractId, id);
    this.entry = this.keyStore.read(contractId, id) ?? {};
  }

  save(entry: KeyEntry): void {
    this.entry = entry;
    this.keyStore.write(this.contractId, this.id, entry);
  }

  /**
   * The data key, from the key store or new. A new key is saved before anything is encrypted with it. An encrypted
   * document that exists already without a key here is refused: a new key would make what was published unreadable.
   */
  dataKey(existing: UserDocument | undefined, secretId: string): Buffer {
    if (this.entry.key === undefined) {
      // Only a document that names an encryption key can have data encrypted under one.
      const encrypted = (existing?.data as { encryption?: { mode?: unknown } } | undefined)?.encryption?.mode === "parquet-uniform";
      if (encrypted) {
        throw new Error(
          `The ${KIND_NAME[this.kind]} ${this.id} exists already, but profile '${this.ctx.profile().name}' has no key for it (${this.keyPath}): a new key would make what it holds unreadable. Restore the key file from the profile that published it, or publish under a new --id.`,
        );
      }
      this.save({ ...this.entry, key: newDataKey(), secretId });
      this.newKey = true;
      this.changes.push(`created a data key (kept in ${this.keyPath})`);
    } else if (this.entry.secretId !== secretId) {
      this.save({ ...this.entry, secretId });
    }
    return dataKeyOf(this.entry, this.keyPath);
  }

  /**
   * Stores the data key and the storage credentials as governance secrets unless they are there already. Returns the
   * storage credentials' secret id when the access uses one.
   */
  async storeSecrets(options: { key?: Buffer | undefined; keySecretId: string; access: StorageAccess }): Promise<string | undefined> {
    const storageJson = options.access.secretJson;
    const storageSecretId = options.access.credentials.kind === "secret" ? options.access.credentials.secretId : undefined;
    const stored = new Set((await this.client.secrets(this.contractId)).map((secret) => secret.secretId));
    if (options.key !== undefined && (this.newKey || !stored.has(options.keySecretId))) {
      const { value } = await this.client.putSecret(this.contractId, keySecretName(this.id), options.key.toString("base64"));
      this.changes.push(`stored the data key as secret ${value.secretId}`);
    }
    if (storageJson !== undefined && storageSecretId !== undefined) {
      const digest = sha256(storageJson);
      if (!stored.has(storageSecretId) || this.entry.storageDigest !== digest) {
        const { value } = await this.client.putSecret(this.contractId, storageSecretName(this.id), storageJson);
        this.save({ ...this.entry, storageDigest: digest });
        this.changes.push(`stored the storage credentials as secret ${value.secretId}`);
      }
    }
    return storageSecretId;
  }

  /** Creates, updates or approves the document as `step` says; returns it as it is now. */
  async publishDocument(step: DocumentStep, existing: UserDocument | undefined, spec: DatasetSpecification): Promise<UserDocument> {
    let version = existing?.version;
    if (step === "create" || step === "update") {
      const { value } = await this.client.putUserDocument(this.contractId, this.id, {
        data: spec,
        labels: { ...(existing?.labels ?? {}), [ANALYTICS_TYPE_LABEL]: this.kind },
        ...(step === "update" ? { version: existing?.version } : {}),
      });
      version = value.version;
      this.changes.push(step === "create" ? `created the ${KIND_NAME[this.kind]} document at version ${value.version}` : `updated the draft document to version ${value.version}`);
    }
    if (step !== "none" && version !== undefined) {
      const { value } = await this.client.approveUserDocument(this.contractId, this.id, version, "accept");
      this.changes.push(`approved version ${version}: the document is ${value.state}`);
      return value;
    }
    return existing ?? (await this.client.userDocument(this.contractId, this.id));
  }
}

/** The options `dataset publish` and `sink publish` share (addSpecOptions). */
export interface SpecOptions {
  fields?: string;
  schema?: string;
  allowedFields?: string;
  location?: string;
  localPath?: string;
  storageCredentials?: string;
  federation?: string;
}

/** What both publishes settle before building their document: columns, location, owner, storage access, key id. */
export interface PublishTarget {
  fields: DatasetField[];
  allowedFields: string[];
  location: Location;
  client: GovernanceClient;
  ownerId: string;
  access: StorageAccess;
  keySecretId: string;
}

/**
 * Checks the shared options and reaches the service: the contract must exist (ContractNotFound before any upload),
 * and the caller's id names its secrets. `uploads`: the command itself writes to the storage (storageAccess).
 */
export async function publishTarget(ctx: CommandContext, options: SpecOptions, ids: { contractId: string; id: string }, uploads: boolean): Promise<PublishTarget> {
  const fields = fieldsOption(ctx, options);
  const allowedFields = options.allowedFields !== undefined ? nameList(options.allowedFields, "--allowed-fields") : fields.map((field) => field.name);
  const location = locationOption(ctx, options);
  const client = await ctx.client();
  await client.contract(ids.contractId);
  const ownerId = await ownId(ctx, client);
  const access = await storageAccess(ctx, options, location, { ...ids, ownerId }, uploads);
  return { fields, allowedFields, location, client, ownerId, access, keySecretId: `${ownerId}_${keySecretName(ids.id)}` };
}
