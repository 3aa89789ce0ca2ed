import { readFileSync } from "node:fs";
import { unwrapWithRsaKey } from "@cleanroom/crypto";
import { appRequest, type AppResponse } from "./app-requests.js";

// A workload that attests with the replayed genuine SEV-SNP test vector, whose bound RSA key's private half is
// published (so services must run with insecureVirtualAttestation to admit it). Shared by the tests that need an
// attested caller: secret release, the issuer's token endpoint, and federation with relying parties.

const VECTOR = new URL("../../packages/attestation/testdata/snp/caci-milan-v3-allowall/", import.meta.url);
export const vectorEvidence = JSON.parse(readFileSync(new URL("evidence.json", VECTOR), "utf8")) as Record<string, unknown>;
/** The RSA public key the vector's report data binds. */
export const runtimeKeyPem = readFileSync(new URL("runtime_data.pem", VECTOR), "utf8");
/** Its private half, published with the vector: what makes the vector replayable, in tests only. */
export const runtimePrivateKey = readFileSync(new URL("runtime_private_key.TEST-ONLY.pem", VECTOR), "utf8");
/** The vector's host data (the all-allowing CCE policy): what a clean-room policy must admit. */
export const ALLOW_ALL_HOST_DATA = "73973b78d70cc68353426de188db5dfc57e5b766e399935fb73a61127ea26d20";

/** The body of an attested request: the vector's evidence and the key its report data must bind. */
export function attestedBody(publicKeyPem = runtimeKeyPem): { attestation: Record<string, unknown>; encrypt: { publicKey: string } } {
  return { attestation: vectorEvidence, encrypt: { publicKey: Buffer.from(publicKeyPem).toString("base64") } };
}

/** The `set_clean_room_policy` action admitting the vector's workload to a contract. */
export function admitVectorWorkload(contractId: string) {
  return {
    name: "set_clean_room_policy",
    args: { contractId, type: "add", claims: { "x-ms-sevsnpvm-hostdata": ALLOW_ALL_HOST_DATA, "x-ms-sevsnpvm-is-debuggable": false } },
  };
}

export interface WorkloadTokenRequest {
  sub: string;
  aud: string;
  lifetime?: number;
}

/** `POST /app/contracts/{id}/oauth/token` as the attested workload; the raw response, for tests of refusals. */
export function requestWorkloadToken(
  service: { url: string; serviceCertificatePem: string },
  contractId: string,
  query: WorkloadTokenRequest | string,
  body: unknown = attestedBody(),
): Promise<AppResponse> {
  const search =
    typeof query === "string"
      ? query
      : new URLSearchParams({ sub: query.sub, aud: query.aud, ...(query.lifetime === undefined ? {} : { lifetime: String(query.lifetime) }) }).toString();
  return appRequest(service, undefined, "POST", `/app/contracts/${contractId}/oauth/token?${search}`, body);
}

/** The JWT in a token response, unwrapped with the vector's private key as the workload inside the TEE would. */
export function unwrapWorkloadToken(response: AppResponse): string {
  if (response.status !== 200) throw new Error(`the token request was refused: ${response.status} ${JSON.stringify(response.body)}`);
  return unwrapWithRsaKey(runtimePrivateKey, Buffer.from((response.body as { value: string }).value, "base64")).toString("utf8");
}

/** Requests a token as the attested workload and unwraps it: the ID token a workload presents to a relying party. */
export async function workloadToken(service: { url: string; serviceCertificatePem: string }, contractId: string, query: WorkloadTokenRequest): Promise<string> {
  return unwrapWorkloadToken(await requestWorkloadToken(service, contractId, query));
}
