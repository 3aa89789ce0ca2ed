import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSelfSignedCertificate, generateP384KeyPair } from "@cleanroom/crypto";
import { createLedgerSigner, openLedger, type Ledger } from "@cleanroom/ledger";
import { ApiError } from "@cleanroom/protocol";
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeJson } from "../state/json-state.js";
import { Maps } from "../state/maps.js";
import { listJwtIssuers } from "../state/user-identities.js";
import type { FetchJson } from "./https-fetch.js";
import { JwtAuthenticator } from "./jwt-issuers.js";
import { JwtKeyRefresher } from "./jwt-key-refresh.js";

const ISSUER = "https://login.example.test/tenant-a/v2.0";
const REFRESHING = "https://idp.example.test";
const OID = "00000000-0000-0000-0000-00000000a11c";
const TENANT = "tenant-a";

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(kid: string, alg: "RS256" | "ES256" = "RS256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

let dir: string;
let ledger: Ledger;
let now: number;
let fetches: string[];
let documents: Map<string, unknown>;
let duringFetch: (() => void) | undefined;
let key1: SigningKey;
let key2: SigningKey;

const fakeFetch: FetchJson = async (url) => {
  fetches.push(url);
  await new Promise((resolve) => setTimeout(resolve, 10));
  duringFetch?.();
  if (!documents.has(url)) throw new Error(`GET ${url} answered HTTP 404`);
  return documents.get(url);
};

function authenticator(): JwtAuthenticator {
  const clock = () => now;
  return new JwtAuthenticator(ledger, { clock, refresher: new JwtKeyRefresher(ledger, { clock, fetchJson: fakeFetch }) });
}

async function write(map: string, key: string, value: unknown): Promise<void> {
  await ledger.transact((tx) => (value === undefined ? tx.delete(map, key) : writeJson(tx, map, key, value))).committed;
}

async function token(key: SigningKey, claims: JWTPayload, options: { iss?: string; kid?: string | null; expiresIn?: number } = {}): Promise<string> {
  const iat = Math.floor(now / 1000);
  const jwt = new SignJWT({ oid: OID, tid: TENANT, ...claims })
    .setProtectedHeader({ alg: key.jwk.alg ?? "RS256", ...(options.kid === null ? {} : { kid: options.kid ?? key.kid }) })
    .setIssuedAt(iat);
  if (options.iss !== null) jwt.setIssuer(options.iss ?? ISSUER);
  if (options.expiresIn !== undefined) jwt.setExpirationTime(iat + options.expiresIn);
  return jwt.sign(key.privateKey);
}

async function expectApiError(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(ApiError);
  expect((error as ApiError).code).toBe(code);
  if (message) expect((error as ApiError).message).toMatch(message);
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "cleanroom-jwt-"));
  const nodeKeys = generateP384KeyPair();
  const nodeCertificatePem = await createSelfSignedCertificate(nodeKeys, { commonName: "node" });
  now = Date.parse("2030-01-01T00:00:00Z");
  ledger = openLedger({ dir, signer: createLedgerSigner(nodeKeys.privateKeyPem, nodeCertificatePem), clock: () => now });
  fetches = [];
  documents = new Map();
  duringFetch = undefined;
  key1 ??= await signingKey("k1");
  key2 ??= await signingKey("k2", "ES256");
  await write(Maps.jwtIssuers, ISSUER, { auto_refresh: false });
  await write(Maps.jwtPublicSigningKeys, ISSUER, { keys: [key1.jwk] });
  await write(Maps.userIdentities, OID, { accountType: "microsoft", data: { tenantId: TENANT, identifier: "alice@example.test" } });
});
afterEach(async () => {
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("JwtAuthenticator: tokens of issuers with keys given in the proposal", () => {
  it("authenticates a registered user by oid, with the token's tenant", async () => {
    const identity = await authenticator().authenticate(await token(key1, {}, { expiresIn: 600 }));
    expect(identity).toEqual({
      kind: "user",
      id: OID,
      data: { tenantId: TENANT, identifier: "alice@example.test" },
      authenticatedBy: "jwt",
      tenantId: TENANT,
    });
    expect(fetches).toEqual([]);
  });

  it("checks expiry with 30 s of tolerance, and requires exp", async () => {
    const auth = authenticator();
    const soon = await token(key1, {}, { expiresIn: 60 });
    now += 80_000;
    await expect(auth.authenticate(soon)).resolves.toMatchObject({ id: OID });
    now += 20_000;
    await expectApiError(auth.authenticate(soon), "InvalidAuthenticationInfo", /expired/);
    await expectApiError(auth.authenticate(await token(key1, {})), "InvalidAuthenticationInfo", /'exp'/);
  });

  it("checks the audience only when the issuer lists audiences", async () => {
    const auth = authenticator();
    await expect(auth.authenticate(await token(key1, { aud: "api://anything" }, { expiresIn: 60 }))).resolves.toBeDefined();
    await write(Maps.jwtIssuers, ISSUER, { auto_refresh: false, audiences: ["api://cleanroom", "api://other"] });
    await expect(auth.authenticate(await token(key1, { aud: "api://other" }, { expiresIn: 60 }))).resolves.toBeDefined();
    await expectApiError(auth.authenticate(await token(key1, { aud: "api://anything" }, { expiresIn: 60 })), "InvalidAuthenticationInfo", /audience/);
    await expectApiError(auth.authenticate(await token(key1, {}, { expiresIn: 60 })), "InvalidAuthenticationInfo", /audience/);
  });

  it("refuses a token signed by another key under a known kid", async () => {
    const impostor = await signingKey("k1");
    await expectApiError(authenticator().authenticate(await token(impostor, {}, { expiresIn: 60 })), "InvalidAuthenticationInfo", /signature does not verify/);
  });

  it("refuses unknown issuers, tokens without iss or kid, garbage, and non-asymmetric algorithms", async () => {
    const auth = authenticator();
    await expectApiError(auth.authenticate(await token(key1, {}, { iss: "https://evil.example.test", expiresIn: 60 })), "InvalidAuthenticationInfo", /not trusted/);
    await expectApiError(auth.authenticate(await token(key1, {}, { kid: null, expiresIn: 60 })), "InvalidAuthenticationInfo", /no 'kid'/);
    for (const iss of ["https://nul\u0000.example.test", "https://\udc00.example.test", "http://login.example.test/tenant-a/v2.0", "https://x?y"]) {
      await expectApiError(auth.authenticate(await token(key1, {}, { iss, expiresIn: 60 })), "InvalidAuthenticationInfo", /not trusted/);
    }
    await expectApiError(auth.authenticate("not.a.jwt"), "InvalidAuthenticationInfo", /not a signed JWT/);
    await expectApiError(auth.authenticate("x".repeat(20_000)), "InvalidAuthenticationInfo", /longer than/);
    const unsecured = new UnsecuredJWT({ oid: OID, tid: TENANT }).setIssuer(ISSUER).setExpirationTime("1h").encode();
    await expectApiError(auth.authenticate(unsecured), "InvalidAuthenticationInfo", /algorithm 'none'/);
    const hmac = await new SignJWT({ oid: OID, tid: TENANT })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .setIssuer(ISSUER)
      .setExpirationTime(Math.floor(now / 1000) + 60)
      .sign(new TextEncoder().encode("a shared secret that is long enough"));
    await expectApiError(auth.authenticate(hmac), "InvalidAuthenticationInfo", /algorithm 'HS256'/);
  });

  it("never fetches keys for an issuer whose keys were given inline", async () => {
    await expectApiError(authenticator().authenticate(await token(key2, {}, { expiresIn: 60 })), "InvalidAuthenticationInfo", /no key 'k2'.*not refreshed/);
    expect(fetches).toEqual([]);
  });

  it("requires oid, a registered oid, and the registered tenant", async () => {
    const auth = authenticator();
    await expectApiError(auth.authenticate(await token(key1, { oid: undefined }, { expiresIn: 60 })), "InvalidAuthenticationInfo", /token has no oid claim/);
    await expectApiError(auth.authenticate(await token(key1, { oid: "someone-else" }, { expiresIn: 60 })), "CallerNotAuthorized", /someone-else/);
    await expectApiError(auth.authenticate(await token(key1, { tid: "tenant-b" }, { expiresIn: 60 })), "CallerTenantNotAuthorized", /tenant-b/);
    await expectApiError(auth.authenticate(await token(key1, { tid: undefined }, { expiresIn: 60 })), "CallerTenantNotAuthorized", /absent/);
    await expectApiError(auth.authenticate(await token(key1, { oid: "nul\u0000" }, { expiresIn: 60 })), "CallerNotAuthorized");
    await expectApiError(auth.authenticate(await token(key1, { oid: "\ud800" }, { expiresIn: 60 })), "CallerNotAuthorized");
  });

  it("fails closed on state a replaced constitution could have written", async () => {
    const auth = authenticator();
    await write(Maps.userIdentities, OID, { data: "not an object" });
    await expectApiError(auth.authenticate(await token(key1, {}, { expiresIn: 60 })), "CallerNotAuthorized");
    await write(Maps.jwtPublicSigningKeys, ISSUER, { keys: [{ ...key1.jwk, d: "private" }] });
    await expectApiError(auth.authenticate(await token(key1, {}, { expiresIn: 60 })), "InvalidAuthenticationInfo", /no key 'k1'/);
    await write(Maps.jwtIssuers, ISSUER, { auto_refresh: "yes" });
    await expectApiError(auth.authenticate(await token(key1, {}, { expiresIn: 60 })), "InvalidAuthenticationInfo", /not trusted/);
  });
});

describe("JwtAuthenticator: auto_refresh issuers", () => {
  const discoveryUrl = `${REFRESHING}/.well-known/openid-configuration`;
  const jwksUrl = `${REFRESHING}/discovery/keys`;

  beforeEach(async () => {
    await write(Maps.jwtIssuers, REFRESHING, { auto_refresh: true, ca_cert_bundle: "(pem)" });
    documents.set(discoveryUrl, { issuer: REFRESHING, jwks_uri: jwksUrl });
    documents.set(jwksUrl, { keys: [key1.jwk] });
  });

  const refreshingToken = (key: SigningKey) => token(key, {}, { iss: REFRESHING, expiresIn: 600 });

  it("fetches keys through discovery on first use and stores them in the ledger with the refresh time", async () => {
    const auth = authenticator();
    await expect(auth.authenticate(await refreshingToken(key1))).resolves.toMatchObject({ id: OID, authenticatedBy: "jwt" });
    expect(fetches).toEqual([discoveryUrl, jwksUrl]);
    const listed = listJwtIssuers(ledger).find((issuer) => issuer.issuer === REFRESHING);
    expect(listed).toEqual({ issuer: REFRESHING, autoRefresh: true, keyIds: ["k1"], refreshedAt: new Date(now).toISOString() });
    // Stored keys are used from then on, by this and by any other instance reading the ledger.
    await expect(authenticator().authenticate(await refreshingToken(key1))).resolves.toBeDefined();
    expect(fetches).toHaveLength(2);
  });

  it("refreshes when a token names a new kid, at most once per 30 s per issuer", async () => {
    const auth = authenticator();
    await auth.authenticate(await refreshingToken(key1));
    documents.set(jwksUrl, { keys: [key1.jwk, key2.jwk] });
    now += 10_000;
    await expectApiError(auth.authenticate(await refreshingToken(key2)), "InvalidAuthenticationInfo", /key 'k2' is not known and .*retry in 20 s/);
    expect(fetches).toHaveLength(2);
    now += 21_000;
    await expect(auth.authenticate(await refreshingToken(key2))).resolves.toBeDefined();
    expect(fetches).toHaveLength(4);
    expect(listJwtIssuers(ledger).find((issuer) => issuer.issuer === REFRESHING)?.keyIds).toEqual(["k1", "k2"]);
  });

  it("remembers a successful refresh across restarts (the ledger's refreshedAt)", async () => {
    await authenticator().authenticate(await refreshingToken(key1));
    now += 5_000;
    await expectApiError(authenticator().authenticate(await refreshingToken(key2)), "InvalidAuthenticationInfo", /retry in 25 s/);
  });

  it("shares one fetch among concurrent requests", async () => {
    const auth = authenticator();
    const tokens = await Promise.all(Array.from({ length: 5 }, () => refreshingToken(key1)));
    const results = await Promise.all(tokens.map((t) => auth.authenticate(t)));
    expect(results.every((identity) => identity.id === OID)).toBe(true);
    expect(fetches).toEqual([discoveryUrl, jwksUrl]);
  });

  it("rate-limits failed refreshes too, and says why they failed", async () => {
    const auth = authenticator();
    documents.delete(jwksUrl);
    await expectApiError(auth.authenticate(await refreshingToken(key1)), "InvalidAuthenticationInfo", /could not refresh the keys of issuer .*HTTP 404/);
    documents.set(jwksUrl, { keys: [key1.jwk] });
    await expectApiError(auth.authenticate(await refreshingToken(key1)), "InvalidAuthenticationInfo", /retry in 30 s/);
    expect(fetches).toHaveLength(2);
  });

  it("allows an immediate refresh after the issuer is proposed again", async () => {
    const auth = authenticator();
    documents.delete(jwksUrl);
    await expectApiError(auth.authenticate(await refreshingToken(key1)), "InvalidAuthenticationInfo", /HTTP 404/);
    documents.set(jwksUrl, { keys: [key1.jwk] });
    await write(Maps.jwtIssuers, REFRESHING, { auto_refresh: true, ca_cert_bundle: "(new pem)" });
    await expect(auth.authenticate(await refreshingToken(key1))).resolves.toBeDefined();
  });

  it("refuses discovery documents of another issuer, non-https key URLs and key sets with private keys", async () => {
    const cases: Array<[unknown, unknown, RegExp]> = [
      [{ issuer: "https://other.example.test", jwks_uri: jwksUrl }, { keys: [key1.jwk] }, /names issuer 'https:\/\/other.example.test'/],
      [{ issuer: REFRESHING }, { keys: [key1.jwk] }, /has no jwks_uri/],
      [{ issuer: REFRESHING, jwks_uri: "http://idp.example.test/keys" }, { keys: [key1.jwk] }, /not an https URL/],
      [{ issuer: REFRESHING, jwks_uri: jwksUrl }, { keys: [{ ...key1.jwk, d: "private" }] }, /not a public key \(it has 'd'\)/],
      [{ issuer: REFRESHING, jwks_uri: jwksUrl }, { keys: [{ ...key1.jwk, use: "enc" }] }, /publishes no key usable/],
    ];
    for (const [discovery, jwks, reason] of cases) {
      documents.set(discoveryUrl, discovery);
      documents.set(jwksUrl, jwks);
      await expectApiError(authenticator().authenticate(await refreshingToken(key1)), "InvalidAuthenticationInfo", reason);
      expect(listJwtIssuers(ledger).find((issuer) => issuer.issuer === REFRESHING)?.keyIds).toEqual([]);
    }
  });

  it("discards keys fetched while the issuer's configuration changed", async () => {
    duringFetch = () => {
      duringFetch = undefined;
      ledger.transact((tx) => writeJson(tx, Maps.jwtIssuers, REFRESHING, { auto_refresh: true, ca_cert_bundle: "(another pem)" }));
    };
    await expectApiError(authenticator().authenticate(await refreshingToken(key1)), "InvalidAuthenticationInfo", /changed while its keys were being fetched/);
    expect(ledger.get(Maps.jwtPublicSigningKeys, REFRESHING)).toBeUndefined();
  });

  it("stops showing refreshedAt once a proposal replaces the fetched keys", async () => {
    await authenticator().authenticate(await refreshingToken(key1));
    await write(Maps.jwtIssuers, REFRESHING, { auto_refresh: true });
    await write(Maps.jwtPublicSigningKeys, REFRESHING, undefined);
    expect(listJwtIssuers(ledger).find((issuer) => issuer.issuer === REFRESHING)).toEqual({ issuer: REFRESHING, autoRefresh: true, keyIds: [] });
  });
});
