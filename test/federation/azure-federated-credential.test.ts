// Workload identity federation with Microsoft Entra ID (issue 4 item 7): the Azure SDK's ClientAssertionCredential
// presents the consortium issuer's token as the client assertion of an app (or user-assigned managed identity) that
// has a federated identity credential for the issuer and the contract's subject. Entra ID itself cannot run here, so
// its token endpoint is a MOCK (test/support/mock-entra-id.ts) that validates the assertion as Entra ID does; the
// client side — @azure/identity and MSAL — is the real library.
import { randomUUID } from "node:crypto";
import { Agent } from "node:https";
import { ClientAssertionCredential } from "@azure/identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forgeLike, startFederationIssuer, type FederationIssuer } from "../support/federation.js";
import { startMockEntraId, type MockEntraId } from "../support/mock-entra-id.js";

const CONTRACT = "azure-federated";
const SUBJECT = `${CONTRACT}/storage-reader`;
const TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange";
const TENANT = randomUUID();
const CLIENT_ID = randomUUID();
const STORAGE_SCOPE = "https://storage.azure.com/.default";

let federation: FederationIssuer;
let entra: MockEntraId;
let agent: Agent;

const token = (sub: string, aud = TOKEN_EXCHANGE_AUDIENCE) => federation.token({ sub, aud });

/** The credential a workload builds; each test gets its own, so MSAL's token cache never answers for it. */
const credentialFor = (getAssertion: () => Promise<string>) =>
  new ClientAssertionCredential(TENANT, CLIENT_ID, getAssertion, {
    authorityHost: entra.authorityHost,
    // Instance discovery asks login.microsoftonline.com which authorities exist; the mock is not one of them.
    disableInstanceDiscovery: true,
    // The mock's self-signed certificate; a real authority host has a publicly trusted one.
    agent,
  });

beforeAll(async () => {
  federation = await startFederationIssuer(CONTRACT);
  entra = await startMockEntraId({
    tenantId: TENANT,
    applications: [{ clientId: CLIENT_ID, federatedCredentials: [{ issuer: federation.issuer, subject: SUBJECT, audiences: [TOKEN_EXCHANGE_AUDIENCE] }] }],
    issuerCaPems: [federation.consortium.service.serviceCertificatePem],
  });
  agent = new Agent({ ca: entra.certificatePem });
});

afterAll(async () => {
  agent?.destroy();
  try {
    await entra?.stop();
  } finally {
    await federation?.close();
  }
});

describe("Azure federated identity credential against a MOCK Entra ID token endpoint", () => {
  it("gets an access token for the app with the attested workload's token as client assertion", async () => {
    const accessToken = await credentialFor(() => token(SUBJECT)).getToken(STORAGE_SCOPE);
    expect(accessToken.expiresOnTimestamp).toBeGreaterThan(Date.now());
    expect(await entra.verifyAccessToken(accessToken.token)).toMatchObject({ appid: CLIENT_ID, tid: TENANT, aud: "https://storage.azure.com" });
  });

  it("refuses a token for another subject of the contract: no federated credential matches it", async () => {
    await expect(credentialFor(() => token(`${CONTRACT}/other`)).getToken(STORAGE_SCOPE)).rejects.toThrow(/AADSTS70021: No matching federated identity record/);
  });

  it("refuses a token for another audience", async () => {
    await expect(credentialFor(() => token(SUBJECT, "sts.amazonaws.com")).getToken(STORAGE_SCOPE)).rejects.toThrow(/AADSTS700212/);
  });

  it("refuses a token that has expired", async () => {
    const expired = await federation.expiredToken({ sub: SUBJECT, aud: TOKEN_EXCHANGE_AUDIENCE });
    await expect(credentialFor(() => Promise.resolve(expired)).getToken(STORAGE_SCOPE)).rejects.toThrow(/AADSTS700024/);
  });

  it("refuses a token signed by another key under the issuer's key id", async () => {
    const forged = await forgeLike(await token(SUBJECT));
    await expect(credentialFor(() => Promise.resolve(forged)).getToken(STORAGE_SCOPE)).rejects.toThrow(/AADSTS700027/);
  });
});
