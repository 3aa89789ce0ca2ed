import { z } from "zod";
import { ResourceIdSchema, SecretIdSchema, type Labels } from "./app.js";
import { TxIdStringSchema } from "./transactions.js";

// Analytics documents: datasets, sinks and queries are user documents labelled `type: dataset|datasink|query` whose
// `data` has one of the shapes below. Defined once here so that the governance service (which refuses anything
// else), the CLI (which builds them) and the agent (which runs them) cannot disagree. Reference:
// upstream-spark-analytics.md §2.1–§2.2; docs/analytics-documents.md explains every rule.

/** The label that marks an analytics document, and its values. Other values of the label are not analytics documents. */
export const ANALYTICS_TYPE_LABEL = "type";
export const AnalyticsDocumentTypeSchema = z.enum(["dataset", "datasink", "query"]);
export type AnalyticsDocumentType = z.infer<typeof AnalyticsDocumentTypeSchema>;

/** The analytics type a document's labels give it, if any. */
export function analyticsDocumentType(labels: Labels): AnalyticsDocumentType | undefined {
  const parsed = AnalyticsDocumentTypeSchema.safeParse(labels[ANALYTICS_TYPE_LABEL]);
  return parsed.success ? parsed.data : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks

/**
 * Column and view names: plain SQL identifiers, so that the engines can use them unquoted and no name can smuggle
 * SQL into the statements built from them.
 */
export const SqlIdentifierSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "expected an SQL identifier: 1-128 letters, digits or '_', not starting with a digit");

/** SQL identifiers are case-insensitive in DuckDB and Spark, so `Date` and `date` would be the same column. */
function duplicateIndex(names: readonly string[]): number {
  const seen = new Set<string>();
  return names.findIndex((name) => {
    const key = name.toLowerCase();
    if (seen.has(key)) return true;
    seen.add(key);
    return false;
  });
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * A storage or identity endpoint: https, or http only on the loopback interface (Azurite, a local S3 server, a mock
 * identity provider). No credentials, query or fragment: a SAS token or key in a URL would be published on the
 * ledger with the document.
 */
const EndpointUrlSchema = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "expected an absolute URL" });
      return;
    }
    if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname))) {
      ctx.addIssue({ code: "custom", message: "expected an https URL (http only for 127.0.0.1 or localhost emulators)" });
    } else if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
      ctx.addIssue({ code: "custom", message: "the URL must not carry credentials, a query or a fragment (secrets belong in governance secrets)" });
    }
  });

/**
 * An object-key prefix inside a container or bucket: `/`-separated segments, no empty, `.` or `..` segment, so that
 * every prefix names one place and cannot climb out of another.
 */
const ObjectPrefixSchema = z
  .string()
  .max(1024)
  .refine(
    (prefix) => prefix.split("/").every((segment) => /^[A-Za-z0-9._=-]+$/.test(segment) && segment !== "." && segment !== ".."),
    "expected '/'-separated segments of letters, digits, '.', '_', '=' or '-' (no leading, trailing or double '/', no '.' or '..')",
  );

function isControlCharacter(character: string): boolean {
  const code = character.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}

/** A local folder: absolute, and without `.`, `..` or empty segments, so that it names exactly one folder. */
const LocalPathSchema = z
  .string()
  .max(4096)
  .refine(
    (path) =>
      path.startsWith("/") &&
      path
        .slice(1)
        .split("/")
        .every((segment) => segment !== "" && segment !== "." && segment !== ".." && ![...segment].some(isControlCharacter)),
    "expected an absolute path without '.', '..' or empty segments and without control characters",
  );

// ---------------------------------------------------------------------------------------------------------------
// Datasets and sinks (label `type: dataset` / `type: datasink`)

export const DATASET_FORMATS = ["csv", "json", "parquet"] as const;
export const DatasetFormatSchema = z.enum(DATASET_FORMATS);
export type DatasetFormat = z.infer<typeof DatasetFormatSchema>;

/** Column types (reference §2.1); every column is nullable. */
export const FIELD_TYPES = ["string", "integer", "long", "number", "boolean", "date", "timestamp"] as const;
export const FieldTypeSchema = z.enum(FIELD_TYPES);
export type FieldType = z.infer<typeof FieldTypeSchema>;

