import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Tag } from "cbor-x";
import { cborEncode, decodeCoseSign1, parseCertificate, signGovernanceMessage, verifyCoseSign1, type GovMessageType } from "@cleanroom/crypto";
import { HttpsTransport } from "@cleanroom/governance-client";
import { makeIdentity, startConsortium, type Consortium, type TestIdentity } from "../support/consortium.js";
import { expectServiceError } from "../support/expect-error.js";

const P384_ORDER = BigInt("0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973");
let consortium: Consortium;
let m0: TestIdentity;
let m1: TestIdentity;
let openProposal: string;
let closedProposal: string;

beforeAll(async () => {
  consortium = await startConsortium({ service: { bodyLimitBytes: 64 * 1024 } });
  [m0, m1] = consortium.members as [TestIdentity, TestIdentity];
  openProposal = (await m0.client.createProposal(setMemberData(m0.id, "open"))).value.proposalId;
  closedProposal = (await m0.client.createProposal(setMemberData(m0.id, "closed"))).value.proposalId;
  await m0.client.withdraw(closedProposal);
});
afterAll(() => consortium.close());

function setMemberData(memberId: string, identifier: string) {
  return { actions: [{ name: "set_member_data", args: { member_id: memberId, member_data: { identifier } } }] };
}

function sign(identity: { keys: { privateKeyPem: string }; certificatePem: string }, type: GovMessageType, payload: string, extra: { proposalId?: string; createdAt?: number } = {}) {
  return signGovernanceMessage({ privateKey: identity.keys.privateKeyPem, certificatePem: identity.certificatePem }, { type, payload, ...extra });
}

/** Everything a bad request must not change: members, and every proposal with its ballots. */
async function snapshot() {
  const proposals = await m0.client.proposals();
  return { members: await m0.client.members(), proposals: proposals.map(({ proposalId, proposalState, votes, ballotCount }) => ({ proposalId, proposalState, votes, ballotCount })) };
}

const create = "/gov/members/proposals:create";
const ballotPath = () => `/gov/members/proposals/${openProposal}/ballots/${m1.id}:submit`;
const ballot = JSON.stringify({ ballot: "export function vote (proposal, proposerId) { return true }" });

