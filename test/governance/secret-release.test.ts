// Releasing secrets to attested workloads (reference §2.3, §4.1, §4.2, §5 scenarios 28, 29, 31): a genuine SEV-SNP
// report (the replayable vector whose bound key is published) verified end to end, matched against the contract's
// clean-room policy, and the secret wrapped to the key bound in the report.
import { generateKeyPairSync } from "node:crypto";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent, request } from "node:https";
import { AttestationError, verifySnpEvidence } from "@cleanroom/attestation";
import { unwrapWithRsaKey } from "@cleanroom/crypto";
import { mutate, prng, type Evidence } from "../../packages/attestation/src/evidence-mutations.case.js";
import { EventListSchema } from "@cleanroom/protocol";
import { acceptContract, enact } from "../support/app-fixtures.js";
import { appRequest, errorCode, type AppResponse } from "../support/app-requests.js";
import {
  ALLOW_ALL_HOST_DATA as ALLOW_ALL,
  attestedBody as attested,
  requestWorkloadToken,
  runtimeKeyPem,
  runtimePrivateKey,
  unwrapWorkloadToken,
  vectorEvidence as evidence,
} from "../support/attested-workload.js";
import { startConsortium, type Consortium } from "../support/consortium.js";

const OTHER_HOST = "7ec5120f0f497e22b18e59ed702ed82e2732562245c9a944f54cd41db4f491af";
const CONTRACT = "kms";

let consortium: Consortium;
let strict: Consortium;
let secretId: string;
const m0 = () => consortium.members[0]!;

const release = (target: Consortium, body: unknown, id = secretId): Promise<AppResponse> =>
  appRequest(target.service, undefined, "POST", `/app/contracts/${CONTRACT}/secrets/${id}`, body);
const policy = (type: "add" | "remove", hostData: string) => ({
  name: "set_clean_room_policy",
  args: { contractId: CONTRACT, type, claims: { "x-ms-sevsnpvm-hostdata": hostData, "x-ms-sevsnpvm-is-debuggable": false } },
});

beforeAll(async () => {
  [consortium, strict] = await Promise.all([startConsortium({ service: { insecureVirtualAttestation: true } }), startConsortium()]);
  await Promise.all([acceptContract(consortium, CONTRACT, { purpose: "kms" }), acceptContract(strict, CONTRACT, { purpose: "kms" })]);
  const put = await appRequest(consortium.service, m0(), "PUT", `/app/contracts/${CONTRACT}/secrets/dek`, { value: "data-encryption-key-1" });
  secretId = (put.body as { secretId: string }).secretId;
});
afterAll(async () => {
  await Promise.all([consortium?.close(), strict?.close()]);
});

