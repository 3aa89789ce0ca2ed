import { generateKeyPairSync } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { expect } from "vitest";
import { acceptContract, enact } from "./app-fixtures.js";
import { appRequest } from "./app-requests.js";
import { admitVectorWorkload, workloadToken, type WorkloadTokenRequest } from "./attested-workload.js";
import { startConsortium, type Consortium } from "./consortium.js";
import { putMinioPolicy, startMinio, type MinioServer } from "./minio.js";

// The issuer side of workload identity federation tests (test/federation): a governance service whose OIDC issuer
// is enabled with the service's own address as issuer URL, and a contract whose policy admits the attested test
// workload, so that relying parties on this machine can fetch discovery and keys from the URL in the tokens.

export interface FederationIssuer {
  consortium: Consortium;
  /** `https://127.0.0.1:<port>/app/oidc`: `iss` of the tokens, and where the service serves discovery and keys. */
  issuer: string;
  /** A token for the admitted workload of the contract, unwrapped as the workload would. */
  token(query: WorkloadTokenRequest): Promise<string>;
  /** A token the service issued two hours ago with a one-minute lifetime: genuinely signed, and expired. */
  expiredToken(query: Omit<WorkloadTokenRequest, "lifetime">): Promise<string>;
  close(): Promise<void>;
}

/**
 * Enables the consortium's OIDC issuer at the service's own address, so that relying parties on this machine can
 * fetch its discovery document and keys, and generates its signing key. Returns the issuer URL.
 */
export async function enableServiceIssuer(consortium: Consortium): Promise<string> {
  const issuer = `${consortium.service.url}/app/oidc`;
  await enact(consortium, [{ name: "enable_oidc_issuer", args: { issuer_url: issuer } }]);
  const generated = await appRequest(consortium.service, consortium.members[0], "POST", "/app/oidc/generateSigningKey");
  expect(generated.status, JSON.stringify(generated.body)).toBe(200);
  return issuer;
}

export async function startFederationIssuer(contractId: string): Promise<FederationIssuer> {
  let clockSkewMs = 0;
  const consortium = await startConsortium({ service: { insecureVirtualAttestation: true, clock: () => Date.now() + clockSkewMs } });
  let issuer: string;
  try {
    await acceptContract(consortium, contractId);
    await enact(consortium, [admitVectorWorkload(contractId)]);
    issuer = await enableServiceIssuer(consortium);
  } catch (error) {
    await consortium.close();
    throw error;
  }
  const token = (query: WorkloadTokenRequest) => workloadToken(consortium.service, contractId, query);
  return {
    consortium,
    issuer,
    token,
    async expiredToken(query) {
      // Only the token request sees the past clock: governance requests are signed with the real time.
      clockSkewMs = -2 * 3600_000;
      try {
        return await token({ ...query, lifetime: 60 });
      } finally {
        clockSkewMs = 0;
      }
    },
    close: () => consortium.close(),
  };
}

/** The same header (kid included) and claims as `genuine`, signed by a fresh RSA key: only the signature is wrong. */
export async function forgeLike(genuine: string): Promise<string> {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return new SignJWT(decodeJwt(genuine)).setProtectedHeader(decodeProtectedHeader(genuine) as { alg: string; kid: string }).sign(privateKey);
}

/**
 * MinIO trusting the consortium's issuer for `audience` (its OpenID client id), with `policy` (an IAM policy
 * document) as the role policy named `policyName`. MinIO reads the discovery document and the JWKS when it starts,
 * over TLS it verifies against the service's certificate.
 */
export async function startMinioTrusting(federation: Pick<FederationIssuer, "issuer" | "consortium">, audience: string, policyName: string, policy: unknown): Promise<MinioServer> {
  const minio = await startMinio({
    env: {
      MINIO_IDENTITY_OPENID_CONFIG_URL: `${federation.issuer}/.well-known/openid-configuration`,
      MINIO_IDENTITY_OPENID_CLIENT_ID: audience,
      MINIO_IDENTITY_OPENID_ROLE_POLICY: policyName,
    },
    trustedCaPems: [federation.consortium.service.serviceCertificatePem],
  });
  await putMinioPolicy(minio, policyName, policy);
  return minio;
}
