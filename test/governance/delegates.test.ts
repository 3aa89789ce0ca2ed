// Clean-room policies and delegate policies with two attested workloads (reference §2.2, §2.3, §4.1, §4.3, §5
// scenarios 28–31, 41): S1 runs what the contract's policy admits (host data H1), S2 something else (H2). Both run
// on a virtual SEV-SNP platform the service was told to trust, so their reports go through the whole verifier. S1
// can delegate one resource at a time to H2; S2 can never widen its own access. Every refusal after the request's
// shape is audited, and is the only thing the refused request writes.
import { createPublicKey } from "node:crypto";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent, request } from "node:https";
import { AttestationError, verifySnpEvidence, type VirtualPlatform } from "@cleanroom/attestation";
import { DelegateClaimsSchema, DelegateListSchema } from "@cleanroom/protocol";
import { acceptContract, enact, expectAuditedRefusal, governanceEvents, lastTransactionId, NO_TIMED_SIGNATURES, outcome } from "../support/app-fixtures.js";
import { appRequest, errorCode, type AppResponse } from "../support/app-requests.js";
import { startConsortium, type Consortium } from "../support/consortium.js";
import { base64, rsaPublicKeyPem, virtualWorkloads, type Workload } from "../support/virtual-workloads.js";

const CONTRACT = "delegating";
const HOSTDATA = "x-ms-sevsnpvm-hostdata";
const NOT_ADMITTED = "Attestation claims do not match the contract policy, or the delegated policies";

let consortium: Consortium;
let platform: VirtualPlatform;
let s1: Workload;
let s2: Workload;
let secretId: string;
const m0 = () => consortium.members[0]!;

const post = (path: string, body: unknown): Promise<AppResponse> => appRequest(consortium.service, undefined, "POST", `/app/contracts/${CONTRACT}${path}`, body);
const release = (workload: Workload, id = secretId) => post(`/secrets/${id}`, workload.release());
const delegatePath = (type: string, id: string) => `/app/contracts/${CONTRACT}/cleanroompolicy/delegates/${type}/${encodeURIComponent(id)}`;
const changeDelegate = (body: unknown, type = "secrets", id = secretId) => appRequest(consortium.service, undefined, "PUT", delegatePath(type, id), body);
const delegateClaims = async (type = "secrets", id = secretId) =>
  DelegateClaimsSchema.parse((await appRequest(consortium.service, m0(), "POST", delegatePath(type, id))).body).claims;
const delegates = async () => DelegateListSchema.parse((await appRequest(consortium.service, m0(), "GET", `/app/contracts/${CONTRACT}/cleanroompolicy/delegates`)).body).value;
const released = (response: AppResponse, workload: Workload) => {
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  const body = response.body as { value: string; attestationMode: string };
  return { value: workload.unwrap(body.value).toString("utf8"), attestationMode: body.attestationMode };
};

beforeAll(async () => {
  const virtual = await virtualWorkloads("s1", "s2");
  [s1, s2] = virtual.workloads as [Workload, Workload];
  platform = virtual.platform;
  consortium = await startConsortium({ service: { ...virtual.trusting, ...NO_TIMED_SIGNATURES } });
  await acceptContract(consortium, CONTRACT);
  const put = await appRequest(consortium.service, m0(), "PUT", `/app/contracts/${CONTRACT}/secrets/dek`, { value: "data-encryption-key" });
  secretId = (put.body as { secretId: string }).secretId;
});
afterAll(() => consortium?.close());

