import { generateKeyPairSync } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { expect } from "vitest";
import { acceptContract, enact } from "./app-fixtures.js";
import { appRequest } from "./app-requests.js";
import { admitVectorWorkload, workloadToken, type WorkloadTokenRequest } from "./attested-workload.js";
import { startConsortium, type Consortium } from "./consortium.js";

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

export async function startFederationIssuer(contractId: string): Promise<FederationIssuer> {
  let clockSkewMs = 0;
  const consortium = await startConsortium({ service: { insecureVirtualAttestation: true, clock: () => Date.now() + clockSkewMs } });
  const issuer = `${consortium.service.url}/app/oidc`;
  try {
    await acceptContract(consortium, contractId);
    await enact(consortium, [admitVectorWorkload(contractId)]);
    await enact(consortium, [{ name: "enable_oidc_issuer", args: { issuer_url: issuer } }]);
    const generated = await appRequest(consortium.service, consortium.members[0], "POST", "/app/oidc/generateSigningKey");
    expect(generated.status, JSON.stringify(generated.body)).toBe(200);
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
