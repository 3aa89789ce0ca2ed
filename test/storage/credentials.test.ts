// Credentials from released secrets: the JSON shapes each location kind takes, and refusals that never repeat the
// secret (they end up in run histories and audit events).
import { describe, expect, it } from "vitest";
import type { Credentials, Location } from "@cleanroom/protocol";
import { openStore, parseSecretCredentials, resolveCredentials, type CredentialSource } from "@cleanroom/storage";
import { expectStorageError } from "./streams.js";

const azure: Location = { kind: "azure-blob", accountUrl: "https://partya.blob.core.windows.net", container: "datasets" };
const s3: Location = { kind: "s3", region: "eu-west-1", bucket: "party-b-data", prefix: "impressions" };
const local: Location = { kind: "local", path: "/srv/cleanroom/datasets" };
const secret: Credentials = { kind: "secret", secretId: "storage-credentials" };

/** A source that releases one secret value, and records which secret ids were asked for. */
function releasing(value: string): CredentialSource & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    releaseSecret: (id) => {
      asked.push(id);
      return Promise.resolve(value);
    },
    issueToken: () => Promise.reject(new Error("no tokens in this test")),
  };
}

const ACCOUNT_KEY = "c2VjcmV0LWFjY291bnQta2V5LXRoYXQtbXVzdC1uZXZlci1hcHBlYXI=";
const SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";

describe("secret credentials", () => {
  it("parse as a shared key or a SAS for Azure Blob (a SAS with or without its '?')", async () => {
    const shared = releasing(JSON.stringify({ accountName: "partya", accountKey: ACCOUNT_KEY }));
    expect(await resolveCredentials(azure, secret, shared)).toEqual({ kind: "azure-shared-key", accountName: "partya", accountKey: ACCOUNT_KEY });
    expect(shared.asked).toEqual(["storage-credentials"]);
    expect(await resolveCredentials(azure, secret, releasing(JSON.stringify({ sasToken: "?sv=2025-01-05&sig=abc" })))).toEqual({ kind: "azure-sas", sasToken: "sv=2025-01-05&sig=abc" });
  });

  it("parse as static keys, with an optional session token, for S3", async () => {
    expect(await resolveCredentials(s3, secret, releasing(JSON.stringify({ accessKeyId: "AKIA1", secretAccessKey: SECRET_ACCESS_KEY })))).toEqual({
      kind: "s3-static",
      accessKeyId: "AKIA1",
      secretAccessKey: SECRET_ACCESS_KEY,
    });
    expect(parseSecretCredentials(s3, JSON.stringify({ accessKeyId: "ASIA1", secretAccessKey: SECRET_ACCESS_KEY, sessionToken: "session" }))).toEqual({
      kind: "s3-static",
      accessKeyId: "ASIA1",
      secretAccessKey: SECRET_ACCESS_KEY,
      sessionToken: "session",
    });
  });

  it("refuse a secret that is not JSON without quoting it", async () => {
    const value = `accountKey=${ACCOUNT_KEY}`;
    const error = await expectStorageError(resolveCredentials(azure, secret, releasing(value)), "StorageCredentialsInvalid");
    expect(error.message).toMatch(/not JSON/);
    expect(error.message).not.toContain(ACCOUNT_KEY);
    expect(error.cause).toBeUndefined();
  });

  it("refuse JSON of another location kind, saying so without quoting it", async () => {
    const s3Json = JSON.stringify({ accessKeyId: "AKIA1", secretAccessKey: SECRET_ACCESS_KEY });
    const error = await expectStorageError(resolveCredentials(azure, secret, releasing(s3Json)), "StorageCredentialsInvalid");
    expect(error.message).toContain("shape of s3 credentials");
    expect(error.message).toContain('{"sasToken": "..."}');
    expect(error.message).not.toContain(SECRET_ACCESS_KEY);
    const azureJson = JSON.stringify({ accountName: "partya", accountKey: ACCOUNT_KEY });
    const other = await expectStorageError(resolveCredentials(s3, secret, releasing(azureJson)), "StorageCredentialsInvalid");
    expect(other.message).toContain("shape of azure-blob credentials");
    expect(other.message).not.toContain(ACCOUNT_KEY);
  });

  it("refuse JSON with missing, empty or unknown fields, quoting neither values nor field names", async () => {
    for (const value of [
      { accountName: "partya" },
      { accountName: "partya", accountKey: "" },
      { accountName: "partya", accountKey: ACCOUNT_KEY, [ACCOUNT_KEY]: true },
      [ACCOUNT_KEY],
      ACCOUNT_KEY,
      null,
    ]) {
      const error = await expectStorageError(resolveCredentials(azure, secret, releasing(JSON.stringify(value))), "StorageCredentialsInvalid");
      expect(error.message).not.toContain(ACCOUNT_KEY);
    }
  });
});

describe("credentials and location kinds", () => {
  it("take {kind: none} for local folders, and only there", async () => {
    const source = releasing("{}");
    expect(await resolveCredentials(local, { kind: "none" }, source)).toEqual({ kind: "none" });
    await expectStorageError(resolveCredentials(local, secret, source), "StorageCredentialsInvalid");
    await expectStorageError(resolveCredentials(s3, { kind: "none" }, source), "StorageCredentialsInvalid");
    await expectStorageError(resolveCredentials(azure, { kind: "none" }, source), "StorageCredentialsInvalid");
    expect(() => parseSecretCredentials(local, "{}")).toThrow(expect.objectContaining({ code: "StorageCredentialsInvalid" }));
    expect(source.asked).toEqual([]);
  });

  it("are checked again when a store is opened, as is the location", () => {
    expect(() => openStore(local, { kind: "s3-static", accessKeyId: "a", secretAccessKey: "b" })).toThrow(expect.objectContaining({ code: "StorageCredentialsInvalid" }));
    expect(() => openStore(s3, { kind: "none" })).toThrow(expect.objectContaining({ code: "StorageCredentialsInvalid" }));
    expect(() => openStore(azure, { kind: "none" })).toThrow(expect.objectContaining({ code: "StorageCredentialsInvalid" }));
    expect(() => openStore({ kind: "local", path: "relative/../path" }, { kind: "none" })).toThrow(expect.objectContaining({ code: "StorageFailed" }));
    expect(() => openStore({ ...s3, prefix: "a/../b" }, { kind: "none" })).toThrow(/prefix/);
  });
});
