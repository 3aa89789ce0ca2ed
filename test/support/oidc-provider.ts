import { generateKeyPairSync, randomBytes, type JsonWebKey } from "node:crypto";
import { createServer, request, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { createSelfSignedCertificate, generateP384KeyPair } from "@cleanroom/crypto";
import Provider, { type Adapter, type AdapterPayload, type Configuration } from "oidc-provider";

/** A client of the test provider: each stands for one user, whose oid/tid every token it obtains carries. */
export interface OidcTestClient {
  clientId: string;
  /** Claims added to its access tokens; omitted claims are left out of the token. */
  oid?: string;
  tid?: string;
  /** Further claims its access tokens carry, e.g. preferred_username, upn, email, ver (what invitations match). */
  claims?: Record<string, string>;
  /** Access token lifetime (default 600 s). */
  accessTokenTtlSeconds?: number;
}

export interface OidcProviderOptions {
  clients: OidcTestClient[];
  /** The resource (and so `aud`) tokens are issued for when the request names none. */
  defaultAudience?: string;
}

/** A real OpenID provider (`oidc-provider`) serving HTTPS on 127.0.0.1, issuing JWT access tokens by client_credentials. */
export interface TestOidcProvider {
  /** `https://127.0.0.1:<port>`: the `iss` of its tokens and the base of its discovery document. */
  issuer: string;
  /** Its self-signed TLS certificate (with an IP SAN 127.0.0.1): the CA bundle to trust it with. */
  certificatePem: string;
  defaultAudience: string;
  /** The kid its tokens are currently signed with. */
  keyId(): string;
  /** An access token for the client, by client_credentials at the token endpoint. */
  token(clientId: string, options?: { resource?: string }): Promise<string>;
  /** Its public key set, found as a relying party would: discovery document, then jwks_uri. */
  jwks(): Promise<{ keys: JsonWebKey[] }>;
  /** Restarts the provider on the same address with a new signing key (and kid). */
  rotateKeys(): Promise<void>;
  stop(): Promise<void>;
}

interface HttpsResult {
  status: number;
  body: string;
}

function httpsRequest(url: string, ca: string, method: "GET" | "POST", form?: Record<string, string>): Promise<HttpsResult> {
  const data = form ? new URLSearchParams(form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca,
        agent: false,
        timeout: 10_000,
        headers: data ? { "content-type": "application/x-www-form-urlencoded", "content-length": String(Buffer.byteLength(data)) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on("error", reject);
    req.end(data);
  });
}

/**
 * In-memory storage for the provider. Its built-in one does the same but warns on every start; JWT access tokens by
 * client_credentials barely use storage anyway.
 */
function memoryAdapter(store: Map<string, AdapterPayload>): (model: string) => Adapter {
  return (model) => {
    const key = (id: string) => `${model}:${id}`;
    const findBy = (field: "userCode" | "uid", value: string) =>
      Promise.resolve([...store.entries()].find(([id, payload]) => id.startsWith(`${model}:`) && payload[field] === value)?.[1]);
    return {
      upsert: (id, payload) => Promise.resolve(void store.set(key(id), payload)),
      find: (id) => Promise.resolve(store.get(key(id))),
      findByUserCode: (userCode) => findBy("userCode", userCode),
      findByUid: (uid) => findBy("uid", uid),
      consume: (id) => {
        const payload = store.get(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
        return Promise.resolve();
      },
      destroy: (id) => Promise.resolve(void store.delete(key(id))),
      revokeByGrantId: (grantId) => {
        for (const [id, payload] of store) if (payload.grantId === grantId) store.delete(id);
        return Promise.resolve();
      },
    };
  };
}

function newSigningKey(): JsonWebKey & { kid: string } {
  const jwk = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  return { ...jwk, kid: `test-${randomBytes(6).toString("hex")}`, alg: "RS256", use: "sig" };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

/**
 * Starts a real OpenID provider for tests. Tokens are JWT access tokens (resource indicators with
 * `accessTokenFormat: "jwt"`) signed RS256, carrying the client's `oid`/`tid` and `claims` through
 * `extraTokenClaims`. Call `stop()` in the test's afterAll.
 */
export async function startOidcProvider(options: OidcProviderOptions): Promise<TestOidcProvider> {
  const tlsKeys = generateP384KeyPair();
  const certificatePem = await createSelfSignedCertificate(tlsKeys, { commonName: "Test OpenID provider", ipAddresses: ["127.0.0.1"] });
  const defaultAudience = options.defaultAudience ?? "urn:cleanroom:governance";
  const clients = new Map(options.clients.map((client) => [client.clientId, { ...client, secret: randomBytes(24).toString("hex") }]));
  const ttlOf = (clientId: string | undefined) => (clientId ? clients.get(clientId)?.accessTokenTtlSeconds : undefined) ?? 600;

  let server: Server | undefined;
  let port = 0;
  let issuer = "";
  let signingKey = newSigningKey();

  const storage = new Map<string, AdapterPayload>();
  const configuration = (): Configuration => ({
    adapter: memoryAdapter(storage),
    clients: [...clients.values()].map((client) => ({
      client_id: client.clientId,
      client_secret: client.secret,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_post",
    })),
    jwks: { keys: [signingKey] },
    ttl: { ClientCredentials: (_ctx, _token, client) => ttlOf(client.clientId) },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => defaultAudience,
        getResourceServerInfo: (_ctx, resource, client) => ({
          scope: "",
          audience: resource,
          accessTokenFormat: "jwt",
          accessTokenTTL: ttlOf(client.clientId),
          jwt: { sign: { alg: "RS256" } },
        }),
      },
    },
    extraTokenClaims: (_ctx, token) => {
      const client = clients.get(token.clientId ?? "");
      return {
        ...client?.claims,
        ...(client?.oid !== undefined ? { oid: client.oid } : {}),
        ...(client?.tid !== undefined ? { tid: client.tid } : {}),
      };
    },
  });

  const start = async () => {
    const next = createServer({ key: tlsKeys.privateKeyPem, cert: certificatePem });
    port = await listen(next, port);
    issuer = `https://127.0.0.1:${port}`;
    const provider = new Provider(issuer, configuration());
    const handle = provider.callback();
    next.on("request", (req, res) => void handle(req, res));
    server = next;
  };
  await start();

  const json = async (url: string): Promise<Record<string, unknown>> => {
    const response = await httpsRequest(url, certificatePem, "GET");
    if (response.status !== 200) throw new Error(`GET ${url}: HTTP ${response.status} ${response.body}`);
    return JSON.parse(response.body) as Record<string, unknown>;
  };

  return {
    get issuer() {
      return issuer;
    },
    certificatePem,
    defaultAudience,
    keyId: () => signingKey.kid,
    async token(clientId, tokenOptions = {}) {
      const client = clients.get(clientId);
      if (!client) throw new Error(`No test client ${clientId}.`);
      const response = await httpsRequest(`${issuer}/token`, certificatePem, "POST", {
        grant_type: "client_credentials",
        client_id: clientId,
        client_secret: client.secret,
        ...(tokenOptions.resource ? { resource: tokenOptions.resource } : {}),
      });
      if (response.status !== 200) throw new Error(`Token request for ${clientId}: HTTP ${response.status} ${response.body}`);
      const body = JSON.parse(response.body) as { access_token?: unknown };
      if (typeof body.access_token !== "string") throw new Error(`Token response for ${clientId} has no access_token.`);
      return body.access_token;
    },
    async jwks() {
      const discovery = await json(`${issuer}/.well-known/openid-configuration`);
      if (typeof discovery.jwks_uri !== "string") throw new Error("The discovery document has no jwks_uri.");
      return (await json(discovery.jwks_uri)) as { keys: JsonWebKey[] };
    },
    async rotateKeys() {
      if (server) await close(server);
      server = undefined;
      signingKey = newSigningKey();
      await start();
    },
    async stop() {
      if (server) await close(server);
      server = undefined;
    },
  };
}