export const MAX_DATASET_FIELDS = 1024;

export const DatasetFieldSchema = z.strictObject({ name: SqlIdentifierSchema, type: FieldTypeSchema });
export type DatasetField = z.infer<typeof DatasetFieldSchema>;

export const DatasetSchemaSchema = z.strictObject({
  format: DatasetFormatSchema,
  fields: z.array(DatasetFieldSchema).min(1).max(MAX_DATASET_FIELDS),
});
export type DatasetSchema = z.infer<typeof DatasetSchemaSchema>;

/** Azure Blob container names: 3-63 lowercase letters, digits and single hyphens, starting and ending alphanumeric. */
const AzureContainerSchema = z.string().regex(/^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/, "expected an Azure container name (3-63 lowercase letters, digits, single '-')");
/** S3 bucket names: 3-63 lowercase letters, digits, '.' and '-', starting and ending alphanumeric, no '..'. */
const S3BucketSchema = z
  .string()
  .regex(/^(?=.{3,63}$)(?!.*\.\.)[a-z0-9][a-z0-9.-]*[a-z0-9]$/, "expected an S3 bucket name (3-63 lowercase letters, digits, '.', '-')");

export const LocationSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("local"), path: LocalPathSchema }),
  z.strictObject({
    kind: z.literal("azure-blob"),
    /** `https://<account>.blob.core.windows.net`, or Azurite's `http://127.0.0.1:10000/<account>`. */
    accountUrl: EndpointUrlSchema,
    container: AzureContainerSchema,
    prefix: ObjectPrefixSchema.optional(),
  }),
  z.strictObject({
    kind: z.literal("s3"),
    /** Absent for AWS itself; an S3-compatible server's URL otherwise. */
    endpoint: EndpointUrlSchema.optional(),
    region: z.string().regex(/^[a-z0-9-]{1,32}$/, "expected a region such as us-east-1"),
    bucket: S3BucketSchema,
    prefix: ObjectPrefixSchema.optional(),
    /** `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key` (most S3-compatible servers). */
    forcePathStyle: z.boolean().optional(),
  }),
]);
export type Location = z.infer<typeof LocationSchema>;

/** `parquet-uniform`: Parquet Modular Encryption, footer and every column under one data key held as a governance secret. */
export const EncryptionSchema = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("none") }),
  z.strictObject({ mode: z.literal("parquet-uniform"), keySecretId: SecretIdSchema }),
]);
export type Encryption = z.infer<typeof EncryptionSchema>;

/**
 * How the clean room reaches the storage. `secret`: a governance secret of the owner holding the storage
 * credentials (AzureBlobSecretCredentialsSchema, S3SecretCredentialsSchema). `federation`: a token of the
 * consortium's OIDC issuer for `subject`/`audience`, exchanged with Entra ID (`tenantId`, `clientId`,
 * `authorityHost?`) or an STS (`roleArn`, `stsEndpoint?`); which fields apply depends on the location.
 */
export const CredentialsSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("none") }),
  z.strictObject({ kind: z.literal("secret"), secretId: SecretIdSchema }),
  z.strictObject({
    kind: z.literal("federation"),
    /** `<contractId>/<owner id>` or `<contractId>/<owner id>/<name>`: the subject the owner's cloud trusts. */
    subject: z.string().regex(/^[A-Za-z0-9._/-]{1,256}$/, "expected <contractId>/<owner id>[/<name>]"),
    /** The audience the relying party expects (Entra ID: api://AzureADTokenExchange; MinIO: its client id). */
    audience: z.string().min(1).max(512),
    tenantId: z.string().regex(/^[A-Za-z0-9.-]{1,128}$/, "expected an Entra ID tenant id").optional(),
    clientId: z.string().regex(/^[A-Za-z0-9-]{1,128}$/, "expected an Entra ID application (client) id").optional(),
    /** Entra ID's authority, for sovereign clouds or a test double; default https://login.microsoftonline.com. */
    authorityHost: EndpointUrlSchema.optional(),
    roleArn: z
      .string()
      .regex(/^arn:[a-z0-9-]+:iam:[a-z0-9-]*:[0-9]*:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/, "expected a role ARN (arn:<partition>:iam:<region>:<account>:role/<name>)")
      .optional(),
    /** The STS to call; default: the location's endpoint for S3-compatible servers, AWS's regional STS otherwise. */
    stsEndpoint: EndpointUrlSchema.optional(),
  }),
]);
export type Credentials = z.infer<typeof CredentialsSchema>;