describe("secret release to attested workloads", () => {
  it("refuses every workload while the contract has no clean-room policy (28)", async () => {
    const response = await release(consortium, attested());
    expect([response.status, errorCode(response)]).toEqual([400, "VerifySnpAttestationFailed"]);
    expect(JSON.stringify(response.body)).toContain("The clean room policy is missing. Please propose a new clean room policy.");
  });

  it("releases the secret wrapped to the attested key once the policy admits the workload's host data (28)", async () => {
    await enact(consortium, [policy("add", ALLOW_ALL)]);
    const response = await release(consortium, attested());
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const { value, attestationMode } = response.body as { value: string; attestationMode: string };
    expect(attestationMode).toBe("replayed-test-vector");
    expect(unwrapWithRsaKey(runtimePrivateKey, Buffer.from(value, "base64")).toString()).toBe("data-encryption-key-1");
  });

  it("issues ID tokens from the consortium's issuer to an admitted workload, for its own contract's subjects only (40)", async () => {
    await enact(consortium, [{ name: "enable_oidc_issuer", args: { issuer_url: "https://issuer.example.com/kms" } }]);
    expect((await appRequest(consortium.service, m0(), "POST", "/app/oidc/generateSigningKey")).status).toBe(200);
    const token = (query: string, body?: unknown) => requestWorkloadToken(consortium.service, CONTRACT, query, body);
    const issued = await token(`sub=${CONTRACT}/reader&aud=api://AzureADTokenExchange&lifetime=99999`);
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    const jwt = unwrapWorkloadToken(issued);
    const jwks = (await appRequest(consortium.service, undefined, "GET", "/app/oidc/keys")).body as JSONWebKeySet;
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(jwks), { issuer: "https://issuer.example.com/kms", audience: "api://AzureADTokenExchange" });
    expect(payload).toMatchObject({ sub: `${CONTRACT}/reader`, "x-ms-sevsnpvm-hostdata": ALLOW_ALL, "cleanroom-attestation-mode": "replayed-test-vector" });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
    for (const query of ["sub=other-contract&aud=x", `sub=${CONTRACT}-evil&aud=x`, "aud=x", `sub=${CONTRACT}`]) {
      const refused = await token(query);
      expect([refused.status, errorCode(refused)], query).toEqual([400, "InvalidInput"]);
    }
    const unbound = await token(`sub=${CONTRACT}&aud=x`, attested(generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString()));
    expect([unbound.status, errorCode(unbound)]).toEqual([400, "ReportDataMismatch"]);
  });

  it("refuses malformed requests with the reference's codes (31)", async () => {
    const cases: Array<[unknown, number, string]> = [
      [{}, 400, "AttestationMissing"],
      [{ attestation: evidence }, 400, "EncryptionMissing"],
      [{ ...attested(), platform: "snp-cvm" }, 400, "UnsupportedPlatform"],
      [{ attestation: { evidence: "AAAA", endorsements: "", uvm_endorsements: "" }, encrypt: attested().encrypt }, 400, "VerifySnpAttestationFailed"],
      [attested(generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "pem" }).toString()), 400, "ReportDataMismatch"],
    ];
    for (const [body, status, code] of cases) {
      const response = await release(consortium, body);
      expect([response.status, errorCode(response)], JSON.stringify(body).slice(0, 80)).toEqual([status, code]);
    }
    const unknown = await release(consortium, attested(), `${m0().id}_missing`);
    expect([unknown.status, errorCode(unknown)]).toEqual([404, "SecretNotFound"]);
  });

  it("refuses a workload whose host data the policy no longer admits (29)", async () => {
    await enact(consortium, [policy("add", OTHER_HOST)]);
    await enact(consortium, [{ name: "set_clean_room_policy", args: { contractId: CONTRACT, type: "remove", claims: { "x-ms-sevsnpvm-hostdata": ALLOW_ALL } } }]);
    const response = await release(consortium, attested());
    expect([response.status, errorCode(response)]).toEqual([400, "VerifySnpAttestationFailed"]);
    expect(JSON.stringify(response.body)).toContain("x-ms-sevsnpvm-hostdata");
  });

  it("records releases and refusals in the contract's audit log", async () => {
    const events = EventListSchema.parse((await appRequest(consortium.service, m0(), "GET", `/app/contracts/${CONTRACT}/events?scope=governance&from_seqno=1`)).body).value;
    const secretEvents = events
      .map((e) => e.data as { type: string; code?: string; attestationMode?: string })
      .filter((d) => d.type.startsWith("contract.secret.") && d.type !== "contract.secret.set");
    expect(secretEvents.map((d) => [d.type, d.code ?? d.attestationMode])).toEqual([
      ["contract.secret.denied", "VerifySnpAttestationFailed"],
      ["contract.secret.released", "replayed-test-vector"],
      ["contract.secret.denied", "VerifySnpAttestationFailed"],
      ["contract.secret.denied", "ReportDataMismatch"],
      ["contract.secret.denied", "SecretNotFound"],
      ["contract.secret.denied", "VerifySnpAttestationFailed"],
    ]);
  });

  it("without the insecure flag, refuses a replay of the published test vector even when the policy admits it", async () => {
    const [first] = strict.members;
    await appRequest(strict.service, first, "PUT", `/app/contracts/${CONTRACT}/secrets/dek`, { value: "v" });
    await enact(strict, [policy("add", ALLOW_ALL)]);
    const response = await release(strict, attested(), `${first!.id}_dek`);
    expect([response.status, errorCode(response)]).toEqual([400, "VerifySnpAttestationFailed"]);
    expect(JSON.stringify(response.body)).toContain("--insecure-virtual-attestation");
  });
});

