import { createHash } from "node:crypto";
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, extname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Option, type Command } from "commander";
import { DATASET_FORMATS, DatasetSpecificationSchema, type DatasetField, type DatasetFormat, type DatasetSpecification } from "@cleanroom/protocol";
import type { ObjectStore } from "@cleanroom/storage";
import { formatRecord } from "../io.js";
import type { CommandContext } from "../context.js";
import { existingFile, inputFormat, partitionDate, resourceId } from "../analytics/arguments.js";
import { canonicalJson, findDocument } from "../analytics/documents.js";
import { guarded, UsageError } from "../analytics/errors.js";
import { ByteProgress, formatBytes } from "../analytics/progress.js";
import { checkedSpec, documentStep, Publication, publishTarget, sha256, type SpecOptions } from "../analytics/publish.js";
import { registerSpecViews } from "../analytics/views.js";
import type { Run } from "./types.js";

export interface DatasetPublishOptions extends SpecOptions {
  contractId: string;
  name: string;
  input: string;
  id?: string;
  format?: DatasetFormat;
  csvHeader?: boolean;
  partitionDate?: string;
  encrypt: boolean;
}

/** What `dataset publish` prints (JSON output: this object). */
export interface DatasetPublishResult {
  contractId: string;
  id: string;
  name: string;
  state: string;
  version: string;
  location: string;
  object: { key: string; bytes: number; rows?: number; uploaded: boolean };
  encryption: DatasetSpecification["encryption"]["mode"];
  keySecretId?: string;
  storageSecretId?: string;
  keyFile: string;
  /** What this run did; empty when everything was in place already. */
  changes: string[];
}