/** What a `secret` credential for an Azure Blob location holds (as JSON): a shared key, or a SAS token. */
export const AzureBlobSecretCredentialsSchema = z.union([
  z.strictObject({ accountName: z.string().min(1), accountKey: z.string().min(1) }),
  z.strictObject({ sasToken: z.string().min(1) }),
]);
/** What a `secret` credential for an S3 location holds (as JSON). */
export const S3SecretCredentialsSchema = z.strictObject({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  sessionToken: z.string().min(1).optional(),
});

/** Which federation fields each location kind takes; the others must be absent so nothing is silently ignored. */
const FEDERATION_FIELDS = {
  "azure-blob": { required: ["tenantId", "clientId"], allowed: ["tenantId", "clientId", "authorityHost"] },
  s3: { required: ["roleArn"], allowed: ["roleArn", "stsEndpoint"] },
} as const;
const PROVIDER_FIELDS = ["tenantId", "clientId", "authorityHost", "roleArn", "stsEndpoint"] as const;

function datasetSpecificationSchema(accessMode: "read" | "write") {
  return z
    .strictObject({
      /** Feeds folder and mount names, hence a DNS label (reference §8.8). */
      name: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "expected 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit"),
      schema: DatasetSchemaSchema,
      accessPolicy: z.strictObject({
        accessMode: z.literal(accessMode),
        allowedFields: z.array(SqlIdentifierSchema).min(1).max(MAX_DATASET_FIELDS),
      }),
      location: LocationSchema,
      encryption: EncryptionSchema,
      credentials: CredentialsSchema,
    })
    .superRefine((spec, ctx) => {
      const names = spec.schema.fields.map((field) => field.name);
      const duplicateField = duplicateIndex(names);
      if (duplicateField >= 0) {
        ctx.addIssue({ code: "custom", path: ["schema", "fields", duplicateField, "name"], message: `duplicate field '${names[duplicateField]}' (names are case-insensitive)` });
      }
      const declared = new Set(names);
      spec.accessPolicy.allowedFields.forEach((field, index) => {
        if (!declared.has(field)) ctx.addIssue({ code: "custom", path: ["accessPolicy", "allowedFields", index], message: `'${field}' is not a field of the schema` });
      });
      const duplicateAllowed = duplicateIndex(spec.accessPolicy.allowedFields);
      if (duplicateAllowed >= 0) ctx.addIssue({ code: "custom", path: ["accessPolicy", "allowedFields", duplicateAllowed], message: "duplicate field" });
      if (spec.encryption.mode === "parquet-uniform" && spec.schema.format !== "parquet") {
        ctx.addIssue({ code: "custom", path: ["encryption", "mode"], message: "parquet-uniform encryption needs schema.format parquet" });
      }
      const { location, credentials } = spec;
      if ((location.kind === "local") !== (credentials.kind === "none")) {
        ctx.addIssue({
          code: "custom",
          path: ["credentials", "kind"],
          message: location.kind === "local" ? "local locations take credentials {kind: none}" : `${location.kind} locations need secret or federation credentials`,
        });
      }
      if (credentials.kind === "federation" && location.kind !== "local") {
        const { required, allowed } = FEDERATION_FIELDS[location.kind];
        for (const field of required) {
          if (credentials[field] === undefined) ctx.addIssue({ code: "custom", path: ["credentials", field], message: `required for federation with a ${location.kind} location` });
        }
        for (const field of PROVIDER_FIELDS) {
          if (credentials[field] !== undefined && !(allowed as readonly string[]).includes(field)) {
            ctx.addIssue({ code: "custom", path: ["credentials", field], message: `not used for federation with a ${location.kind} location` });
          }
        }
      }
    });
}

