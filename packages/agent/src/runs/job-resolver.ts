import { createReadStream } from "node:fs";
import { mkdir, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  csvFileWriter,
  jsonLinesFileWriter,
  parquetFileWriter,
  type EngineJob,
  type JobInput,
  type JobLimits,
  type ParquetWrite,
  type ResultWriter,
  type ResultWriterFactory,
} from "@cleanroom/engine-duckdb";
import type { DatasetFormat, DatasetSpecification, Encryption, RunPlan, RunStatus } from "@cleanroom/protocol";
import { datasetObjects, downloadToFile, openStore, resolveCredentials, type CredentialSource, type ObjectStore } from "@cleanroom/storage";
import type { GovernancePort } from "../governance-port.js";
import { RunFailure } from "./run-failure.js";
import type { CheckedQuery } from "./run-checks.js";

const EXTENSIONS: Record<DatasetFormat, string> = { csv: "csv", json: "json", parquet: "parquet" };

export interface ResolveOptions {
  readonly port: GovernancePort;
  readonly runId: string;
  readonly contractId: string;
  readonly range?: { readonly startDate: string; readonly endDate: string };
  /** This run's private folder inside the agent's work directory (downloads, staged output). */
  readonly runDirectory: string;
  readonly limits: JobLimits;
  /** The day the output is filed under, `YYYY-MM-DD` (UTC today). */
  readonly day: string;
  /** false for a dry run: list and check everything, fetch no data. */
  readonly fetchData: boolean;
  /** Writes Parquet output; default: a writer started for the run (`writeParquet`). */
  readonly writeParquet?: ParquetWrite;
}

export interface ResolvedRun {
  readonly job: EngineJob;
  readonly openWriter: ResultWriterFactory;
  readonly output: NonNullable<RunStatus["output"]>;
  readonly plan: RunPlan;
}

/** The documents' credentials, resolved through governance: released secrets, or tokens of its OIDC issuer. */
function credentialSource(port: GovernancePort): CredentialSource {
  return {
    releaseSecret: async (secretId) => (await port.releaseSecret(secretId)).value,
    issueToken: async (request) => (await port.issueToken(request)).token,
  };
}

/** A data key released by governance: base64 of exactly 32 bytes (docs/parquet-encryption.md). */
async function dataKey(port: GovernancePort, encryption: Encryption, owner: string): Promise<Buffer | undefined> {
  if (encryption.mode === "none") return undefined;
  const { value } = await port.releaseSecret(encryption.keySecretId);
  const key = Buffer.from(value.trim(), "base64");
  if (key.length !== 32 || key.toString("base64") !== value.trim()) {
    throw new RunFailure("DataKeyInvalid", `The data key of ${owner} (secret ${encryption.keySecretId}) is not base64 of 32 bytes.`);
  }
  return key;
}

async function openDocumentStore(port: GovernancePort, spec: Pick<DatasetSpecification, "location" | "credentials">): Promise<ObjectStore> {
  const credentials = await resolveCredentials(spec.location, spec.credentials, credentialSource(port));
  return openStore(spec.location, credentials);
}

async function resolveInput(input: CheckedQuery["inputs"][number], options: ResolveOptions, index: number) {
  const { spec, document, view } = input;
  const store = await openDocumentStore(options.port, spec);
  const objects = await datasetObjects(store, spec.schema.format, options.range);
  const encryptionKey = await dataKey(options.port, spec.encryption, `dataset ${document.id}`);
  const files: string[] = [];
  if (options.fetchData) {
    for (const [number, object] of objects.entries()) {
      const local = store.localPath(object.key);
      if (local !== undefined) {
        files.push(local);
      } else {
        // Remote objects are copied as stored (encrypted Parquet stays encrypted) into the run's private folder.
        const path = join(options.runDirectory, "inputs", `${index}-${view}`, `${number}.${EXTENSIONS[spec.schema.format]}`);
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        await downloadToFile(store, object.key, path);
        files.push(path);
      }
    }
  }
  const jobInput: JobInput = {
    view,
    datasetName: spec.name,
    format: spec.schema.format,
    fields: spec.schema.fields,
    allowedFields: spec.accessPolicy.allowedFields,
    files,
    location: store.url,
    ...(encryptionKey ? { encryptionKey } : {}),
  };
  const bytes = objects.reduce((sum, object) => sum + object.size, 0);
  return { jobInput, plan: { dataset: document.id, version: document.version, view, location: store.url, objects: objects.length, bytes } };
}