describe("secret release to two workloads (28, 29, 31)", () => {
  it("refuses every workload while the contract has no clean-room policy (28)", async () => {
    const refusal = await expectAuditedRefusal(consortium, CONTRACT, () => release(s1), "400 VerifySnpAttestationFailed", "contract.secret.denied");
    expect(refusal.data).toMatchObject({ reason: "The clean room policy is missing. Please propose a new clean room policy." });
  });

  it("releases to S1 once the policy admits H1, marked virtual-platform in the response and the audit log (28)", async () => {
    await enact(consortium, [{ name: "set_clean_room_policy", args: { contractId: CONTRACT, type: "add", claims: { [HOSTDATA]: s1.hostData, "x-ms-sevsnpvm-is-debuggable": false } } }]);
    expect(released(await release(s1), s1)).toEqual({ value: "data-encryption-key", attestationMode: "virtual-platform" });
    expect((await governanceEvents(consortium, CONTRACT)).at(-1)?.data).toMatchObject({
      type: "contract.secret.released",
      secretId,
      hostData: s1.hostData,
      attestationMode: "virtual-platform",
      admittedBy: "contract",
    });
  });

  it("refuses S2, whose host data the policy does not admit (29)", async () => {
    const refusal = await expectAuditedRefusal(consortium, CONTRACT, () => release(s2), "400 VerifySnpAttestationFailed", "contract.secret.denied");
    expect(refusal.data).toMatchObject({ secretId, reason: `${NOT_ADMITTED}: ${HOSTDATA} is "${s2.hostData}".` });
  });

  it("refuses malformed and unbound requests with the reference's codes (31)", async () => {
    const shape: Array<[unknown, string]> = [
      [{}, "400 AttestationMissing"],
      [{ attestation: s1.evidence() }, "400 EncryptionMissing"],
      [{ ...s1.release(), platform: "snp-cvm" }, "400 UnsupportedPlatform"],
    ];
    for (const [body, expected] of shape) {
      const before = await lastTransactionId(consortium);
      expect(outcome(await post(`/secrets/${secretId}`, body)), JSON.stringify(body).slice(0, 60)).toBe(expected);
      expect(await lastTransactionId(consortium), "shape errors are not audited").toBe(before);
    }
    const garbage = { attestation: { evidence: "AAAA", endorsements: "" }, encrypt: s1.release().encrypt };
    await expectAuditedRefusal(consortium, CONTRACT, () => post(`/secrets/${secretId}`, garbage), "400 VerifySnpAttestationFailed", "contract.secret.denied");
    // A genuine report of S1, bound to S1's key, presented with another key: nothing may be wrapped to that key.
    const rebound = { attestation: s1.evidence(), encrypt: { publicKey: base64(rsaPublicKeyPem()) } };
    await expectAuditedRefusal(consortium, CONTRACT, () => post(`/secrets/${secretId}`, rebound), "400 ReportDataMismatch", "contract.secret.denied");
  });
});