describe("bad governance input gets a clear 4xx, changes nothing, and the service keeps serving", () => {
  const cases: Array<[string, () => Promise<unknown>, number, string]> = [
    ["malformed CBOR", () => m0.client.postCose(create, Buffer.from("this is not cbor")), 400, "InvalidCoseSign1"],
    ["a CBOR value that is not a COSE_Sign1", () => m0.client.postCose(create, cborEncode({ actions: [] })), 400, "InvalidCoseSign1"],
    ["an empty body", () => m0.client.postCose(create, Buffer.alloc(0)), 400, "InvalidCoseSign1"],
    [
      "a flipped signature bit",
      () => {
        const bytes = sign(m0, "proposal", JSON.stringify(setMemberData(m0.id, "x")));
        bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
        return m0.client.postCose(create, bytes);
      },
      401,
      "InvalidSignature",
    ],
    [
      "a payload altered after signing",
      () => {
        const bytes = sign(m0, "proposal", JSON.stringify(setMemberData(m0.id, "aaaa")));
        const at = bytes.indexOf(Buffer.from("aaaa"));
        bytes[at] = "b".charCodeAt(0);
        return m0.client.postCose(create, bytes);
      },
      401,
      "InvalidSignature",
    ],
    [
      "a signer that is not a member",
      async () => m0.client.postCose(create, sign(await makeIdentity("stranger"), "proposal", JSON.stringify(setMemberData(m0.id, "x")))),
      401,
      "UnknownSigner",
    ],
    ["a ballot message sent to create", () => m0.client.postCose(create, sign(m0, "ballot", ballot, { proposalId: openProposal })), 400, "MessageTypeMismatch"],
    ["a ballot signed for another proposal", () => m1.client.postCose(ballotPath(), sign(m1, "ballot", ballot, { proposalId: closedProposal })), 400, "ProposalIdMismatch"],
    ["a ballot for another member's path", () => m0.client.postCose(ballotPath(), sign(m0, "ballot", ballot, { proposalId: openProposal })), 400, "MemberIdMismatch"],
    ["a request created too long ago", () => m0.client.postCose(create, sign(m0, "proposal", JSON.stringify(setMemberData(m0.id, "x")), { createdAt: Math.floor(Date.now() / 1000) - 3600 })), 400, "CreatedAtOutOfRange"],
    ["a request from the future", () => m0.client.postCose(create, sign(m0, "proposal", JSON.stringify(setMemberData(m0.id, "x")), { createdAt: Math.floor(Date.now() / 1000) + 3600 })), 400, "CreatedAtOutOfRange"],
    ["a proposal payload that is not JSON", () => m0.client.postCose(create, sign(m0, "proposal", "{actions")), 400, "ProposalFailedToValidate"],
    ["a proposal with no actions", () => m0.client.createProposal({ actions: [] }), 400, "ProposalFailedToValidate"],
    ["an unknown action", () => m0.client.createProposal({ actions: [{ name: "launch_rockets", args: {} }] }), 400, "ProposalFailedToValidate"],
    ["a ballot that does not compile", () => m1.client.submitBallot(openProposal, m1.id, "export function vote( {"), 400, "InvalidBallot"],
    ["a ballot that does not return a boolean", () => m1.client.submitBallot(openProposal, m1.id, "export function vote () { return 'yes' }"), 400, "InvalidBallot"],
    ["a ballot that loops", () => m1.client.submitBallot(openProposal, m1.id, "export function vote () { for (;;) {} }"), 400, "InvalidBallot"],
    ["a ballot payload without a ballot", () => m1.client.postCose(ballotPath(), sign(m1, "ballot", "{}", { proposalId: openProposal })), 400, "InvalidBallot"],
    ["a ballot on a closed proposal", () => m1.client.vote(closedProposal, m1.id, true), 409, "ProposalNotOpen"],
    ["a withdrawal of a closed proposal", () => m0.client.withdraw(closedProposal), 409, "ProposalNotOpen"],
    ["a withdrawal by a member who did not propose", () => m1.client.withdraw(openProposal), 403, "NotProposer"],
    ["a ballot on an unknown proposal", () => m1.client.vote("ab".repeat(32), m1.id, true), 404, "ProposalNotFound"],
    ["an oversized body", () => m0.client.postCose(create, Buffer.alloc(65 * 1024)), 413, "RequestTooLarge"],
    ["a malformed proposal id in the path", () => m0.client.proposal("not-an-id"), 400, "InvalidParameter"],
  ];

  it.each(cases)("%s", async (_name, call, status, code) => {
    const before = await snapshot();
    await expectServiceError(call(), status, code);
    expect(await snapshot()).toEqual(before);
  });

  it("a duplicate ballot is refused and the first one stands", async () => {
    const { value } = await m0.client.createProposal(setMemberData(m1.id, "dup"));
    await m1.client.vote(value.proposalId, m1.id, false);
    const before = await snapshot();
    await expectServiceError(m1.client.vote(value.proposalId, m1.id, true), 409, "VoteAlreadyExists");
    expect(await snapshot()).toEqual(before);
    expect((await m1.client.proposal(value.proposalId)).votes).toEqual([{ memberId: m1.id, vote: false }]);
  });

  it("a replayed request is refused", async () => {
    const bytes = sign(m0, "proposal", JSON.stringify(setMemberData(m0.id, "replay")));
    await m0.client.postCose(create, bytes);
    const before = await snapshot();
    await expectServiceError(m0.client.postCose(create, bytes), 409, "RequestReplayed");
    expect(await snapshot()).toEqual(before);
  });

  it("a replay with the malleated signature (r, n - s) is refused too", async () => {
    const bytes = sign(m0, "proposal", JSON.stringify(setMemberData(m0.id, "malleable")));
    await m0.client.postCose(create, bytes);
    const cose = decodeCoseSign1(bytes);
    const s = BigInt(`0x${Buffer.from(cose.signature.subarray(48)).toString("hex")}`);
    const flipped = Buffer.from((P384_ORDER - s).toString(16).padStart(96, "0"), "hex");
    const signature = Buffer.concat([cose.signature.subarray(0, 48), flipped]);
    const malleated = cborEncode(new Tag([Buffer.from(cose.protectedBytes), new Map(), Buffer.from(cose.payload), signature], 18));
    expect(verifyCoseSign1({ ...cose, signature }, parseCertificate(m0.certificatePem).publicKey)).toBe(true);
    await expectServiceError(m0.client.postCose(create, malleated), 409, "RequestReplayed");
  });

  it("a JSON body on a signed endpoint is refused as the wrong content type", async () => {
    const transport = new HttpsTransport(consortium.service.url, { serviceCertificatePem: consortium.service.serviceCertificatePem });
    try {
      const response = await transport.send("POST", create, { contentType: "application/json", data: Buffer.from(JSON.stringify(setMemberData(m0.id, "x"))) });
      expect(response.status).toBe(415);
      expect(JSON.parse(response.body.toString())).toEqual({ error: { code: "UnsupportedContentType", message: expect.any(String) } });
      const unknown = await transport.send("GET", "/gov/nothing-here");
      expect(unknown.status).toBe(404);
      expect(JSON.parse(unknown.body.toString()).error.code).toBe("ResourceNotFound");
    } finally {
      transport.close();
    }
  });

  it("reads need a registered client certificate", async () => {
    await expectServiceError(consortium.anonymous.members(), 401, "InvalidAuthenticationInfo");
    const stranger = consortium.clientFor(await makeIdentity("stranger"));
    await expectServiceError(stranger.proposals(), 401, "InvalidAuthenticationInfo");
  });

  it("still serves valid requests after all of the above", async () => {
    const { value } = await m0.client.createProposal(setMemberData(m0.id, "m0"));
    for (const member of consortium.members) await member.client.vote(value.proposalId, member.id, true);
    expect((await m0.client.proposal(value.proposalId)).proposalState).toBe("Accepted");
  });
});
