// Azure Blob credentials by workload identity federation. resolveCredentials with `federation` credentials builds the
// real @azure/identity ClientAssertionCredential (and MSAL) whose client assertion is the consortium issuer's token
// from CredentialSource.issueToken; Entra ID itself cannot run here, so the token endpoint is a MOCK Entra ID
// (test/support/mock-entra-id.ts) that validates the assertion as Entra ID does.
//
// Azurite accepts bearer tokens only over https (`--oauth basic`) and only with an Entra-style issuer
// (https://sts.windows.net/...) and `nbf`, which the MOCK's access tokens do not have: so the blob requests with a
// bearer token are proven separately, against Azurite over https with a token credential made for it (below).
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { decodeJwt } from "jose";
import type { AccessToken, TokenCredential } from "@azure/identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSelfSignedCertificate, generateP384KeyPair } from "@cleanroom/crypto";
import type { Credentials, Location } from "@cleanroom/protocol";
import { openStore, resolveCredentials, type CredentialSource } from "@cleanroom/storage";
import { startAzurite, type AzuriteServer } from "../support/azurite.js";
import { startFederationIssuer, type FederationIssuer } from "../support/federation.js";
import { startMockEntraId, type MockEntraId } from "../support/mock-entra-id.js";
import { expectStorageError, listed, readAll } from "./streams.js";

const CONTRACT = "azure-storage-federated";
const SUBJECT = `${CONTRACT}/dataset-owner`;
const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";
const TENANT = randomUUID();
const CLIENT_ID = randomUUID();
const STORAGE_SCOPE = "https://storage.azure.com/.default";
const CONTAINER = "federated";

let federation: FederationIssuer;
let entra: MockEntraId;
let azurite: AzuriteServer;
let azuriteCertificatePem: string;

const location = (): Extract<Location, { kind: "azure-blob" }> => ({ kind: "azure-blob", accountUrl: azurite.accountUrl, container: CONTAINER, prefix: "impressions" });
const federated = (subject = SUBJECT): Credentials => ({
  kind: "federation",
  subject,
  audience: TOKEN_EXCHANGE_AUDIENCE,
  tenantId: TENANT,
  clientId: CLIENT_ID,
  authorityHost: entra.authorityHost,
});

function issuerSource(issued: string[]): CredentialSource {
  return {
    releaseSecret: () => Promise.reject(new Error("no secrets in this test")),
    async issueToken({ sub, aud }) {
      const token = await federation.token({ sub, aud });
      issued.push(token);
      return token;
    },
  };
}

/**
 * A token credential whose access tokens Azurite's `--oauth basic` accepts: Entra's v1 issuer form, the storage
 * audience, a lifetime. Azurite does not check signatures, so it is unsigned; it stands in for what Entra ID would
 * return, to prove the store's bearer-token requests over https.
 */
const azuriteTokenCredential: TokenCredential = {
  getToken(): Promise<AccessToken> {
    const now = Math.floor(Date.now() / 1000);
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const claims = { iss: `https://sts.windows.net/${TENANT}/`, aud: "https://storage.azure.com", iat: now, nbf: now, exp: now + 600, appid: CLIENT_ID };
    return Promise.resolve({ token: `${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.`, expiresOnTimestamp: (now + 600) * 1000 });
  },
};

beforeAll(async () => {
  federation = await startFederationIssuer(CONTRACT);
  entra = await startMockEntraId({
    tenantId: TENANT,
    applications: [{ clientId: CLIENT_ID, federatedCredentials: [{ issuer: federation.issuer, subject: SUBJECT, audiences: [TOKEN_EXCHANGE_AUDIENCE] }] }],
    issuerCaPems: [federation.consortium.service.serviceCertificatePem],
  });
  const keys = generateP384KeyPair();
  azuriteCertificatePem = await createSelfSignedCertificate(keys, { commonName: "Azurite (tests only)", ipAddresses: ["127.0.0.1"] });
  azurite = await startAzurite({ tls: { certificatePem: azuriteCertificatePem, privateKeyPem: keys.privateKeyPem }, oauth: true });
  const { Agent } = await import("node:https");
  const agent = new Agent({ ca: azuriteCertificatePem });
  const admin = new BlobServiceClient(azurite.accountUrl, new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey), { agent } as object);
  await admin.createContainer(CONTAINER);
  agent.destroy();
});