describe("delegate policies (30)", () => {
  it("S1 delegates the secret to H2 (values de-duplicated); S2 can then fetch it; members list and show the delegate", async () => {
    const change = await changeDelegate(s1.signed({ type: "add", claims: { [HOSTDATA]: [s2.hostData] } }));
    expect(change.status, JSON.stringify(change.body)).toBe(200);
    expect(change.body).toEqual({ claims: { [HOSTDATA]: [s2.hostData] } });
    const again = await changeDelegate(s1.signed({ type: "add", claims: { [HOSTDATA]: s2.hostData } }));
    expect(again.body).toEqual({ claims: { [HOSTDATA]: [s2.hostData] } });
    expect(await delegateClaims()).toEqual({ [HOSTDATA]: [s2.hostData] });
    expect(await delegates()).toEqual([{ delegateType: "secrets", delegateId: secretId }]);
    expect((await governanceEvents(consortium, CONTRACT)).at(-1)?.data).toMatchObject({
      type: "contract.delegate.changed",
      actor: { kind: "cleanroom", id: s1.hostData, hostData: s1.hostData, attestationMode: "virtual-platform" },
      delegateType: "secrets",
      delegateId: secretId,
      change: "add",
      claims: { [HOSTDATA]: [s2.hostData] },
    });

    expect(released(await release(s2), s2).value).toBe("data-encryption-key");
    expect((await governanceEvents(consortium, CONTRACT)).at(-1)?.data).toMatchObject({ type: "contract.secret.released", hostData: s2.hostData, admittedBy: "delegate" });
    // The delegate is for this secret only.
    const other = (await appRequest(consortium.service, m0(), "PUT", `/app/contracts/${CONTRACT}/secrets/other`, { value: "v" })).body as { secretId: string };
    await expectAuditedRefusal(consortium, CONTRACT, () => release(s2, other.secretId), "400 VerifySnpAttestationFailed", "contract.secret.denied");
  });

  it("S2 cannot change any delegate: only workloads the contract's policy admits may", async () => {
    const before = await delegateClaims();
    const refusal = await expectAuditedRefusal(
      consortium,
      CONTRACT,
      () => changeDelegate(s2.signed({ type: "add", claims: { [HOSTDATA]: unknownHostData() } })),
      "400 VerifySnpAttestationFailed",
      "contract.delegate.denied",
    );
    expect(refusal.data).toMatchObject({ delegateType: "secrets", delegateId: secretId });
    expect((refusal.data as { reason: string }).reason).toContain("do not match the contract policy");
    expect(await delegateClaims()).toEqual(before);
  });

  it("refuses a change bound to another key, tampered, or signed with another key; each is audited and changes nothing", async () => {
    const before = await delegateClaims();
    const payload = { type: "remove", claims: { [HOSTDATA]: s2.hostData } };
    const cases: Array<[string, unknown, string]> = [
      ["report bound to another key", { ...s1.signed(payload), attestation: s1.evidence(rsaPublicKeyPem()) }, "400 ReportDataMismatch"],
      ["data changed after signing", { ...s1.signed(payload), data: base64(JSON.stringify({ ...payload, type: "add" })) }, "400 SignatureMismatch"],
      ["signature of other data", { ...s1.signed(payload), sign: s1.signed({ type: "add", claims: {} }).sign }, "400 SignatureMismatch"],
      ["signed by a key the report does not bind", withForeignSignature(s1.signed(payload), s2), "400 SignatureMismatch"],
    ];
    for (const [what, body, expected] of cases) {
      const refusal = await expectAuditedRefusal(consortium, CONTRACT, () => changeDelegate(body), expected, "contract.delegate.denied");
      expect(refusal.data, what).toMatchObject({ delegateType: "secrets" });
    }
    expect((await governanceEvents(consortium, CONTRACT)).at(-1)?.data).toMatchObject({ reason: expect.stringContaining("not the key the attestation binds") });
    expect(await delegateClaims()).toEqual(before);
  });

  it("validates claims like set_clean_room_policy and refuses removing an absent value", async () => {
    const cases: Array<[unknown, string, string]> = [
      [{ type: "add", claims: { "x-ms-sevsnpvm-reportid": "00" } }, "400 InvalidInput", "is not a snp-caci claim"],
      [{ type: "add", claims: { [HOSTDATA]: "ABC" } }, "400 InvalidInput", "64 lowercase hex"],
      [{ type: "add", claims: {} }, "400 InvalidInput", "at least one claim"],
      [{ type: "add", claims: { [HOSTDATA]: [s2.hostData, s2.hostData] } }, "400 InvalidInput", "has duplicates"],
      [{ type: "replace", claims: { [HOSTDATA]: s2.hostData } }, "400 InvalidInput", "type"],
      [{ type: "add", policyType: "snp-cvm", claims: { pcr0: "00" } }, "400 InvalidInput", "policyType"],
      [{ type: "remove", claims: { [HOSTDATA]: unknownHostData() } }, "400 ClaimValueNotFound", "has no value"],
      [{ type: "remove", claims: { "x-ms-sevsnpvm-is-debuggable": false } }, "400 ClaimValueNotFound", "has no value"],
    ];
    for (const [payload, expected, why] of cases) {
      const refusal = await expectAuditedRefusal(consortium, CONTRACT, () => changeDelegate(s1.signed(payload)), expected, "contract.delegate.denied");
      expect((refusal.data as { reason: string }).reason, JSON.stringify(payload)).toContain(why);
    }
    expect(await delegateClaims()).toEqual({ [HOSTDATA]: [s2.hostData] });
  });

  it("S1 removes the delegate: its claims are {} and it is no longer listed; S2 is refused, S1 still served", async () => {
    const removal = await changeDelegate(s1.signed({ type: "remove", claims: { [HOSTDATA]: s2.hostData } }));
    expect([removal.status, removal.body]).toEqual([200, { claims: {} }]);
    expect(await delegateClaims()).toEqual({});
    expect(await delegates()).toEqual([]);
    await expectAuditedRefusal(consortium, CONTRACT, () => release(s2), "400 VerifySnpAttestationFailed", "contract.secret.denied");
    expect(released(await release(s1), s1).value).toBe("data-encryption-key");
  });
});

