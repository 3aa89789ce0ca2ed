import { generateKeyPairSync, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { createServer, request, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify, SignJWT, type JSONWebKeySet } from "jose";
import { createSelfSignedCertificate, generateP384KeyPair } from "@cleanroom/crypto";

// A MOCK of Microsoft Entra ID's token endpoint, for tests only: Entra ID cannot run on this machine (nor be reached
// from it). It stands in for exactly one exchange, the one a workload makes with a federated identity credential
// (client credentials grant with a `client_assertion`), and validates the assertion as Entra ID documents it does
// for federated credentials: the issuer and subject must match a credential configured on the application, the
// issuer's discovery document and keys are fetched from the issuer URL, and the signature, audience and lifetime
// are checked. What it does not do: tenants, consent, roles, managed identities' own endpoints, token caching rules,
// the real token format. Its access tokens are signed by a key of its own and prove nothing to anyone else.

/** A federated identity credential, as configured on an app registration or user-assigned managed identity. */
export interface FederatedCredential {
  issuer: string;
  subject: string;
  /** Entra ID's default and recommended value is `api://AzureADTokenExchange`. */
  audiences: string[];
}

export interface MockEntraApplication {
  clientId: string;
  federatedCredentials: FederatedCredential[];
}

export interface MockEntraIdOptions {
  tenantId: string;
  applications: MockEntraApplication[];
  /** CA certificates to trust when fetching an issuer's discovery document and keys. */
  issuerCaPems: string[];
}

export interface MockEntraId {
  /** `https://127.0.0.1:<port>`: the `authorityHost` a credential is pointed at. */
  authorityHost: string;
  /** The mock's self-signed TLS certificate, for the client to trust. */
  certificatePem: string;
  /** Verifies an access token the mock issued and returns its claims. */
  verifyAccessToken(token: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

class EntraError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly code: number,
    description: string,
  ) {
    super(`AADSTS${code}: ${description}`);
  }
}

function getJson(url: string, ca: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: HTTP ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text));
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