describe("release endpoint fuzzing", () => {
  // As many as the verifier's own fuzz test (issue 4 item 9); CLEANROOM_FUZZ_ENDPOINT_ROUNDS shortens a local run.
  const ROUNDS = Number(process.env.CLEANROOM_FUZZ_ENDPOINT_ROUNDS ?? 10_000);

  it(`answers ${ROUNDS} mutated evidence documents with a clean 4xx, never a 5xx, releasing only what verifies`, async () => {
    const FUZZ = "fuzzed";
    const [first] = consortium.members;
    await acceptContract(consortium, FUZZ, {});
    await enact(consortium, [{ name: "set_clean_room_policy", args: { contractId: FUZZ, type: "add", claims: { "x-ms-sevsnpvm-hostdata": ALLOW_ALL } } }]);
    const id = ((await appRequest(consortium.service, first, "PUT", `/app/contracts/${FUZZ}/secrets/k`, { value: "v" })).body as { secretId: string }).secretId;
    // One keep-alive connection: the point is the verifier behind the endpoint, not TLS handshakes.
    const agent = new Agent({ keepAlive: true, maxSockets: 4, ca: consortium.service.serviceCertificatePem });
    const post = (body: unknown) =>
      new Promise<number>((resolve, reject) => {
        const payload = JSON.stringify(body);
        const req = request(new URL(`/app/contracts/${FUZZ}/secrets/${id}`, consortium.service.url), { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        req.on("error", reject);
        req.end(payload);
      });
    const random = prng(7_654_321);
    const statuses = new Map<number, number>();
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const mutated = mutate(random, evidence as Evidence);
        let verifies = false;
        try {
          verifySnpEvidence(mutated, { allowedHostData: "unchecked", reportData: { runtimeData: runtimeKeyPem } });
          verifies = true;
        } catch (error) {
          if (!(error instanceof AttestationError)) throw error;
        }
        const status = await post({ attestation: mutated, encrypt: attested().encrypt });
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        expect(status, `round ${round}`).toBe(verifies ? 200 : 400);
      }
    } finally {
      agent.destroy();
    }
    expect(statuses.get(400) ?? 0).toBeGreaterThan(ROUNDS * 0.9);
  }, 600_000); // ~12 ms per round alone on 2 cores; several times that beside other test files
});

describe("consent checks by attested clean rooms (24, 26, 51)", () => {
  it("answers an admitted workload anonymously, and refuses it while the contract has no policy", async () => {
    const ID = "consent-checked";
    const [first] = consortium.members;
    await acceptContract(consortium, ID, {});
    const check = (path: string, body: unknown = { attestation: evidence }) => appRequest(consortium.service, undefined, "POST", `/app/contracts/${ID}${path}`, body);

    const noPolicy = await check("/runtimeoptions/execution/status");
    expect([noPolicy.status, errorCode(noPolicy)]).toEqual([400, "VerifySnpAttestationFailed"]);
    expect(JSON.stringify(noPolicy.body)).toContain("The clean room policy is missing. Please propose a new clean room policy.");
    await enact(consortium, [{ name: "set_clean_room_policy", args: { contractId: ID, type: "add", claims: { "x-ms-sevsnpvm-hostdata": ALLOW_ALL } } }]);

    expect((await check("/runtimeoptions/execution/status")).body).toEqual({ status: "enabled" });
    const missing = await check("/runtimeoptions/execution/status", {});
    expect([missing.status, errorCode(missing)]).toEqual([400, "AttestationMissing"]);
    const bound = await check("/runtimeoptions/execution/status", attested());
    expect(bound.body).toEqual({ status: "enabled" });
    await appRequest(consortium.service, first, "POST", `/app/contracts/${ID}/runtimeoptions/execution/disable`);
    expect((await check("/runtimeoptions/execution/status")).body).toMatchObject({ status: "disabled", reason: { code: "ContractDisabled" } });
    await appRequest(consortium.service, first, "POST", `/app/contracts/${ID}/runtimeoptions/execution/enable`);

    // A user document of the contract: the clean room checks consent per document too (51).
    const approvers = consortium.members.map((m) => ({ approverId: m.id, approverIdType: "member" }));
    const version = (await appRequest(consortium.service, first, "PUT", `/app/contracts/${ID}/userdocuments/dataset`, { data: {}, approvers })).transactionId;
    expect((await check("/userdocuments/dataset/runtimeoptions/execution/status")).body).toMatchObject({ status: "disabled", reason: { code: "UserDocumentNotAccepted" } });
    for (const m of consortium.members) await appRequest(consortium.service, m, "POST", `/app/contracts/${ID}/userdocuments/dataset/approval`, { version, action: "accept" });
    expect((await check("/userdocuments/dataset/runtimeoptions/execution/status")).body).toEqual({ status: "enabled" });
    await appRequest(consortium.service, first, "POST", `/app/contracts/${ID}/userdocuments/dataset/runtimeoptions/execution/disable`);
    expect((await check("/userdocuments/dataset/runtimeoptions/execution/status")).body).toMatchObject({ status: "disabled", reason: { code: "UserDocumentRuntimeOptionDisabled" } });
  });
});