describe("ID tokens for a delegated subject (41)", () => {
  const SUBJECT = `${CONTRACT}/spark-executor`;
  const token = (workload: Workload, sub: string) =>
    post(`/oauth/token?sub=${encodeURIComponent(sub)}&aud=api://AzureADTokenExchange`, workload.release());

  it("gives S2 tokens for the delegated subject only, until S1 removes the delegate", async () => {
    await enact(consortium, [{ name: "enable_oidc_issuer", args: { issuer_url: "https://issuer.example.com/delegating" } }]);
    expect((await appRequest(consortium.service, m0(), "POST", "/app/oidc/generateSigningKey")).status).toBe(200);
    await expectAuditedRefusal(consortium, CONTRACT, () => token(s2, SUBJECT), "400 VerifySnpAttestationFailed", "contract.token.denied");

    const added = await changeDelegate(s1.signed({ type: "add", claims: { [HOSTDATA]: s2.hostData } }), "oauth-federation-subjects", SUBJECT);
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(await delegates()).toEqual([{ delegateType: "oauth-federation-subjects", delegateId: SUBJECT }]);
    expect(await delegateClaims("oauth-federation-subjects", SUBJECT)).toEqual({ [HOSTDATA]: [s2.hostData] });

    const issued = released(await token(s2, SUBJECT), s2);
    expect(issued.attestationMode).toBe("virtual-platform");
    const jwks = (await appRequest(consortium.service, undefined, "GET", "/app/oidc/keys")).body as JSONWebKeySet;
    const { payload } = await jwtVerify(issued.value, createLocalJWKSet(jwks), { issuer: "https://issuer.example.com/delegating", audience: "api://AzureADTokenExchange" });
    expect(payload).toMatchObject({ sub: SUBJECT, "x-ms-sevsnpvm-hostdata": s2.hostData, "cleanroom-attestation-mode": "virtual-platform" });
    expect((await governanceEvents(consortium, CONTRACT)).at(-1)?.data).toMatchObject({ type: "contract.token.issued", sub: SUBJECT, hostData: s2.hostData, admittedBy: "delegate" });
    // Only that subject: the contract's own subject and another name stay S1's.
    for (const sub of [CONTRACT, `${CONTRACT}/other`]) {
      await expectAuditedRefusal(consortium, CONTRACT, () => token(s2, sub), "400 VerifySnpAttestationFailed", "contract.token.denied");
    }
    expect((await token(s1, `${CONTRACT}/other`)).status).toBe(200);

    expect((await changeDelegate(s1.signed({ type: "remove", claims: { [HOSTDATA]: s2.hostData } }), "oauth-federation-subjects", SUBJECT)).status).toBe(200);
    await expectAuditedRefusal(consortium, CONTRACT, () => token(s2, SUBJECT), "400 VerifySnpAttestationFailed", "contract.token.denied");
    expect((await token(s1, SUBJECT)).status).toBe(200);
  });

  it("refuses delegates the service would never consult", async () => {
    for (const [type, id] of [
      ["oauth-federation-subjects", "another-contract/x"],
      ["events", "reader"],
      ["ca", "endorsed-cert"],
      ["podpolicies", "admin"],
      ["secrets", "a b"],
    ]) {
      const show = await appRequest(consortium.service, m0(), "POST", delegatePath(type!, id!));
      expect([show.status, errorCode(show)], `${type}/${id}`).toEqual([400, "InvalidDelegateType"]);
      const before = await lastTransactionId(consortium);
      const change = await changeDelegate(s1.signed({ type: "add", claims: { [HOSTDATA]: s2.hostData } }), type, id);
      expect([change.status, errorCode(change)], `${type}/${id}`).toEqual([400, "InvalidDelegateType"]);
      expect(await lastTransactionId(consortium)).toBe(before);
    }
  });
});

