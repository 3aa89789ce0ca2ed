// The Azure Blob connector against Azurite (a real blob service emulator, started once for this file): the
// conformance suite with a shared key, a container SAS, and the failures a clean room must tell apart.
import { Readable } from "node:stream";
import { BlobServiceClient, ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Location } from "@cleanroom/protocol";
import { openStore, parseSecretCredentials, resolveCredentials, type ObjectStore, type ResolvedCredentials } from "@cleanroom/storage";
import { startAzurite, type AzuriteServer } from "../support/azurite.js";
import { describeObjectStoreConformance } from "./conformance.case.js";
import { expectStorageError, listed, readAll } from "./streams.js";

const CONTAINER = "conformance";
let azurite: AzuriteServer;
let sharedKey: ResolvedCredentials;
let count = 0;

const location = (overrides: Partial<Extract<Location, { kind: "azure-blob" }>> = {}): Extract<Location, { kind: "azure-blob" }> => ({
  kind: "azure-blob",
  accountUrl: azurite.accountUrl,
  container: CONTAINER,
  prefix: `run-${++count}`,
  ...overrides,
});

beforeAll(async () => {
  azurite = await startAzurite();
  sharedKey = { kind: "azure-shared-key", accountName: azurite.accountName, accountKey: azurite.accountKey };
  const service = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey));
  await service.createContainer(CONTAINER);
});

afterAll(async () => {
  await azurite?.stop();
});

describeObjectStoreConformance("Azure Blob (Azurite, shared key)", () => ({
  fresh: (options) => openStore(location(), sharedKey, options),
}));

describe("Azure Blob (Azurite): credentials and failures", () => {
  const text = (value: string) => Readable.from([Buffer.from(value)]);

  it("names the account, container and prefix in its URL", () => {
    const store = openStore(location({ prefix: "datasets/impressions" }), sharedKey);
    expect(store.url).toBe(`azure-blob://${new URL(azurite.accountUrl).host}/devstoreaccount1/${CONTAINER}/datasets/impressions`);
    expect(openStore(location({ prefix: undefined }), sharedKey).url).toBe(`azure-blob://${new URL(azurite.accountUrl).host}/devstoreaccount1/${CONTAINER}/`);
  });

  it("works with a container SAS released as a secret, within the SAS's permissions", async () => {
    const sas = (permissions: string) =>
      generateBlobSASQueryParameters(
        { containerName: CONTAINER, permissions: ContainerSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + 3600_000) },
        new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey),
      ).toString();
    const at = location();
    const secrets: Record<string, string> = { "sink-sas": JSON.stringify({ sasToken: `?${sas("racwdl")}` }), "read-sas": JSON.stringify({ sasToken: sas("rl") }) };
    const source = { releaseSecret: (id: string) => Promise.resolve(secrets[id]!), issueToken: () => Promise.reject(new Error("not used")) };

    const writer = openStore(at, await resolveCredentials(at, { kind: "secret", secretId: "sink-sas" }, source));
    await writer.check();
    await writer.write("2025-09-01/part-0.csv", text("a,b\n"));
    expect(await listed(writer.list())).toEqual([["2025-09-01/part-0.csv", 4]]);

    const reader = openStore(at, await resolveCredentials(at, { kind: "secret", secretId: "read-sas" }, source));
    expect((await readAll(await reader.read("2025-09-01/part-0.csv"))).toString()).toBe("a,b\n");
    const refused = await expectStorageError(reader.write("2025-09-01/part-1.csv", text("c,d\n")), "StorageAccessDenied");
    expect(refused.message).not.toContain("sig=");
  });

  it("reports a wrong account key as StorageAccessDenied, without the key in the message", async () => {
    const wrongKey = Buffer.alloc(64, 7).toString("base64");
    const store = openStore(location(), parseSecretCredentials(location(), JSON.stringify({ accountName: azurite.accountName, accountKey: wrongKey })));
    for (const attempt of [() => store.check(), () => listed(store.list()), () => store.read("any.csv"), () => store.write("any.csv", text("x"))]) {
      const error = await expectStorageError(attempt(), "StorageAccessDenied");
      expect(error.message).not.toContain(wrongKey);
      expect(error.message).toContain(store.url);
    }
  });

  it("reports a missing container as StorageNotFound", async () => {
    const store = openStore(location({ container: "no-such-container" }), sharedKey);
    await expectStorageError(store.check(), "StorageNotFound");
    await expectStorageError(listed(store.list()), "StorageNotFound");
  });

  it("reports a stopped server as StorageUnreachable", async () => {
    const stopped = await startAzurite();
    await stopped.stop();
    const store: ObjectStore = openStore(location({ accountUrl: stopped.accountUrl }), {
      kind: "azure-shared-key",
      accountName: stopped.accountName,
      accountKey: stopped.accountKey,
    });
    // After the SDK's retries (0.2 to 2 s apart), not its default minutes.
    const error = await expectStorageError(store.read("any.csv"), "StorageUnreachable");
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("refuses credentials of another kind of location", () => {
    expect(() => openStore(location(), { kind: "s3-static", accessKeyId: "a", secretAccessKey: "b" })).toThrow(expect.objectContaining({ code: "StorageCredentialsInvalid" }));
  });
});