afterAll(async () => {
  try {
    await azurite?.stop();
  } finally {
    try {
      await entra?.stop();
    } finally {
      await federation?.close();
    }
  }
});

describe("Azure Blob credentials by federation, against a MOCK Entra ID", () => {
  it("resolves to a ClientAssertionCredential whose assertion is the issuer's token for the document's subject", async () => {
    const issued: string[] = [];
    const resolved = await resolveCredentials(location(), federated(), issuerSource(issued), { trustedCaPems: [entra.certificatePem] });
    expect(resolved.kind).toBe("azure-token");
    expect(issued).toEqual([]);
    if (resolved.kind !== "azure-token") return;
    const accessToken = await resolved.credential.getToken(STORAGE_SCOPE);
    // The MOCK accepted the assertion (issuer, subject, audience, signature, lifetime), and the only assertions there
    // were are tokens issueToken returned (MSAL may ask for the assertion more than once per token request).
    expect(issued.length).toBeGreaterThan(0);
    for (const token of issued) expect(decodeJwt(token)).toMatchObject({ iss: federation.issuer, sub: SUBJECT, aud: TOKEN_EXCHANGE_AUDIENCE });
    expect(await entra.verifyAccessToken(accessToken!.token)).toMatchObject({ appid: CLIENT_ID, tid: TENANT, aud: "https://storage.azure.com" });
  });

  it("turns the MOCK's refusal of another subject's token into StorageAccessDenied on first use", async () => {
    const resolved = await resolveCredentials(location(), federated(`${CONTRACT}/other`), issuerSource([]), { trustedCaPems: [entra.certificatePem] });
    const store = openStore(location(), resolved, { trustedCaPems: [azuriteCertificatePem] });
    const error = await expectStorageError(store.check(), "StorageAccessDenied");
    expect(error.message).toContain(store.url);
    expect(error.message).toContain("no access token from Entra ID");
  });

  it("needs tenantId and clientId for an azure-blob location", async () => {
    const { tenantId: _tenant, ...withoutTenant } = federated() as Extract<Credentials, { kind: "federation" }>;
    await expectStorageError(resolveCredentials(location(), withoutTenant, issuerSource([])), "StorageCredentialsInvalid");
  });
});

describe("Azure Blob with a bearer token, against Azurite over https (--oauth basic)", () => {
  const text = (value: string) => Readable.from([Buffer.from(value)]);

  it("writes, lists and reads with an access token, trusting Azurite's certificate", async () => {
    const store = openStore(location(), { kind: "azure-token", credential: azuriteTokenCredential }, { trustedCaPems: [azuriteCertificatePem] });
    await store.check();
    await store.write("2025-09-01/part-0.csv", text("campaign,impressions\n"));
    expect(await listed(store.list())).toEqual([["2025-09-01/part-0.csv", 21]]);
    expect((await readAll(await store.read("2025-09-01/part-0.csv"))).toString()).toBe("campaign,impressions\n");
  });

  it("refuses a token Azurite does not accept as StorageAccessDenied", async () => {
    const wrongAudience: TokenCredential = {
      getToken: () => azuriteTokenCredential.getToken(STORAGE_SCOPE).then((token) => {
        const [header, , signature] = token!.token.split(".");
        const claims = { ...(JSON.parse(Buffer.from(token!.token.split(".")[1]!, "base64url").toString()) as object), aud: "https://vault.azure.net" };
        return { ...token!, token: `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}` };
      }),
    };
    const store = openStore(location(), { kind: "azure-token", credential: wrongAudience }, { trustedCaPems: [azuriteCertificatePem] });
    await expectStorageError(store.check(), "StorageAccessDenied");
  });

  it("does not trust Azurite's self-signed certificate unless told to: StorageUnreachable", async () => {
    const store = openStore(location(), { kind: "azure-token", credential: azuriteTokenCredential });
    const error = await expectStorageError(store.check(), "StorageUnreachable");
    expect(error.message).toMatch(/certificate/);
  });
});