describe("signed delegate change fuzzing", () => {
  const ROUNDS = Number(process.env.CLEANROOM_FUZZ_ENDPOINT_ROUNDS ?? 2000) / 4;

  it(`answers ${ROUNDS} mutated signed requests with a clean 4xx, never a 5xx, and changes the delegate only when the request is intact`, async () => {
    const FUZZ_SECRET = `${m0().id}_fuzzed`;
    const intact = s1.signed({ type: "add", claims: { [HOSTDATA]: s2.hostData } });
    const s1Key = createPublicKey(s1.publicKeyPem);
    const oracle: FuzzOracle = {
      signingKeyIntact(publicKeyBase64) {
        try {
          return createPublicKey(Buffer.from(publicKeyBase64, "base64").toString("utf8")).equals(s1Key);
        } catch {
          return false;
        }
      },
      evidenceVerifies(evidence) {
        try {
          verifySnpEvidence(evidence, { allowedHostData: "unchecked", reportData: { runtimeData: s1.publicKeyPem }, virtualRoots: [platform.rootSpkiSha256] });
          return true;
        } catch (error) {
          if (!(error instanceof AttestationError)) throw error;
          return false;
        }
      },
    };
    const agent = new Agent({ keepAlive: true, maxSockets: 4, ca: consortium.service.serviceCertificatePem });
    const put = (body: unknown) =>
      new Promise<number>((resolve, reject) => {
        const payload = JSON.stringify(body);
        const req = request(
          new URL(delegatePath("secrets", FUZZ_SECRET), consortium.service.url),
          { method: "PUT", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", reject);
        req.end(payload);
      });
    let seed = 1_234_567;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const statuses = new Map<number, number>();
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const [mutated, isIntact] = mutateSigned(intact, random, oracle);
        const status = await put(mutated);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        expect(status, `round ${round}: ${JSON.stringify(mutated).slice(0, 200)}`).toBe(isIntact ? 200 : 400);
      }
    } finally {
      agent.destroy();
    }
    expect(statuses.get(400) ?? 0).toBeGreaterThan(ROUNDS * 0.8);
    expect(await delegateClaims("secrets", FUZZ_SECRET)).toEqual({ [HOSTDATA]: [s2.hostData] });
  });
});

/** A 64-hex host data nobody runs. */
function unknownHostData(): string {
  return "ab".repeat(32);
}

/** The request with `data` re-signed by `signer`, whose key the report does not bind. */
function withForeignSignature<T extends { data: string; sign: { publicKey: string; signature: string } }>(body: T, signer: Workload): T {
  return { ...body, sign: { publicKey: base64(signer.publicKeyPem), signature: signer.key.sign(Buffer.from(body.data, "base64")).toString("base64") } };
}

type SignedBody = ReturnType<Workload["signed"]>;

/** What decides whether a mutated key or report is still the genuine one: a PEM can change and parse the same. */
interface FuzzOracle {
  signingKeyIntact(publicKeyBase64: string): boolean;
  evidenceVerifies(evidence: unknown): boolean;
}

/** One random change to a signed request; says whether the request is still valid. */
function mutateSigned(body: SignedBody, random: () => number, oracle: FuzzOracle): [unknown, boolean] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const flip = (b64: string) => {
    const bytes = Buffer.from(b64, "base64");
    const index = Math.floor(random() * bytes.length);
    bytes[index]! ^= 1 << Math.floor(random() * 8);
    return bytes.toString("base64");
  };
  const junk = pick<unknown>([null, 0, -1, true, "", "%%%", "A", [], {}, "x".repeat(5000), { evidence: "AAAA" }]);
  switch (Math.floor(random() * 8)) {
    case 0:
      return [{ ...body, data: flip(body.data) }, false];
    case 1:
      return [{ ...body, sign: { ...body.sign, signature: flip(body.sign.signature) } }, false];
    case 2: {
      const publicKey = flip(body.sign.publicKey);
      return [{ ...body, sign: { ...body.sign, publicKey } }, oracle.signingKeyIntact(publicKey)];
    }
    case 3:
      return [{ ...body, encrypt: { publicKey: flip(body.encrypt.publicKey) } }, false];
    case 4: {
      const genuine = body.attestation as { evidence: string; endorsements: string };
      const attestation = { ...genuine, evidence: flip(genuine.evidence) };
      return [{ ...body, attestation }, oracle.evidenceVerifies(attestation)];
    }
    case 5:
      return [{ ...body, [pick(["attestation", "encrypt", "sign", "data", "platform"])]: junk }, false];
    case 6:
      return [{ ...body, sign: { ...body.sign, [pick(["signature", "publicKey"])]: junk } }, false];
    default:
      return [body, true];
  }
}
