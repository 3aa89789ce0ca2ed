// The S3 connector against MinIO (a real S3 server, built from source by npm test and started once for this file):
// the conformance suite with static credentials, and the failures a clean room must tell apart.
import { existsSync } from "node:fs";
import { Readable } from "node:stream";
import { CreateBucketCommand, ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Location } from "@cleanroom/protocol";
import { openStore, parseSecretCredentials, type ResolvedCredentials } from "@cleanroom/storage";
import { MINIO_REGION, minioBinary, startMinio, type MinioServer } from "../support/minio.js";
import { freePort } from "../support/server-process.js";
import { describeObjectStoreConformance } from "./conformance.case.js";
import { expectStorageError, listed } from "./streams.js";

const BUCKET = "conformance";

// Developers without Go skip with a reason; CI (CI set) never skips: there a missing build is a failure.
const skipReason = !existsSync(minioBinary) && !process.env.CI ? `MinIO is not built at ${minioBinary}: run npm test (which builds it with Go) to run the S3 tests` : undefined;
if (skipReason) console.warn(`test/storage/s3-store: skipped — ${skipReason}`);

let minio: MinioServer;
let root: ResolvedCredentials;
let admin: S3Client;
let count = 0;

type S3Location = Extract<Location, { kind: "s3" }>;
const location = (overrides: Partial<S3Location> = {}): S3Location => ({
  kind: "s3",
  endpoint: minio.url,
  region: MINIO_REGION,
  bucket: BUCKET,
  prefix: `run-${++count}`,
  forcePathStyle: true,
  ...overrides,
});

describe.skipIf(skipReason !== undefined)("S3 (MinIO)", () => {
  beforeAll(async () => {
    minio = await startMinio({ env: {} });
    root = { kind: "s3-static", accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword };
    admin = new S3Client({ endpoint: minio.url, region: MINIO_REGION, forcePathStyle: true, credentials: { accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword } });
    await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  afterAll(async () => {
    admin?.destroy();
    await minio?.stop();
  });

  describeObjectStoreConformance("S3 (MinIO, static credentials)", () => ({
    fresh: (options) => openStore(location(), root, options),
    // An aborted multipart upload must not linger (its parts would be billed, and could be completed later).
    async leftovers(store) {
      const prefix = store.url.slice(`s3://${BUCKET}/`.length).split(" ")[0]!;
      const { Uploads } = await admin.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: `${prefix}/` }));
      return (Uploads ?? []).map((upload) => `multipart upload of ${upload.Key}`);
    },
  }));

  describe("credentials and failures", () => {
    const text = (value: string) => Readable.from([Buffer.from(value)]);

    it("names the bucket, prefix and server in its URL", () => {
      expect(openStore(location({ prefix: "datasets/impressions" }), root).url).toBe(`s3://${BUCKET}/datasets/impressions at ${new URL(minio.url).host}`);
      expect(openStore({ kind: "s3", region: "eu-west-1", bucket: "party-a-data" }, root).url).toBe("s3://party-a-data/");
    });

    it("works with static credentials released as a secret", async () => {
      const at = location();
      const store = openStore(at, parseSecretCredentials(at, JSON.stringify({ accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword })));
      await store.check();
      await store.write("a.csv", text("x"));
      expect(await listed(store.list())).toEqual([["a.csv", 1]]);
    });

    it("reports a wrong secret key as StorageAccessDenied, without the key in the message", async () => {
      const wrongSecret = "wrong-secret-key-0123456789";
      const store = openStore(location(), { kind: "s3-static", accessKeyId: minio.rootUser, secretAccessKey: wrongSecret });
      for (const attempt of [() => store.check(), () => listed(store.list()), () => store.read("any.csv"), () => store.write("any.csv", text("x")), () => store.delete("any.csv")]) {
        const error = await expectStorageError(attempt(), "StorageAccessDenied");
        expect(error.message).not.toContain(wrongSecret);
        expect(error.message).toContain(store.url);
      }
      const unknownKey = openStore(location(), { kind: "s3-static", accessKeyId: "nobody", secretAccessKey: wrongSecret });
      await expectStorageError(unknownKey.check(), "StorageAccessDenied");
    });

    it("reports a missing bucket as StorageNotFound", async () => {
      const store = openStore(location({ bucket: "no-such-bucket" }), root);
      await expectStorageError(store.check(), "StorageNotFound");
      await expectStorageError(listed(store.list()), "StorageNotFound");
    });

    it("reports a server that does not answer as StorageUnreachable", async () => {
      const store = openStore(location({ endpoint: `http://127.0.0.1:${await freePort()}` }), root);
      await expectStorageError(store.check(), "StorageUnreachable");
      await expectStorageError(store.read("any.csv"), "StorageUnreachable");
    });
  });
});