/** `[<partition-date>/]<input name without extension>.parquet`; names the engine would skip are refused. */
export function objectKeyFor(inputPath: string, day: string | undefined): string {
  const stem = basename(inputPath, extname(inputPath));
  if (stem === "" || stem.startsWith(".") || stem.startsWith("_")) {
    throw new UsageError(`--input ${basename(inputPath)}: the object would be named '${stem}.parquet', which readers skip (names starting with '.' or '_'); rename the file`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\\/\u0000-\u001f\u007f]/.test(stem)) throw new UsageError(`--input ${JSON.stringify(basename(inputPath))}: the file name has a backslash or control character; rename the file`);
  return `${day === undefined ? "" : `${day}/`}${stem}.parquet`;
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/** The size of the object at `key`, or undefined when it (or the location itself) does not exist. */
async function objectSize(store: ObjectStore, key: string): Promise<number | undefined> {
  try {
    for await (const object of store.list(key)) if (object.key === key) return object.size;
  } catch (error) {
    if ((error as { code?: string }).code === "StorageNotFound") return undefined;
    throw error;
  }
  return undefined;
}

interface Conversion {
  format: DatasetFormat;
  csvHeader: boolean;
  fields: DatasetField[];
  key: Buffer | undefined;
}

/**
 * Converts the input to (encrypted) Parquet in a private temporary folder and uploads it, unless the store already
 * holds what this input and conversion make (recorded in the key store after the last upload, and the same size in
 * the store). Records the upload before returning, so a later failure does not cause a second upload.
 */
async function uploadIfChanged(
  ctx: CommandContext,
  publication: Publication,
  store: ObjectStore,
  inputPath: string,
  objectKey: string,
  conversion: Conversion,
): Promise<DatasetPublishResult["object"]> {
  const digest = await fileDigest(inputPath);
  const how = sha256(canonicalJson({ format: conversion.format, csvHeader: conversion.csvHeader, fields: conversion.fields, encrypted: conversion.key !== undefined }));
  const recorded = publication.entry.objects?.[objectKey];
  const present = await objectSize(store, objectKey);
  if (recorded !== undefined && recorded.sourceDigest === digest && recorded.conversion === how && present === recorded.size) {
    return { key: objectKey, bytes: present, uploaded: false };
  }

  const { writeParquet } = await import("@cleanroom/parquet-crypto");
  const folder = mkdtempSync(join(tmpdir(), "cleanroom-publish-"));
  try {
    const output = join(folder, "data.parquet");
    ctx.printer.note(`converting ${basename(inputPath)} (${conversion.format}) to ${conversion.key ? "encrypted " : ""}Parquet`);
    const { rows } = await writeParquet({
      input:
        conversion.format === "parquet"
          ? { format: "parquet", path: inputPath }
          : { format: conversion.format === "json" ? "jsonl" : "csv", stream: createReadStream(inputPath), header: conversion.csvHeader },
      fields: conversion.fields,
      outputPath: output,
      ...(conversion.key ? { key: conversion.key } : {}),
    });
    const size = statSync(output).size;
    const progress = new ByteProgress(ctx.io, `uploading ${objectKey} to ${store.url}`, size);
    await store.write(objectKey, createReadStream(output), { contentLength: size, onProgress: (bytes) => progress.update(bytes) });
    progress.done(size);
    publication.save({ ...publication.entry, sourceDigest: digest, objects: { ...publication.entry.objects, [objectKey]: { sourceDigest: digest, size, conversion: how } } });
    const why = present === undefined ? "" : recorded?.sourceDigest !== digest ? " again: the input changed" : " again: the stored object was not what this input makes";
    publication.changes.push(`uploaded ${objectKey}${why} (${rows} rows, ${formatBytes(size)})`);
    return { key: objectKey, bytes: size, rows, uploaded: true };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * `dataset publish`: checks every argument and builds the document first; then, each only if not done yet: the data
 * key (saved locally before use), the upload, the secrets, the document and its approval. Any failure leaves what
 * is done in place, and a re-run finishes the rest.
 */
async function publishDataset(ctx: CommandContext, options: DatasetPublishOptions): Promise<void> {
  const contractId = resourceId(options.contractId, "--contract-id");
  const id = resourceId(options.id ?? options.name, options.id === undefined ? "--name (the default --id)" : "--id");
  const inputPath = existingFile(ctx, options.input, "--input");
  const format = inputFormat(inputPath, options.format);
  if (options.csvHeader && format !== "csv") throw new UsageError("--csv-header is for CSV input only");
  const objectKey = objectKeyFor(inputPath, options.partitionDate === undefined ? undefined : partitionDate(options.partitionDate));
  const { fields, allowedFields, location, client, ownerId, access, keySecretId } = await publishTarget(ctx, options, { contractId, id }, true);
  const spec = checkedSpec(
    DatasetSpecificationSchema,
    {
      name: options.name,
      schema: { format: "parquet", fields },
      accessPolicy: { accessMode: "read", allowedFields },
      location,
      encryption: options.encrypt ? { mode: "parquet-uniform", keySecretId } : { mode: "none" },
      credentials: access.credentials,
    },
    "dataset",
  );

  const existing = await findDocument(client, contractId, id);
  const step = documentStep(existing, "dataset", ownerId, spec);
  const publication = new Publication(ctx, client, "dataset", contractId, id, ownerId);
  const key = options.encrypt ? publication.dataKey(existing, keySecretId) : undefined;
  const { openStore } = await import("@cleanroom/storage");
  const store = openStore(location, access.resolved);
  const object = await uploadIfChanged(ctx, publication, store, inputPath, objectKey, { format, csvHeader: options.csvHeader ?? false, fields, key });
  const storageSecretId = await publication.storeSecrets({ key, keySecretId, access });
  const document = await publication.publishDocument(step, existing, spec);

  const result: DatasetPublishResult = {
    contractId,
    id,
    name: spec.name,
    state: document.state,
    version: document.version,
    location: store.url,
    object,
    encryption: spec.encryption.mode,
    ...(key ? { keySecretId } : {}),
    ...(storageSecretId !== undefined ? { storageSecretId } : {}),
    keyFile: publication.keyPath,
    changes: publication.changes,
  };
  for (const change of publication.changes) ctx.printer.note(change);
  if (publication.changes.length === 0) ctx.printer.note(`dataset ${id} is up to date (same document, ${document.state}; same input already uploaded): nothing to do`);
  ctx.printer.value(result, () =>
    formatRecord({
      id,
      name: spec.name,
      state: document.state,
      version: document.version,
      location: store.url,
      object: `${object.key} (${formatBytes(object.bytes)}${object.rows !== undefined ? `, ${object.rows} rows` : ""}${object.uploaded ? "" : ", unchanged"})`,
      encryption: spec.encryption.mode,
      ...(key ? { keySecretId } : {}),
      ...(storageSecretId !== undefined ? { storageSecretId } : {}),
      keyFile: publication.keyPath,
      changes: publication.changes.length === 0 ? "none (up to date)" : publication.changes.length,
    }),
  );
}

/** Options shared by `dataset publish` and `sink publish`. */
export function addSpecOptions(command: Command, kind: "dataset" | "sink"): Command {
  return command
    .requiredOption("--contract-id <id>", "contract id")
    .requiredOption("--name <name>", `the ${kind}'s name (1-63 lowercase letters, digits, '-')`)
    .option("--id <id>", "document id (default: the name)")
    .option("--fields <fields>", 'the columns: "<name>:<type>,…" (types: string, integer, long, number, boolean, date, timestamp)')
    .option("--schema <json>", 'the columns as JSON [{"name", "type"}] (or @file), instead of --fields')
    .option("--allowed-fields <names>", `the columns a query may ${kind === "dataset" ? "read" : "write"}: a,b,… (default: all)`)
    .option("--location <json>", 'where it is stored: {"kind": "local"|"azure-blob"|"s3", …} (JSON or @file)')
    .option("--local-path <dir>", "a local folder (of the machine the agent runs on), instead of --location")
    .option("--storage-credentials <file>", 'your storage credentials JSON (azure-blob {"accountName","accountKey"} or {"sasToken"}; s3 {"accessKeyId","secretAccessKey"}), stored as the secret <id>-storage')
    .option("--federation <json>", 'workload identity federation instead of a stored credential: {"audience", "roleArn"} or {"audience", "tenantId", "clientId"}; subject defaults to <contractId>/<your id> (JSON or @file)');
}

export function registerDatasetCommands(program: Command, run: Run): void {
  const dataset = program.command("dataset").description("Datasets: your data, encrypted client-side, in your storage, shared with a contract's queries.");

  run(
    addSpecOptions(
      dataset
        .command("publish")
        .description(
          "Publish a dataset: convert the input to Parquet encrypted under your data key, upload it to your storage, store the key (and storage credentials) as governance secrets, and create and approve the type: dataset document. Idempotent: a re-run with the same input and arguments does nothing.",
        ),
      "dataset",
    )
      .requiredOption("--input <file>", "the data: CSV, JSON lines or Parquet")
      .addOption(new Option("--format <format>", "the input's format (default: from its extension; json = JSON lines)").choices(DATASET_FORMATS))
      .option("--csv-header", "the CSV input starts with a header row")
      .option("--partition-date <date>", "upload under the folder <YYYY-MM-DD>/ (runs can select dates)")
      .option("--no-encrypt", "upload plaintext Parquet (encryption none)"),
    guarded(publishDataset),
  );

  registerSpecViews(dataset, run, "dataset");
}
