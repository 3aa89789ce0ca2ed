import { Option, type Command } from "commander";
import { DATASET_FORMATS, DatasinkSpecificationSchema, type DatasetFormat, type DatasinkSpecification } from "@cleanroom/protocol";
import { formatRecord } from "../io.js";
import type { CommandContext } from "../context.js";
import { resourceId } from "../analytics/arguments.js";
import { locationUrl } from "@cleanroom/storage/location-url";
import { findDocument } from "../analytics/documents.js";
import { guarded } from "../analytics/errors.js";
import { checkedSpec, documentStep, Publication, publishTarget, type SpecOptions } from "../analytics/publish.js";
import { registerSpecViews } from "../analytics/views.js";
import { addSpecOptions } from "./analytics-dataset.js";
import type { Run } from "./types.js";

export interface SinkPublishOptions extends SpecOptions {
  contractId: string;
  name: string;
  id?: string;
  format?: DatasetFormat;
  encrypt: boolean;
}

/** What `sink publish` prints (JSON output: this object). */
export interface SinkPublishResult {
  contractId: string;
  id: string;
  name: string;
  state: string;
  version: string;
  location: string;
  format: DatasetFormat;
  encryption: DatasinkSpecification["encryption"]["mode"];
  keySecretId?: string;
  storageSecretId?: string;
  keyFile: string;
  changes: string[];
}

/**
 * `sink publish`: like `dataset publish` without data. The sink's data key stays in this profile's key store: the
 * clean room gets it from governance to encrypt results, and only this profile can decrypt them afterwards.
 */
async function publishSink(ctx: CommandContext, options: SinkPublishOptions): Promise<void> {
  const contractId = resourceId(options.contractId, "--contract-id");
  const id = resourceId(options.id ?? options.name, options.id === undefined ? "--name (the default --id)" : "--id");
  const format = options.format ?? "parquet";
  const encrypt = options.encrypt && format === "parquet";
  if (options.encrypt && format !== "parquet") ctx.printer.note(`a ${format} sink is not encrypted: only Parquet results are (use --format parquet)`);
  const { fields, allowedFields, location, client, ownerId, access, keySecretId } = await publishTarget(ctx, options, { contractId, id }, false);
  const spec = checkedSpec(
    DatasinkSpecificationSchema,
    {
      name: options.name,
      schema: { format, fields },
      accessPolicy: { accessMode: "write", allowedFields },
      location,
      encryption: encrypt ? { mode: "parquet-uniform", keySecretId } : { mode: "none" },
      credentials: access.credentials,
    },
    "datasink",
  );

  const existing = await findDocument(client, contractId, id);
  const step = documentStep(existing, "datasink", ownerId, spec);
  const publication = new Publication(ctx, client, "datasink", contractId, id, ownerId);
  const key = encrypt ? publication.dataKey(existing, keySecretId) : undefined;
  const storageSecretId = await publication.storeSecrets({ key, keySecretId, access });
  const document = await publication.publishDocument(step, existing, spec);

  const result: SinkPublishResult = {
    contractId,
    id,
    name: spec.name,
    state: document.state,
    version: document.version,
    location: locationUrl(location),
    format,
    encryption: spec.encryption.mode,
    ...(key ? { keySecretId } : {}),
    ...(storageSecretId !== undefined ? { storageSecretId } : {}),
    keyFile: publication.keyPath,
    changes: publication.changes,
  };
  for (const change of publication.changes) ctx.printer.note(change);
  if (publication.changes.length === 0) ctx.printer.note(`sink ${id} is up to date (same document, ${document.state}): nothing to do`);
  ctx.printer.value(result, () =>
    formatRecord({
      ...result,
      changes: publication.changes.length === 0 ? "none (up to date)" : publication.changes.length,
    }),
  );
}

export function registerSinkCommands(program: Command, run: Run): void {
  const sink = program.command("sink").description("Sinks: where a query's results are written, encrypted under the sink owner's key.");

  run(
    addSpecOptions(
      sink
        .command("publish")
        .description(
          "Publish a sink: create its data key (kept in this profile's key store, to decrypt results) and secret, and create and approve the type: datasink document. Idempotent.",
        ),
      "sink",
    )
      .addOption(new Option("--format <format>", "the results' format (default: parquet; only parquet is encrypted)").choices(DATASET_FORMATS))
      .option("--no-encrypt", "results in plaintext (encryption none)"),
    guarded(publishSink),
  );

  registerSpecViews(sink, run, "datasink");
}