function fileWriter(format: DatasetFormat, path: string, key: Buffer | undefined, writeParquet: ParquetWrite | undefined): ResultWriterFactory {
  switch (format) {
    case "csv":
      return csvFileWriter(path, { header: true });
    case "json":
      return jsonLinesFileWriter(path);
    case "parquet":
      return parquetFileWriter(path, { ...(key ? { key } : {}), ...(writeParquet ? { write: writeParquet } : {}) });
  }
}

/**
 * The sink writer. Nothing of the run's folder exists before the engine opens the writer (after the result was
 * checked and consent re-confirmed), and an abort removes what it made. Local sinks get the file staged and renamed
 * in place; remote sinks get it staged in the run's private folder and uploaded on commit, which the stores make
 * atomic (block list commit, multipart completion).
 */
function sinkWriter(store: ObjectStore, objectKey: string, format: DatasetFormat, key: Buffer | undefined, options: ResolveOptions): ResultWriterFactory {
  return async (columns): Promise<ResultWriter> => {
    const local = store.localPath(objectKey);
    const path = local ?? join(options.runDirectory, "output", `part-00000.${EXTENSIONS[format]}`);
    const created = await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const inner = await fileWriter(format, path, key, options.writeParquet)(columns);
    const removeCreatedFolders = async (): Promise<void> => {
      if (local === undefined || created === undefined) return;
      // Only the folders this writer created, deepest first, and only while empty.
      for (let folder = dirname(path); folder.length >= created.length; folder = dirname(folder)) {
        await rmdir(folder).catch(() => undefined);
      }
    };
    return {
      location: `${store.url}/${objectKey}`,
      write: (chunk) => inner.write(chunk),
      async close() {
        await inner.close();
        if (local !== undefined) return;
        try {
          await store.write(objectKey, createReadStream(path), { contentLength: (await stat(path)).size });
        } finally {
          await rm(path, { force: true });
        }
      },
      async abort() {
        await inner.abort();
        await removeCreatedFolders();
      },
    };
  };
}

/**
 * Turns checked documents into an engine job: opens each store with credentials obtained through governance,
 * lists each dataset's objects for the partition range, releases the data keys, fetches remote objects, and
 * prepares the sink's writer under `<contractId>/<YYYY-MM-DD>/<runId>/`.
 */
export async function resolveRun(checked: CheckedQuery, options: ResolveOptions): Promise<ResolvedRun> {
  const sinkSpec = checked.sink.spec;
  // Inputs and sink are resolved at once: each is a few attested round trips and a storage listing.
  const [inputs, sinkStore, sinkKey] = await Promise.all([
    Promise.all(checked.inputs.map((input, index) => resolveInput(input, options, index))),
    openDocumentStore(options.port, sinkSpec),
    dataKey(options.port, sinkSpec.encryption, `sink ${checked.sink.document.id}`),
  ]);
  const path = `${options.contractId}/${options.day}/${options.runId}`;
  const objectKey = `${path}/part-00000.${EXTENSIONS[sinkSpec.schema.format]}`;
  const job: EngineJob = {
    runId: options.runId,
    contractId: options.contractId,
    inputs: inputs.map((input) => input.jobInput),
    segments: checked.spec.segments,
    output: { sinkName: sinkSpec.name, fields: sinkSpec.schema.fields, allowedFields: sinkSpec.accessPolicy.allowedFields },
    limits: options.limits,
    ...(options.range ? { partitionRange: options.range } : {}),
  };
  return {
    job,
    openWriter: sinkWriter(sinkStore, objectKey, sinkSpec.schema.format, sinkKey, options),
    output: { sink: checked.sink.document.id, location: sinkStore.url, path, objects: [objectKey] },
    plan: {
      contractId: options.contractId,
      inputs: inputs.map((input) => input.plan),
      output: { sink: checked.sink.document.id, version: checked.sink.document.version, location: sinkStore.url, path },
    },
  };
}
