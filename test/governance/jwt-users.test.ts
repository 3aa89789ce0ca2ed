import { request } from "node:https";
import { generateKeyPairSync } from "node:crypto";
import { CallerStatusSchema, IdentitySchema, JwtIssuerListSchema, UserIdentityListSchema, UserIdentitySchema, type ProposalAction } from "@cleanroom/protocol";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeIdentity, startConsortium, type Consortium } from "../support/consortium.js";
import { startOidcProvider, type TestOidcProvider } from "../support/oidc-provider.js";

// Users authenticated by JWT (reference §1.1, §1.3), end to end: a real OpenID provider over HTTPS issues access
// tokens by client_credentials; the consortium trusts it and registers users by proposal; the governance service
// checks the tokens. The service runs on a clock the tests can move forward, for expiry and the refresh rate limit.

const ALICE = { oid: "oid-alice", tid: "tenant-a" };

let consortium: Consortium;
let idp: TestOidcProvider;
let stranger: TestOidcProvider;
let clockOffsetMs = 0;

beforeAll(async () => {
  const clients = [
    { clientId: "alice", ...ALICE },
    { clientId: "alice-short-lived", ...ALICE, accessTokenTtlSeconds: 1 },
    { clientId: "alice-other-tenant", oid: ALICE.oid, tid: "tenant-b" },
    { clientId: "mallory", oid: "oid-mallory", tid: ALICE.tid },
    { clientId: "no-oid", tid: ALICE.tid },
  ];
  idp = await startOidcProvider({ clients });
  stranger = await startOidcProvider({ clients });
  consortium = await startConsortium({ service: { clock: () => Date.now() + clockOffsetMs } });
});
afterAll(async () => {
  await consortium?.close();
  await idp?.stop();
  await stranger?.stop();
});

interface Response {
  status: number;
  body: unknown;
}

/** A request to the service as a JWT user (or with a raw Authorization header, or a client certificate). */
function call(
  method: "GET" | "POST",
  path: string,
  auth: { token?: string; authorization?: string; certificate?: { certificatePem: string; privateKeyPem: string } } = {},
): Promise<Response> {
  const authorization = auth.authorization ?? (auth.token !== undefined ? `Bearer ${auth.token}` : undefined);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, consortium.service.url),
      {
        method,
        ca: consortium.service.serviceCertificatePem,
        agent: false,
        timeout: 10_000,
        ...(auth.certificate ? { cert: auth.certificate.certificatePem, key: auth.certificate.privateKeyPem } : {}),
        headers: authorization !== undefined ? { authorization } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, body: text.length > 0 ? (JSON.parse(text) as unknown) : undefined });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

function expectError(response: Response, status: number, code: string, message?: RegExp): void {
  expect({ status: response.status, code: (response.body as { error?: { code?: string } }).error?.code }).toEqual({ status, code });
  if (message) expect((response.body as { error: { message: string } }).error.message).toMatch(message);
}

/** Proposes the actions as m0 and has all three members accept. */
async function enact(...actions: ProposalAction[]): Promise<void> {
  const [m0, ...others] = consortium.members;
  const { value } = await m0!.client.createProposal({ actions });
  let state = value.proposalState;
  for (const member of [m0!, ...others]) state = (await member.client.vote(value.proposalId, member.id, true)).value.proposalState;
  expect(state).toBe("Accepted");
}

async function jwtIssuers(token: string) {
  const response = await call("GET", "/gov/service/jwt-issuers", { token });
  expect(response.status).toBe(200);
  return JwtIssuerListSchema.parse(response.body).value;
}

function storedJson(map: string, key: string): unknown {
  const bytes = consortium.service.ledger.get(map, key);
  return bytes === undefined ? undefined : JSON.parse(Buffer.from(bytes).toString("utf8"));
}

