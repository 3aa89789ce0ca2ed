// Secrets set by members and users (reference §2.3, §4.2, §5 scenarios 32–33): stored sealed in the ledger under the
// service's secrets key. Their release to attested workloads comes with attestation (issue 4).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretListSchema } from "@cleanroom/protocol";
import { openSecret } from "../../packages/governance/src/governance/secrets.js";
import { appRequest, errorCode } from "../support/app-requests.js";
import { makeIdentity, startConsortium, type Consortium } from "../support/consortium.js";

let consortium: Consortium;
const CONTRACT = "with-secrets";
const m0 = () => consortium.members[0]!;
const m1 = () => consortium.members[1]!;
const m2 = () => consortium.members[2]!;
let user: Awaited<ReturnType<typeof makeIdentity>>;

beforeAll(async () => {
  consortium = await startConsortium();
  user = await makeIdentity("user");
  const proposal = (await m0().client.createProposal({ actions: [{ name: "set_user", args: { cert: user.certificatePem, user_data: { tenantId: "t" } } }] })).value;
  for (const m of [m0(), m1(), m2()]) await m.client.vote(proposal.proposalId, m.id, true);
  expect((await appRequest(consortium.service, m0(), "PUT", `/app/contracts/${CONTRACT}`, { data: {} })).status).toBe(200);
});
afterAll(() => consortium.close());

const key = () => ({ key: consortium.service.identity.secretsKey, keyId: consortium.service.identity.secretsKeyId });
const put = (who: Parameters<typeof appRequest>[1], name: string, body: unknown, contract = CONTRACT) =>
  appRequest(consortium.service, who, "PUT", `/app/contracts/${contract}/secrets/${name}`, body);

describe("secrets", () => {
  it("prefixes the id with the caller's id, so parties never overwrite each other's secrets (33)", async () => {
    const byMember = await put(m0(), "dek", { value: "member secret" });
    expect(byMember.status).toBe(200);
    expect(byMember.body).toEqual({ secretId: `${m0().id}_dek` });
    const byUser = await put(user, "dek", { value: "user secret" });
    expect(byUser.body).toEqual({ secretId: `${user.id}_dek` });
    expect(openSecret(consortium.service.ledger, key(), CONTRACT, `${m0().id}_dek`)).toBe("member secret");
    expect(openSecret(consortium.service.ledger, key(), CONTRACT, `${user.id}_dek`)).toBe("user secret");
    // Writing again replaces the caller's own secret.
    await put(m0(), "dek", { value: "rotated" });
    expect(openSecret(consortium.service.ledger, key(), CONTRACT, `${m0().id}_dek`)).toBe("rotated");
    const list = SecretListSchema.parse((await appRequest(consortium.service, m1(), "GET", `/app/contracts/${CONTRACT}/secrets`)).body);
    expect(list.value.map((s) => s.secretId).sort()).toEqual([`${m0().id}_dek`, `${user.id}_dek`].sort());
  });

  it("accepts 25600 characters and refuses 25601 with the limit and the length (32)", async () => {
    const exact = "x".repeat(25_600);
    expect((await put(m1(), "big", { value: exact })).status).toBe(200);
    expect(openSecret(consortium.service.ledger, key(), CONTRACT, `${m1().id}_big`)).toBe(exact);
    const tooLarge = await put(m1(), "bigger", { value: `${exact}x` });
    expect([tooLarge.status, errorCode(tooLarge)]).toEqual([400, "ValueTooLarge"]);
    expect((tooLarge.body as { error: { message: string } }).error.message).toBe("The secret value is 25601 characters long; the maximum is 25600.");
  });

  it("refuses a missing value and an unknown contract", async () => {
    for (const body of [{}, { value: "" }]) {
      const response = await put(m0(), "empty", body);
      expect([response.status, errorCode(response)]).toEqual([400, "ValueMissing"]);
    }
    const unknown = await put(m0(), "s", { value: "v" }, "no-such-contract");
    expect([unknown.status, errorCode(unknown)]).toEqual([404, "ContractNotFound"]);
  });

  it("never writes a value in clear to the ledger", async () => {
    const marker = "plaintext-marker-7d1f0c";
    await put(m2(), "marker", { value: marker });
    await consortium.service.ledger.whenDurable();
    const dir = join(consortium.dataDir, "ledger");
    for (const file of readdirSync(dir)) {
      expect(readFileSync(join(dir, file)).includes(Buffer.from(marker)), file).toBe(false);
    }
    expect(openSecret(consortium.service.ledger, key(), CONTRACT, `${m2().id}_marker`)).toBe(marker);
  });
});
