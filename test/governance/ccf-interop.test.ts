// Wire compatibility with CCF's own tooling from the `ccf` PyPI package: governance requests signed by
// `ccf_cose_sign1` are accepted, and receipts from the service verify with `ccf.receipt`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProposalInfoSchema, StateDigestResponseSchema } from "@cleanroom/protocol";
import { parseJson } from "@cleanroom/governance-client";
import { startConsortium, type Consortium, type TestIdentity } from "../support/consortium.js";
import { runPythonTool, verifyReceiptsWithCcf } from "../support/python.js";

let consortium: Consortium;
let work: string;

beforeAll(async () => {
  consortium = await startConsortium({ members: ["m0", "m1"], activate: false });
  work = mkdtempSync(join(tmpdir(), "cleanroom-ccf-"));
});
afterAll(async () => {
  await consortium.close();
  rmSync(work, { recursive: true, force: true });
});

/** Signs with CCF's ccf_cose_sign1 exactly as a CCF operator would. */
function ccfSign(member: TestIdentity, type: string, content: string, proposalId?: string): Buffer {
  const files = { content: join(work, `${type}-${Date.now()}.json`), cert: join(work, `${member.name}_cert.pem`), key: join(work, `${member.name}_privk.pem`) };
  writeFileSync(files.content, content);
  writeFileSync(files.cert, member.certificatePem);
  writeFileSync(files.key, member.keys.privateKeyPem);
  return runPythonTool("ccf_cose_sign1", [
    "--content", files.content,
    "--signing-cert", files.cert,
    "--signing-key", files.key,
    "--ccf-gov-msg-type", type,
    "--ccf-gov-msg-created_at", new Date().toISOString(),
    ...(proposalId ? ["--ccf-gov-msg-proposal_id", proposalId] : []),
  ]);
}

const ballot = (accept: boolean) => JSON.stringify({ ballot: `export function vote (proposal, proposerId) { return ${accept} }` });

describe("requests signed by CCF's ccf_cose_sign1", () => {
  it("activate members, create, vote on and withdraw proposals", async () => {
    const [m0, m1] = consortium.members as [TestIdentity, TestIdentity];
    for (const member of [m0, m1]) {
      const update = await member.client.postCose(`/gov/members/state-digests/${member.id}:update`, ccfSign(member, "state_digest", ""));
      const { stateDigest } = StateDigestResponseSchema.parse(parseJson(update));
      await member.client.postCose(`/gov/members/state-digests/${member.id}:ack`, ccfSign(member, "ack", JSON.stringify({ stateDigest })));
      expect((await member.client.member(member.id)).status).toBe("Active");
    }

    const proposal = JSON.stringify({ actions: [{ name: "set_member_data", args: { member_id: m1.id, member_data: { identifier: "m1-ccf" } } }] });
    const created = ProposalInfoSchema.parse(parseJson(await m0.client.postCose("/gov/members/proposals:create", ccfSign(m0, "proposal", proposal))));
    expect(created).toMatchObject({ proposalState: "Open", proposerId: m0.id });
    const id = created.proposalId;
    await m0.client.postCose(`/gov/members/proposals/${id}/ballots/${m0.id}:submit`, ccfSign(m0, "ballot", ballot(true), id));
    const accepted = ProposalInfoSchema.parse(parseJson(await m1.client.postCose(`/gov/members/proposals/${id}/ballots/${m1.id}:submit`, ccfSign(m1, "ballot", ballot(true), id))));
    expect(accepted.proposalState).toBe("Accepted");
    expect((await m0.client.member(m1.id)).memberData.identifier).toBe("m1-ccf");

    const other = ProposalInfoSchema.parse(parseJson(await m0.client.postCose("/gov/members/proposals:create", ccfSign(m0, "proposal", proposal.replace("m1-ccf", "again")))));
    await m0.client.postCose(`/gov/members/proposals/${other.proposalId}:withdraw`, ccfSign(m0, "withdrawal", "", other.proposalId));
    expect((await m0.client.proposal(other.proposalId)).proposalState).toBe("Withdrawn");
  });
});

describe("receipts from the service", () => {
  it("verify with CCF's ccf.receipt functions, and a tampered one does not", async () => {
    const [m0] = consortium.members as [TestIdentity];
    const { value, transactionId } = await m0.client.createProposal({
      actions: [{ name: "set_member_data", args: { member_id: m0.id, member_data: { identifier: "m0" } } }],
    });
    expect(value.proposalState).toBe("Open");
    const receipt = await m0.client.receipt(transactionId!);
    const serviceCert = join(work, "service_cert.pem");
    writeFileSync(serviceCert, consortium.service.serviceCertificatePem);
    const good = join(work, "receipt.json");
    writeFileSync(good, JSON.stringify(receipt));
    expect(verifyReceiptsWithCcf(serviceCert, [good])).toMatchObject({ status: 0 });

    if (receipt.is_signature_transaction) throw new Error("expected a receipt for an ordinary transaction");
    const tampered = join(work, "tampered.json");
    const claims = receipt.leaf_components.claims_digest;
    writeFileSync(tampered, JSON.stringify({ ...receipt, leaf_components: { ...receipt.leaf_components, claims_digest: `1${claims.slice(1)}` } }));
    const result = verifyReceiptsWithCcf(serviceCert, [tampered]);
    expect(result.output).toMatch(/FAIL/);
    expect(result.status).toBe(1);
  });
});
