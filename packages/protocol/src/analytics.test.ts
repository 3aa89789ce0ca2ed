import { describe, expect, it } from "vitest";
import {
  AzureBlobSecretCredentialsSchema,
  DatasetSpecificationSchema,
  DatasinkSpecificationSchema,
  QuerySpecificationSchema,
  analyticsDocumentType,
  isBoundQuery,
  type DatasetSpecification,
  type QuerySpecification,
} from "./analytics.js";
import { describeFirstIssue } from "./validation.js";

const dataset: DatasetSpecification = {
  name: "impressions",
  schema: { format: "parquet", fields: [{ name: "user_id", type: "string" }, { name: "day", type: "date" }] },
  accessPolicy: { accessMode: "read", allowedFields: ["user_id"] },
  location: { kind: "local", path: "/data/impressions" },
  encryption: { mode: "parquet-uniform", keySecretId: "owner_key" },
  credentials: { kind: "none" },
};

const query: QuerySpecification = {
  inputs: [{ dataset: "a", view: "a_view" }],
  output: { sink: "s" },
  segments: [{ executionSequence: 1, statement: "SELECT 1" }],
};

/** The first issue's `path: message`, or "ok". */
function issue(schema: typeof DatasetSpecificationSchema | typeof QuerySpecificationSchema, value: unknown): string {
  const result = schema.safeParse(value);
  return result.success ? "ok" : describeFirstIssue(result.error, "data");
}

describe("analytics document types", () => {
  it("are the three values of the type label; anything else is not an analytics document", () => {
    expect(analyticsDocumentType({ type: "dataset" })).toBe("dataset");
    expect(analyticsDocumentType({ type: "datasink" })).toBe("datasink");
    expect(analyticsDocumentType({ type: "query" })).toBe("query");
    expect(analyticsDocumentType({ type: "Dataset" })).toBeUndefined();
    expect(analyticsDocumentType({ kind: "dataset" })).toBeUndefined();
  });
});

describe("dataset specifications", () => {
  it("accept a valid dataset, and a sink only with accessMode write", () => {
    expect(issue(DatasetSpecificationSchema, dataset)).toBe("ok");
    expect(DatasinkSpecificationSchema.safeParse(dataset).success).toBe(false);
    expect(DatasinkSpecificationSchema.safeParse({ ...dataset, accessPolicy: { accessMode: "write", allowedFields: ["user_id"] } }).success).toBe(true);
  });

  it("treat field names case-insensitively, as SQL does", () => {
    const fields = [{ name: "Day", type: "date" }, { name: "day", type: "string" }];
    expect(issue(DatasetSpecificationSchema, { ...dataset, schema: { format: "parquet", fields } })).toMatch(/^data\.schema\.fields\.1\.name: duplicate field 'day'/);
  });

  it("take https endpoints, http only on the loopback interface, and never credentials in a URL", () => {
    const azure = (accountUrl: string) => ({
      ...dataset,
      location: { kind: "azure-blob", accountUrl, container: "data" },
      credentials: { kind: "secret", secretId: "owner_storage" },
    });
    for (const url of ["https://acct.blob.core.windows.net", "http://127.0.0.1:10000/devstoreaccount1", "http://localhost:10000/devstoreaccount1"]) {
      expect(issue(DatasetSpecificationSchema, azure(url)), url).toBe("ok");
    }
    for (const url of ["http://acct.blob.core.windows.net", "ftp://127.0.0.1", "https://acct.blob.core.windows.net/?sv=2024&sig=x", "https://user:pw@acct.blob.core.windows.net", "acct"]) {
      expect(issue(DatasetSpecificationSchema, azure(url)), url).toMatch(/^data\.location\.accountUrl: /);
    }
  });

  it("measure statements in UTF-8 bytes", () => {
    const segments = (statement: string) => ({ ...query, segments: [{ executionSequence: 1, statement }] });
    expect(issue(QuerySpecificationSchema, segments("x".repeat(64 * 1024)))).toBe("ok");
    // 32 Ki characters of two bytes each: within 64 Ki characters, but one byte over 64 KiB.
    expect(issue(QuerySpecificationSchema, segments(`${"é".repeat(32 * 1024)}x`))).toMatch(/^data\.segments\.0\.statement: longer than 65536 bytes/);
  });
});

describe("query specifications", () => {
  it("are bound once every input and the output carry a version", () => {
    expect(isBoundQuery(query)).toBe(false);
    expect(isBoundQuery({ ...query, inputs: [{ dataset: "a", view: "a_view", version: "2.4" }], output: { sink: "s", version: "2.5" } })).toBe(true);
  });
});

describe("secret credentials", () => {
  it("hold a shared key or a SAS token for Azure Blob, not both", () => {
    expect(AzureBlobSecretCredentialsSchema.safeParse({ accountName: "a", accountKey: "k" }).success).toBe(true);
    expect(AzureBlobSecretCredentialsSchema.safeParse({ sasToken: "sv=x" }).success).toBe(true);
    expect(AzureBlobSecretCredentialsSchema.safeParse({ accountName: "a", accountKey: "k", sasToken: "sv=x" }).success).toBe(false);
  });
});
