import type { Command } from "commander";
import type { Credentials, DatasetSpecification, Encryption, UserDocument } from "@cleanroom/protocol";
import { formatRecord, formatTable } from "../io.js";
import { cleanroomHome } from "../profiles.js";
import type { CommandContext } from "../context.js";
import { formatApprovers } from "../commands/app-output.js";
import { memberLabels } from "../commands/member-names.js";
import type { Run } from "../commands/types.js";
import { resourceId } from "./arguments.js";
import { locationUrl } from "@cleanroom/storage/location-url";
import { analyticsDocument, analyticsDocuments, KIND_NAME, partyLabel, specOf } from "./documents.js";
import { guarded } from "./errors.js";
import { KeyStore } from "./key-store.js";

// `dataset show|list` and `sink show|list`: the documents with their data read for people.

export function encryptionText(encryption: Encryption): string {
  return encryption.mode === "none" ? "none" : `${encryption.mode} (key secret ${encryption.keySecretId})`;
}

export function credentialsText(credentials: Credentials): string {
  switch (credentials.kind) {
    case "none":
      return "none";
    case "secret":
      return `secret ${credentials.secretId}`;
    case "federation":
      return `federation: subject ${credentials.subject}, audience ${credentials.audience}`;
  }
}

/** A dataset or sink as record fields. */
export function specRecord(document: UserDocument, spec: DatasetSpecification, label: (id: string) => string, keyFile: string | undefined): Record<string, unknown> {
  return {
    id: document.id,
    contractId: document.contractId,
    name: spec.name,
    state: document.state,
    version: document.version,
    owner: partyLabel(document.proposerId, document.proposerIdType, label),
    approvers: formatApprovers(document, label),
    format: spec.schema.format,
    fields: spec.schema.fields.map((field) => `${field.name}:${field.type}`).join(", "),
    allowedFields: spec.accessPolicy.allowedFields.join(", "),
    location: locationUrl(spec.location),
    encryption: encryptionText(spec.encryption),
    credentials: credentialsText(spec.credentials),
    ...(spec.encryption.mode === "none" ? {} : { localKey: keyFile ?? "none in this profile (kept by the owner's profile)" }),
  };
}

export function specRow(document: UserDocument, spec: DatasetSpecification, label: (id: string) => string) {
  return {
    id: document.id,
    name: spec.name,
    state: document.state,
    owner: partyLabel(document.proposerId, document.proposerIdType, label),
    format: spec.schema.format,
    encrypted: spec.encryption.mode !== "none",
    location: locationUrl(spec.location),
  };
}

/** Registers `show` and `list` for datasets or sinks on `group`. */
export function registerSpecViews(group: Command, run: Run, kind: "dataset" | "datasink"): void {
  const name = KIND_NAME[kind];
  run(
    group
      .command("show")
      .description(`Show a ${name}: state, owner and approvals, fields, location, encryption, and whether this profile holds its key.`)
      .requiredOption("--contract-id <id>", "contract id")
      .requiredOption("--id <id>", `the ${name}'s document id`),
    guarded(async (ctx: CommandContext, options: { contractId: string; id: string }) => {
      const client = await ctx.client();
      const { document, spec } = await analyticsDocument(client, resourceId(options.contractId, "--contract-id"), resourceId(options.id, "--id"), kind);
      if (ctx.printer.format === "json") return ctx.printer.value(document);
      const keys = new KeyStore(cleanroomHome(ctx.io.env), ctx.profile().name);
      const keyFile = keys.read(document.contractId, document.id)?.key !== undefined ? keys.path(document.contractId, document.id) : undefined;
      const label = await memberLabels(client);
      ctx.printer.value(document, () => formatRecord(specRecord(document, spec, label, keyFile)));
    }),
  );
  run(
    group
      .command("list")
      .description(`List the contract's ${name}s (documents labelled type: ${kind}).`)
      .requiredOption("--contract-id <id>", "contract id"),
    guarded(async (ctx: CommandContext, options: { contractId: string }) => {
      const client = await ctx.client();
      const documents = await analyticsDocuments(client, resourceId(options.contractId, "--contract-id"), kind);
      if (ctx.printer.format === "json") return ctx.printer.value(documents);
      const label = await memberLabels(client);
      const rows = documents.map((document) => specRow(document, specOf(document, kind), label));
      ctx.printer.value(documents, () =>
        rows.length === 0
          ? `no ${name}s in contract ${options.contractId}\n`
          : formatTable(rows, [
              { header: "ID", value: (r) => r.id },
              { header: "NAME", value: (r) => r.name },
              { header: "STATE", value: (r) => r.state },
              { header: "OWNER", value: (r) => r.owner },
              { header: "FORMAT", value: (r) => r.format },
              { header: "ENCRYPTED", value: (r) => (r.encrypted ? "yes" : "no") },
              { header: "LOCATION", value: (r) => r.location },
            ]),
      );
    }),
  );
}