describe("users authenticated by a JWT of an auto_refresh issuer", () => {
  let refreshedAt: string | undefined;

  it("accepts a registered user's token once the consortium trusts the issuer and registers the oid", async () => {
    await enact(
      { name: "set_jwt_issuer", args: { issuer: idp.issuer, auto_refresh: true, ca_cert_bundle: idp.certificatePem, audiences: [idp.defaultAudience] } },
      { name: "set_user_identity", args: { id: ALICE.oid, data: { tenantId: ALICE.tid, identifier: "alice@example.test" } } },
    );
    const token = await idp.token("alice");

    const identity = await call("GET", "/app/identity", { token });
    expect(identity.status).toBe(200);
    expect(IdentitySchema.parse(identity.body)).toEqual({
      kind: "user",
      id: ALICE.oid,
      data: { tenantId: ALICE.tid, identifier: "alice@example.test" },
      authenticatedBy: "jwt",
      tenantId: ALICE.tid,
    });

    const status = await call("POST", "/app/users/identities/self/status", { token });
    expect(status.status).toBe(200);
    expect(CallerStatusSchema.parse(status.body)).toEqual({ active: true, kind: "user", id: ALICE.oid, authenticatedBy: "jwt", tenantId: ALICE.tid });
  });

  it("stored the keys it fetched in the ledger, with the time of the refresh", async () => {
    const token = await idp.token("alice");
    const [issuer] = (await jwtIssuers(token)).filter((i) => i.issuer === idp.issuer);
    expect(issuer).toMatchObject({ issuer: idp.issuer, autoRefresh: true, audiences: [idp.defaultAudience], keyIds: [idp.keyId()] });
    expect(Date.parse(issuer!.refreshedAt ?? "")).toBeGreaterThan(Date.now() - 60_000);
    refreshedAt = issuer!.refreshedAt;

    const keys = storedJson("public:ccf.gov.jwt.public_signing_keys", idp.issuer) as { keys: Array<{ kid: string; d?: string }> };
    expect(keys.keys.map((k) => k.kid)).toEqual([idp.keyId()]);
    expect(keys.keys.every((k) => k.d === undefined)).toBe(true);
    expect(storedJson("public:cleanroom.gov.jwt_refresh", idp.issuer)).toEqual({ refreshedAt, jwksUri: `${idp.issuer}/jwks` });
  });

  it("lists and shows user identities to JWT users and members alike", async () => {
    const token = await idp.token("alice");
    const expected = { id: ALICE.oid, accountType: "microsoft", data: { tenantId: ALICE.tid, identifier: "alice@example.test" } };
    const list = await call("GET", "/app/users/identities", { token });
    expect(list.status).toBe(200);
    expect(UserIdentityListSchema.parse(list.body).value).toEqual([expected]);
    const one = await call("GET", `/app/users/identities/${ALICE.oid}`, { token });
    expect(UserIdentitySchema.parse(one.body)).toEqual(expected);
    expectError(await call("GET", "/app/users/identities/oid-nobody", { token }), 404, "UserIdentityNotFound");

    const m0 = consortium.members[0]!;
    const memberStatus = await call("POST", "/app/users/identities/self/status", { certificate: { certificatePem: m0.certificatePem, privateKeyPem: m0.keys.privateKeyPem } });
    expect(memberStatus.body).toEqual({ active: true, kind: "member", id: m0.id, authenticatedBy: "certificate", tenantId: "tenant" });
  });

  it("refuses, with 403, tokens of users who are not registered or come from another tenant", async () => {
    expectError(await call("GET", "/app/identity", { token: await idp.token("mallory") }), 403, "CallerNotAuthorized", /oid-mallory/);
    expectError(await call("GET", "/app/identity", { token: await idp.token("alice-other-tenant") }), 403, "CallerTenantNotAuthorized", /tenant-b/);
    expectError(await call("GET", "/app/identity", { token: await idp.token("no-oid") }), 401, "InvalidAuthenticationInfo", /token has no oid claim/);
  });

  it("refuses, with 401, anything that is not a valid token of a trusted issuer for an accepted audience", async () => {
    // Issued for another resource.
    expectError(await call("GET", "/app/identity", { token: await idp.token("alice", { resource: "urn:another:api" }) }), 401, "InvalidAuthenticationInfo", /audience/);

    // Signed by another key under the provider's kid, claiming the provider as issuer.
    const forger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const forged = await new SignJWT({ oid: ALICE.oid, tid: ALICE.tid })
      .setProtectedHeader({ alg: "RS256", kid: idp.keyId() })
      .setIssuer(idp.issuer)
      .setAudience(idp.defaultAudience)
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(forger);
    expectError(await call("GET", "/app/identity", { token: forged }), 401, "InvalidAuthenticationInfo", /signature does not verify/);

    // A real provider the consortium never trusted.
    expectError(await call("GET", "/app/identity", { token: await stranger.token("alice") }), 401, "InvalidAuthenticationInfo", /not trusted/);

    expectError(await call("GET", "/app/identity", { token: "garbage" }), 401, "InvalidAuthenticationInfo", /not a signed JWT/);
    expectError(await call("GET", "/app/identity", { authorization: `Basic ${Buffer.from("alice:pw").toString("base64")}` }), 401, "InvalidAuthenticationInfo", /Bearer/);
    expectError(await call("GET", "/app/identity"), 401, "InvalidAuthenticationInfo", /client certificate .* or an 'Authorization: Bearer/);
  });

  it("prefers a registered certificate, and lets a bearer token through an unregistered one", async () => {
    const m1 = consortium.members[1]!;
    const memberCertificate = { certificatePem: m1.certificatePem, privateKeyPem: m1.keys.privateKeyPem };
    const asMember = await call("GET", "/app/identity", { certificate: memberCertificate, token: "garbage" });
    expect(asMember.body).toMatchObject({ kind: "member", id: m1.id, authenticatedBy: "certificate" });

    const unknown = await makeIdentity("not-registered");
    const unknownCertificate = { certificatePem: unknown.certificatePem, privateKeyPem: unknown.keys.privateKeyPem };
    expectError(await call("GET", "/app/identity", { certificate: unknownCertificate }), 401, "InvalidAuthenticationInfo", /not registered/);
    const withToken = await call("GET", "/app/identity", { certificate: unknownCertificate, token: await idp.token("alice") });
    expect(withToken.body).toMatchObject({ kind: "user", id: ALICE.oid, authenticatedBy: "jwt" });
  });

  it("refuses an expired token (checked with 30 s of tolerance on the service clock)", async () => {
    const token = await idp.token("alice-short-lived");
    expect((await call("GET", "/app/identity", { token })).status).toBe(200);
    clockOffsetMs += 40_000;
    expectError(await call("GET", "/app/identity", { token }), 401, "InvalidAuthenticationInfo", /expired/);
  });

  it("trusts only the issuer's CA bundle when fetching its keys", async () => {
    await enact({ name: "set_jwt_issuer", args: { issuer: stranger.issuer, auto_refresh: true, ca_cert_bundle: idp.certificatePem } });
    const refused = await call("GET", "/app/identity", { token: await stranger.token("alice") });
    expectError(refused, 401, "InvalidAuthenticationInfo", /could not refresh the keys of issuer .*certificate/i);
    await enact({ name: "remove_jwt_issuer", args: { issuer: stranger.issuer } });
  });

  it("picks up rotated keys without a new proposal, at most once per 30 s", async () => {
    const oldKeyId = idp.keyId();
    await idp.rotateKeys();
    expect(idp.keyId()).not.toBe(oldKeyId);
    // The last refresh was more than 30 s ago on the service clock (see the expiry test): refreshes at once.
    const token = await idp.token("alice");
    expect((await call("GET", "/app/identity", { token })).body).toMatchObject({ id: ALICE.oid, authenticatedBy: "jwt" });
    const [afterFirst] = (await jwtIssuers(token)).filter((i) => i.issuer === idp.issuer);
    expect(afterFirst?.keyIds).toEqual([idp.keyId()]);
    expect(Date.parse(afterFirst?.refreshedAt ?? "")).toBeGreaterThan(Date.parse(refreshedAt ?? ""));

    await idp.rotateKeys();
    const rotatedAgain = await idp.token("alice");
    expectError(await call("GET", "/app/identity", { token: rotatedAgain }), 401, "InvalidAuthenticationInfo", /refreshed less than 30 s ago/);
    clockOffsetMs += 31_000;
    expect((await call("GET", "/app/identity", { token: rotatedAgain })).status).toBe(200);
    expect((await jwtIssuers(rotatedAgain)).find((i) => i.issuer === idp.issuer)?.keyIds).toEqual([idp.keyId()]);
  });
});

describe("users authenticated by a JWT of an issuer whose keys are given in the proposal", () => {
  it("accepts tokens verified with the inline keys, and never fetches others", async () => {
    const jwks = await idp.jwks();
    await enact({ name: "set_jwt_issuer", args: { issuer: idp.issuer, jwks } });
    const token = await idp.token("alice");
    expect((await call("POST", "/app/users/identities/self/status", { token })).body).toEqual({
      active: true,
      kind: "user",
      id: ALICE.oid,
      authenticatedBy: "jwt",
      tenantId: ALICE.tid,
    });
    const [issuer] = (await jwtIssuers(token)).filter((i) => i.issuer === idp.issuer);
    expect(issuer).toEqual({ issuer: idp.issuer, autoRefresh: false, keyIds: [idp.keyId()] });
  });

  it("refuses the same token once the user identity is removed", async () => {
    const token = await idp.token("alice");
    expect((await call("GET", "/app/identity", { token })).status).toBe(200);
    await enact({ name: "remove_user_identity", args: { id: ALICE.oid } });
    expectError(await call("GET", "/app/identity", { token }), 403, "CallerNotAuthorized");
  });

  it("does not follow the provider's key rotation, and stops trusting a removed issuer", async () => {
    await enact({ name: "set_user_identity", args: { id: ALICE.oid, data: { tenantId: ALICE.tid } } });
    const before = await idp.token("alice");
    expect((await call("GET", "/app/identity", { token: before })).status).toBe(200);
    await idp.rotateKeys();
    expectError(await call("GET", "/app/identity", { token: await idp.token("alice") }), 401, "InvalidAuthenticationInfo", /not refreshed/);
    await enact({ name: "remove_jwt_issuer", args: { issuer: idp.issuer } });
    expectError(await call("GET", "/app/identity", { token: before }), 401, "InvalidAuthenticationInfo", /not trusted/);
  });
});