export async function startMockEntraId(options: MockEntraIdOptions): Promise<MockEntraId> {
  const tlsKeys = generateP384KeyPair();
  const certificatePem = await createSelfSignedCertificate(tlsKeys, { commonName: "MOCK Microsoft Entra ID (tests only)", ipAddresses: ["127.0.0.1"] });
  const signing = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const tenant = options.tenantId;
  const server: Server = createServer({ key: tlsKeys.privateKeyPem, cert: certificatePem });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const authorityHost = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokenIssuer = `${authorityHost}/${tenant}/v2.0`;

  /** The checks Entra ID makes on a federated credential's assertion; returns the application it authenticates. */
  async function validateAssertion(clientId: string, assertion: string): Promise<MockEntraApplication> {
    const application = options.applications.find((app) => app.clientId === clientId);
    if (!application) throw new EntraError(400, "unauthorized_client", 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`);
    let claims: ReturnType<typeof decodeJwt>;
    try {
      claims = decodeJwt(assertion);
    } catch {
      throw new EntraError(401, "invalid_client", 50027, "JWT token is invalid or malformed.");
    }
    const noMatch = () =>
      new EntraError(
        400,
        "invalid_request",
        70021,
        `No matching federated identity record found for presented assertion. Assertion Issuer: '${String(claims.iss)}'. Assertion Subject: '${String(claims.sub)}'. Assertion Audience: '${String(claims.aud)}'.`,
      );
    // The issuer picks the credentials (and so the keys) to check against; the subject must match one exactly.
    const candidates = application.federatedCredentials.filter((credential) => credential.issuer === claims.iss);
    if (candidates.length === 0) throw noMatch();
    const issuer = candidates[0]!.issuer;
    const discovery = (await getJson(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, options.issuerCaPems)) as { issuer?: string; jwks_uri?: string };
    if (discovery.issuer !== issuer || !discovery.jwks_uri) {
      throw new EntraError(401, "invalid_client", 700211, `No matching federated identity record found for presented assertion issuer '${issuer}'.`);
    }
    const keys = createLocalJWKSet((await getJson(discovery.jwks_uri, options.issuerCaPems)) as JSONWebKeySet);
    try {
      await jwtVerify(assertion, keys, { issuer, audience: [...new Set(candidates.flatMap((c) => c.audiences))], algorithms: ["RS256"], requiredClaims: ["sub", "exp"] });
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new EntraError(401, "invalid_client", 700024, "Client assertion is not within its valid time range.");
      if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === "aud") {
        throw new EntraError(400, "invalid_request", 700212, `No matching federated identity record found for presented assertion audience '${String(claims.aud)}'.`);
      }
      if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey) {
        throw new EntraError(401, "invalid_client", 700027, "Client assertion failed signature validation.");
      }
      throw new EntraError(401, "invalid_client", 50027, `Invalid JWT token: ${(error as Error).message}`);
    }
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const matching = candidates.find((credential) => credential.subject === claims.sub && credential.audiences.some((aud) => audiences.includes(aud)));
    if (!matching) throw noMatch();
    return application;
  }

  async function token(form: URLSearchParams): Promise<Record<string, unknown>> {
    if (form.get("grant_type") !== "client_credentials") throw new EntraError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.");
    if (form.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
      throw new EntraError(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    const application = await validateAssertion(form.get("client_id") ?? "", form.get("client_assertion") ?? "");
    const scope = (form.get("scope") ?? "").split(" ").find((s) => s.endsWith("/.default"));
    if (!scope) throw new EntraError(400, "invalid_scope", 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.");
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT({ tid: tenant, appid: application.clientId, oid: randomUUID() })
      .setProtectedHeader({ alg: "RS256", typ: "JWT" })
      .setIssuer(tokenIssuer)
      .setAudience(scope.slice(0, -"/.default".length))
      .setSubject(application.clientId)
      .setIssuedAt(now)
      .setExpirationTime(now + 3599)
      .sign(signing.privateKey);
    return { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: accessToken };
  }

  server.on("request", (req, res) => {
    const send = (status: number, body: unknown) => {
      const payload = JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(payload) });
      res.end(payload);
    };
    const path = new URL(req.url ?? "/", authorityHost).pathname;
    if (req.method === "GET" && path === `/${tenant}/v2.0/.well-known/openid-configuration`) {
      // What MSAL reads to find the token endpoint (instance discovery is disabled by the client).
      send(200, {
        issuer: tokenIssuer,
        authorization_endpoint: `${authorityHost}/${tenant}/oauth2/v2.0/authorize`,
        token_endpoint: `${authorityHost}/${tenant}/oauth2/v2.0/token`,
        jwks_uri: `${authorityHost}/${tenant}/discovery/v2.0/keys`,
        end_session_endpoint: `${authorityHost}/${tenant}/oauth2/v2.0/logout`,
        response_types_supported: ["code", "id_token", "token"],
        subject_types_supported: ["pairwise"],
        id_token_signing_alg_values_supported: ["RS256"],
      });
      return;
    }
    if (req.method === "POST" && path === `/${tenant}/oauth2/v2.0/token`) {
      readForm(req)
        .then(token)
        .then(
          (body) => send(200, body),
          (error: unknown) => {
            const entra = error instanceof EntraError ? error : new EntraError(500, "server_error", 90000, String(error));
            send(entra.status, { error: entra.error, error_description: entra.message, error_codes: [entra.code], timestamp: new Date().toISOString(), trace_id: randomUUID(), correlation_id: randomUUID() });
          },
        );
      return;
    }
    send(404, { error: "not_found", error_description: `The MOCK Entra ID serves no ${req.method} ${path}` });
  });

  return {
    authorityHost,
    certificatePem,
    async verifyAccessToken(accessToken) {
      const { payload } = await jwtVerify(accessToken, signing.publicKey, { issuer: tokenIssuer });
      return payload;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