/** `data` of a `type: dataset` document: read by queries. */
export const DatasetSpecificationSchema = datasetSpecificationSchema("read");
export type DatasetSpecification = z.infer<typeof DatasetSpecificationSchema>;
/** `data` of a `type: datasink` document: written by queries. Same shape, `accessMode: write`. */
export const DatasinkSpecificationSchema = datasetSpecificationSchema("write");
export type DatasinkSpecification = z.infer<typeof DatasinkSpecificationSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Queries (label `type: query`)

export const MAX_QUERY_INPUTS = 32;
export const MAX_QUERY_SEGMENTS = 64;
/** Longest segment statement, in UTF-8 bytes. */
export const MAX_STATEMENT_BYTES = 64 * 1024;

const utf8 = new TextEncoder();

export const SegmentSchema = z.strictObject({
  /** Segments run in ascending sequence; those sharing a sequence may run concurrently. */
  executionSequence: z.number().int().min(1).max(1_000_000),
  statement: z
    .string()
    .refine((statement) => statement.trim() !== "", "expected a non-empty SQL statement")
    .refine((statement) => utf8.encode(statement).length <= MAX_STATEMENT_BYTES, `longer than ${MAX_STATEMENT_BYTES} bytes`),
  /** Checked before the segment runs: the view must exist and hold at least `minRowCount` rows (the k-min guard). */
  preConditions: z
    .array(z.strictObject({ viewName: SqlIdentifierSchema, minRowCount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }))
    .max(32)
    .optional(),
  /** Applied to the segment's result: keep rows whose `columnName` is at least `value`. */
  postFilters: z
    .array(z.strictObject({ columnName: SqlIdentifierSchema, value: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER) }))
    .max(32)
    .optional(),
});
export type Segment = z.infer<typeof SegmentSchema>;

/**
 * `version`: the version of the referenced document the query is bound to. The service fills it in with the
 * Accepted version it checked (a client may send it, and then it must be that version); approvers approve it with
 * the query, and the agent refuses to run if it no longer holds.
 */
const QueryInputSchema = z.strictObject({ dataset: ResourceIdSchema, view: SqlIdentifierSchema, version: TxIdStringSchema.optional() });
const QueryOutputSchema = z.strictObject({ sink: ResourceIdSchema, version: TxIdStringSchema.optional() });

/** `data` of a `type: query` document as a client writes it. */
export const QuerySpecificationSchema = z
  .strictObject({
    inputs: z.array(QueryInputSchema).min(1).max(MAX_QUERY_INPUTS),
    output: QueryOutputSchema,
    segments: z.array(SegmentSchema).min(1).max(MAX_QUERY_SEGMENTS),
  })
  .superRefine((query, ctx) => {
    const duplicateView = duplicateIndex(query.inputs.map((input) => input.view));
    if (duplicateView >= 0) ctx.addIssue({ code: "custom", path: ["inputs", duplicateView, "view"], message: "duplicate view name (names are case-insensitive)" });
    const datasets = query.inputs.map((input) => input.dataset);
    const duplicateDataset = datasets.findIndex((dataset, index) => datasets.indexOf(dataset) !== index);
    if (duplicateDataset >= 0) ctx.addIssue({ code: "custom", path: ["inputs", duplicateDataset, "dataset"], message: "the dataset is already an input" });
    // Reference §2.2: the last step's single result is the output.
    const last = Math.max(...query.segments.map((segment) => segment.executionSequence));
    if (query.segments.filter((segment) => segment.executionSequence === last).length !== 1) {
      ctx.addIssue({ code: "custom", path: ["segments"], message: `the highest executionSequence (${last}) must have exactly one segment: its result is the output` });
    }
  });
export type QuerySpecification = z.infer<typeof QuerySpecificationSchema>;

/** A query as stored by the service: every reference bound to the version it was checked at. */
export type BoundQuerySpecification = QuerySpecification & {
  inputs: Array<QuerySpecification["inputs"][number] & { version: string }>;
  output: QuerySpecification["output"] & { version: string };
};

/** Whether a stored query carries every binding (the agent's first check on a query it is asked to run). */
export function isBoundQuery(query: QuerySpecification): query is BoundQuerySpecification {
  return query.output.version !== undefined && query.inputs.every((input) => input.version !== undefined);
}
