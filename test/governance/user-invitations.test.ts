import { generateKeyPairSync, randomUUID } from "node:crypto";
import { ServiceError } from "@cleanroom/governance-client";
import { InvitationListSchema, InvitationSchema, UserIdentitySchema, type Invitation, type ProposalAction, type ProposalInfo } from "@cleanroom/protocol";
import { exportJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRequest, type AppResponse, type RequestIdentity } from "../support/app-requests.js";
import { lastTransactionId, outcome } from "../support/app-fixtures.js";
import { startConsortium, type Consortium, type TestIdentity } from "../support/consortium.js";
import { startOidcProvider, type TestOidcProvider } from "../support/oidc-provider.js";

// Reference scenario 5 (upstream-governance.md §5, §2.8, §3.6), end to end: the members invite a user by the claims
// of its token; a real OpenID provider over HTTPS issues the tokens; the invitee accepts with its token (its oid is
// not registered yet); a set_user_identity proposal naming the invitation registers exactly the user who accepted
// it and finalizes the invitation.

const TENANT = "tenant-t";
const ALICE = { oid: "oid-alice", tid: TENANT, claims: { preferred_username: "a@x", email: "alice@x" } };
const BOB = { oid: "oid-bob", tid: TENANT, claims: { preferred_username: "b@x", email: "bob@x" } };

let consortium: Consortium;
let idp: TestOidcProvider;
let m0: TestIdentity;

beforeAll(async () => {
  idp = await startOidcProvider({
    clients: [
      { clientId: "alice", ...ALICE },
      { clientId: "alice-without-username", oid: ALICE.oid, tid: TENANT },
      { clientId: "alice-other-tenant", ...ALICE, tid: "tenant-elsewhere" },
      { clientId: "alice-without-oid", tid: TENANT, claims: ALICE.claims },
      { clientId: "alice-without-tid", oid: ALICE.oid, claims: ALICE.claims },
      { clientId: "mallory", oid: "oid-mallory", tid: TENANT, claims: { preferred_username: "m@x" } },
      { clientId: "bob", ...BOB },
    ],
  });
  // No signature transactions on a timer: refused requests are checked to leave the last transaction id unchanged.
  consortium = await startConsortium({ service: { signatureIntervalMs: 1_000_000_000, signatureEveryTx: 1_000_000 } });
  m0 = consortium.members[0]!;
  await enact({ name: "set_jwt_issuer", args: { issuer: idp.issuer, auto_refresh: true, ca_cert_bundle: idp.certificatePem } });
});
afterAll(async () => {
  await consortium?.close();
  await idp?.stop();
});

/** Proposes the actions as m0 and has every member accept; returns the proposal id. */
async function enact(...actions: ProposalAction[]): Promise<string> {
  const { value } = await m0.client.createProposal({ actions });
  let state = value.proposalState;
  for (const member of consortium.members) {
    if (state !== "Open") break;
    state = (await member.client.vote(value.proposalId, member.id, true)).value.proposalState;
  }
  expect(state, JSON.stringify(actions)).toBe("Accepted");
  return value.proposalId;
}

/** A proposal the constitution's validate must refuse, with a message matching `reason`. */
async function refusedProposal(action: ProposalAction, reason: RegExp): Promise<void> {
  const error = await m0.client.createProposal({ actions: [action] }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `${action.name} ${JSON.stringify(action.args)}`).toBeInstanceOf(ServiceError);
  expect((error as ServiceError).code).toBe("ProposalFailedToValidate");
  expect((error as ServiceError).message).toMatch(reason);
}

const invite = (invitationId: string, claims: Record<string, string | string[]>, type: "add" | "remove" = "add"): ProposalAction => ({
  name: "set_user_invitation_by_jwt_claims",
  args: { invitationId, type, claims },
});

const member = (): RequestIdentity => m0;
const as = async (clientId: string): Promise<RequestIdentity> => ({ token: await idp.token(clientId) });
const accept = async (who: RequestIdentity | undefined, invitationId: string) => appRequest(consortium.service, who, "POST", `/app/users/invitations/${invitationId}/accept`);

async function invitation(invitationId: string): Promise<Invitation> {
  const response = await appRequest(consortium.service, member(), "GET", `/app/users/invitations/${invitationId}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return InvitationSchema.parse(response.body);
}

function expectError(response: AppResponse, expected: string, message?: RegExp): void {
  expect(outcome(response), JSON.stringify(response.body)).toBe(expected);
  if (message) expect((response.body as { error: { message: string } }).error.message).toMatch(message);
}

describe("scenario 5: an invitation by JWT claims, accepted by the invitee and finalized by set_user_identity", () => {
  const INVITATION = "inv-alice";
  let acceptedAt: string;

  it("creates the invitation by proposal; members list it as Open, an unregistered token cannot read it", async () => {
    await enact(invite(INVITATION, { preferred_username: "a@x", tid: TENANT }));
    const list = await appRequest(consortium.service, member(), "GET", "/app/users/invitations");
    expect(list.status).toBe(200);
    expect(InvitationListSchema.parse(list.body).value).toEqual([
      { invitationId: INVITATION, accountType: "microsoft", claims: { preferred_username: ["a@x"], tid: [TENANT] }, status: "Open" },
    ]);
    // Improvement on the reference: reading invitations needs a registered caller.
    expectError(await appRequest(consortium.service, await as("alice"), "GET", "/app/users/invitations"), "403 CallerNotAuthorized");
    expectError(await appRequest(consortium.service, undefined, "GET", `/app/users/invitations/${INVITATION}`), "401 InvalidAuthenticationInfo");
    expectError(await appRequest(consortium.service, member(), "GET", "/app/users/invitations/inv-nobody"), "404 InvitationNotFound");
  });

  it("refuses tokens that miss a claim or carry another value, and every other refusal, writing nothing", async () => {
    // The first token of the issuer makes the service fetch its keys (a write): do that before the baseline.
    expectError(await accept(await as("mallory"), "inv-nobody"), "404 InvitationNotFound");
    const before = await lastTransactionId(consortium);

    expectError(await accept(await as("alice-without-username"), INVITATION), "403 TokenClaimMissing", /no 'preferred_username' claim/);
    expectError(await accept(await as("mallory"), INVITATION), "403 TokenClaimMismatch", /'preferred_username' claim "m@x" is not one of the values/);
    expectError(await accept(await as("alice-other-tenant"), INVITATION), "403 TokenClaimMismatch", /'tid' claim "tenant-elsewhere"/);
    expectError(await accept(await as("alice-without-oid"), INVITATION), "404 OidClaimMissing");
    expectError(await accept(await as("alice-without-tid"), INVITATION), "403 TokenClaimMissing", /'tid'/);
    expectError(await accept(await as("alice"), "inv-nobody"), "404 InvitationNotFound");
    expectError(await accept(await as("alice"), "-bad"), "400 InvalidParameter");
    // Only the invitee's token: a member's certificate is not an invitee, and no credentials is no invitee either.
    expectError(await accept(member(), INVITATION), "401 InvalidAuthenticationInfo", /does not identify an invitee/);
    expectError(await accept(undefined, INVITATION), "401 InvalidAuthenticationInfo", /Bearer/);
    expectError(await accept({ token: "garbage" }, INVITATION), "401 InvalidAuthenticationInfo", /not a signed JWT/);

    expect(await lastTransactionId(consortium)).toBe(before);
    expect((await invitation(INVITATION)).status).toBe("Open");
  });

  it("accepts with a token carrying every claim: Accepted with userInfo {userId: oid, tenantId: tid}", async () => {
    const response = await accept(await as("alice"), INVITATION);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    acceptedAt = response.transactionId!;
    expect(acceptedAt).toMatch(/^\d+\.\d+$/);
    const expected = {
      invitationId: INVITATION,
      accountType: "microsoft",
      claims: { preferred_username: ["a@x"], tid: [TENANT] },
      status: "Accepted",
      userInfo: { userId: ALICE.oid, data: { tenantId: TENANT } },
    };
    expect(InvitationSchema.parse(response.body)).toEqual(expected);
    expect(await invitation(INVITATION)).toEqual(expected);
    // Accepting registers nobody: that is the members' decision.
    expectError(await appRequest(consortium.service, await as("alice"), "GET", "/app/identity"), "403 CallerNotAuthorized");
  });

  it("refuses a second acceptance with 409 InvitationNotOpen, by anybody", async () => {
    expectError(await accept(await as("alice"), INVITATION), "409 InvitationNotOpen", /is Accepted by user oid-alice/);
    expectError(await accept(await as("mallory"), INVITATION), "409 InvitationNotOpen");
  });

  it("refuses (in validate) a set_user_identity naming the invitation for another oid, another tenant or account type", async () => {
    await refusedProposal(
      { name: "set_user_identity", args: { id: "oid-mallory", invitationId: INVITATION, data: { tenantId: TENANT } } },
      /args\.id 'oid-mallory' is not the user who accepted invitation 'inv-alice' \(oid-alice\)/,
    );
    await refusedProposal(
      { name: "set_user_identity", args: { id: ALICE.oid, invitationId: INVITATION, data: { tenantId: "tenant-elsewhere" } } },
      /not the tenant invitation 'inv-alice' was accepted from/,
    );
    await refusedProposal(
      { name: "set_user_identity", args: { id: ALICE.oid, accountType: "other", invitationId: INVITATION, data: { tenantId: TENANT } } },
      /account type/,
    );
    await refusedProposal({ name: "set_user_identity", args: { id: ALICE.oid, invitationId: "inv-nobody", data: { tenantId: TENANT } } }, /does not exist/);
    await refusedProposal({ name: "set_user_identity", args: { id: ALICE.oid, invitationId: "a/b", data: { tenantId: TENANT } } }, /args\.invitationId must be/);
  });

  it("is Finalized once set_user_identity with the invitation is accepted; the user can then call /app endpoints", async () => {
    const proposalId = await enact({ name: "set_user_identity", args: { id: ALICE.oid, invitationId: INVITATION, data: { tenantId: TENANT, identifier: "a@x" } } });
    expect(await invitation(INVITATION)).toEqual({
      invitationId: INVITATION,
      accountType: "microsoft",
      claims: { preferred_username: ["a@x"], tid: [TENANT] },
      status: "Finalized",
      userInfo: { userId: ALICE.oid, data: { tenantId: TENANT } },
      finalizedBy: proposalId,
    });

    const token = await as("alice");
    const identity = await appRequest(consortium.service, token, "GET", `/app/users/identities/${ALICE.oid}`);
    expect(UserIdentitySchema.parse(identity.body)).toEqual({ id: ALICE.oid, accountType: "microsoft", invitationId: INVITATION, data: { tenantId: TENANT, identifier: "a@x" } });
    expect((await appRequest(consortium.service, token, "GET", "/app/identity")).body).toMatchObject({ kind: "user", id: ALICE.oid, authenticatedBy: "jwt" });
    const list = await appRequest(consortium.service, token, "GET", "/app/users/invitations");
    expect(InvitationListSchema.parse(list.body).value.map((i) => [i.invitationId, i.status])).toEqual([[INVITATION, "Finalized"]]);

    expectError(await accept(token, INVITATION), "409 InvitationNotOpen", /is Finalized/);
    // A Finalized invitation no longer changes.
    await refusedProposal(invite(INVITATION, { email: "alice@x" }), /is Finalized/);
    await refusedProposal(invite(INVITATION, { tid: TENANT }, "remove"), /is Finalized/);
  });
});

describe("invitation claims: add unions, remove drops, strict validation", () => {
  const INVITATION = "inv-claims";

  it("adds values to the same claim as a union and removes values, dropping emptied claims", async () => {
    await enact(invite(INVITATION, { email: ["one@x"] }));
    await enact(invite(INVITATION, { email: ["one@x", "two@x"], tid: TENANT }));
    expect((await invitation(INVITATION)).claims).toEqual({ email: ["one@x", "two@x"], tid: [TENANT] });
    await enact(invite(INVITATION, { email: "one@x" }, "remove"));
    expect((await invitation(INVITATION)).claims).toEqual({ email: ["two@x"], tid: [TENANT] });
    await enact(invite(INVITATION, { email: "two@x" }, "remove"));
    expect((await invitation(INVITATION)).claims).toEqual({ tid: [TENANT] });
  });

  it("refuses malformed or impossible changes in validate", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ invitationId: INVITATION, type: "add", claims: { oid: "x" } }, /args\.claims has unknown field 'oid'/],
      [{ invitationId: INVITATION, type: "add", claims: {} }, /must name at least one claim/],
      [{ invitationId: INVITATION, type: "add", claims: { email: [] } }, /args\.claims\.email must be a string or a non-empty array/],
      [{ invitationId: INVITATION, type: "add", claims: { email: ["a", "a"] } }, /args\.claims\.email has duplicates/],
      [{ invitationId: INVITATION, type: "add", claims: { email: [1] } }, /args\.claims\.email\[0\] must be a string/],
      [{ invitationId: INVITATION, type: "add", claims: { email: "" } }, /args\.claims\.email must have 1 to 256 characters/],
      [{ invitationId: INVITATION, type: "replace", claims: { email: "a" } }, /args\.type must be 'add' or 'remove'/],
      [{ invitationId: INVITATION, claims: { email: "a" } }, /args\.type must be 'add' or 'remove'/],
      [{ invitationId: INVITATION, type: "add", accountType: "google", claims: { email: "a" } }, /args\.accountType must be one of microsoft/],
      [{ invitationId: INVITATION, type: "add", claims: { email: "a" }, extra: 1 }, /unknown field 'extra'/],
      [{ invitationId: "a b", type: "add", claims: { email: "a" } }, /args\.invitationId must be/],
      [{ invitationId: INVITATION, type: "remove", claims: { email: "absent@x" } }, /claim email of invitation 'inv-claims' has no value 'absent@x' to remove/],
      // Removing the last value would leave an invitation every token matches.
      [{ invitationId: INVITATION, type: "remove", claims: { tid: TENANT } }, /without claims/],
      [{ invitationId: "inv-nobody", type: "remove", claims: { tid: TENANT } }, /invitation 'inv-nobody' does not exist/],
    ];
    for (const [args, reason] of cases) await refusedProposal({ name: "set_user_invitation_by_jwt_claims", args }, reason);
    await refusedProposal({ name: "remove_user_invitation_by_jwt_claims", args: { invitationId: "inv-nobody" } }, /does not exist/);
    expect((await invitation(INVITATION)).claims).toEqual({ tid: [TENANT] });
  });
});

describe("an accepted invitation that changes", () => {
  const INVITATION = "inv-bob";

  it("reopens when its claims change: the earlier acceptance no longer counts", async () => {
    await enact(invite(INVITATION, { email: "bob@x" }));
    expect((await accept(await as("bob"), INVITATION)).status).toBe(200);
    expect((await invitation(INVITATION)).status).toBe("Accepted");

    await enact(invite(INVITATION, { email: "bob@y" }));
    const reopened = await invitation(INVITATION);
    expect(reopened).toEqual({ invitationId: INVITATION, accountType: "microsoft", claims: { email: ["bob@x", "bob@y"] }, status: "Open" });
    await refusedProposal({ name: "set_user_identity", args: { id: BOB.oid, invitationId: INVITATION, data: { tenantId: TENANT } } }, /has not been accepted/);
    expect((await invitation(INVITATION)).status).toBe("Open");
  });

  it("fails a set_user_identity proposal at apply when the invitation changed after the proposal was made", async () => {
    expect((await accept(await as("bob"), INVITATION)).status).toBe(200);
    const { value } = await m0.client.proposeUserIdentity({ id: BOB.oid, invitationId: INVITATION, data: { tenantId: TENANT } });
    // The claims change before the last vote: the acceptance the proposal was validated against no longer holds.
    await enact(invite(INVITATION, { preferred_username: "b@x" }));
    let outcomeOfVote: ProposalInfo = value;
    for (const voter of consortium.members) outcomeOfVote = (await voter.client.vote(value.proposalId, voter.id, true)).value;
    expect(outcomeOfVote.proposalState).toBe("Failed");
    expect(outcomeOfVote.failure?.reason).toMatch(/has not been accepted/);
    expect((await invitation(INVITATION)).status).toBe("Open");
    expectError(await appRequest(consortium.service, member(), "GET", `/app/users/identities/${BOB.oid}`), "404 UserIdentityNotFound");
  });

  it("is deleted, with its acceptance, by remove_user_invitation_by_jwt_claims; re-created it starts Open", async () => {
    expect((await accept(await as("bob"), INVITATION)).status).toBe(200);
    await enact({ name: "remove_user_invitation_by_jwt_claims", args: { invitationId: INVITATION } });
    expectError(await appRequest(consortium.service, member(), "GET", `/app/users/invitations/${INVITATION}`), "404 InvitationNotFound");
    expectError(await accept(await as("bob"), INVITATION), "404 InvitationNotFound");
    const list = InvitationListSchema.parse((await appRequest(consortium.service, member(), "GET", "/app/users/invitations")).body).value;
    expect(list.map((i) => i.invitationId)).not.toContain(INVITATION);

    await enact(invite(INVITATION, { email: "bob@x" }));
    expect(await invitation(INVITATION)).toEqual({ invitationId: INVITATION, accountType: "microsoft", claims: { email: ["bob@x"] }, status: "Open" });
  });

  it("removes a Finalized invitation too; the user it registered stays registered", async () => {
    await enact({ name: "remove_user_invitation_by_jwt_claims", args: { invitationId: "inv-alice" } });
    expectError(await appRequest(consortium.service, member(), "GET", "/app/users/invitations/inv-alice"), "404 InvitationNotFound");
    expect((await appRequest(consortium.service, await as("alice"), "GET", "/app/identity")).status).toBe(200);
  });
});

describe("Entra ID v1.0 tokens: preferred_username is compared with upn", () => {
  // Entra ID's v1.0 issuer form; its keys are given inline and the tokens signed here, since the test provider's
  // issuer is https://127.0.0.1:<port>, which is not an Entra ID issuer.
  const entraTenant = randomUUID();
  const issuer = `https://sts.windows.net/${entraTenant}/`;
  const key = generateKeyPairSync("ec", { namedCurve: "P-256" });

  async function entraToken(claims: Record<string, string>): Promise<RequestIdentity> {
    const token = await new SignJWT({ oid: "oid-carol", tid: entraTenant, ...claims })
      .setProtectedHeader({ alg: "ES256", kid: "entra-1" })
      .setIssuer(issuer)
      .setAudience("api://cleanroom")
      .setIssuedAt()
      .setExpirationTime("10m")
      .sign(key.privateKey);
    return { token };
  }

  beforeAll(async () => {
    const jwk = { ...(await exportJWK(key.publicKey)), kid: "entra-1", alg: "ES256", use: "sig" };
    await enact({ name: "set_jwt_issuer", args: { issuer, jwks: { keys: [jwk] } } });
  });

  it("reads upn for a v1.0 token, and preferred_username for a v2.0 one", async () => {
    await enact(invite("inv-carol-v1", { preferred_username: "carol@contoso.example" }), invite("inv-carol-v2", { preferred_username: "carol@contoso.example" }));

    expectError(await accept(await entraToken({ ver: "1.0", preferred_username: "carol@contoso.example" }), "inv-carol-v1"), "403 TokenClaimMissing", /no 'upn' \(read for 'preferred_username' in Entra ID v1\.0 tokens\) claim/);
    expectError(await accept(await entraToken({ ver: "1.0", upn: "mallory@contoso.example" }), "inv-carol-v1"), "403 TokenClaimMismatch", /'upn'/);
    const v1 = await accept(await entraToken({ ver: "1.0", upn: "carol@contoso.example" }), "inv-carol-v1");
    expect(v1.status, JSON.stringify(v1.body)).toBe(200);
    expect(InvitationSchema.parse(v1.body)).toMatchObject({ status: "Accepted", userInfo: { userId: "oid-carol", data: { tenantId: entraTenant } } });

    expectError(await accept(await entraToken({ ver: "2.0", upn: "carol@contoso.example" }), "inv-carol-v2"), "403 TokenClaimMissing", /no 'preferred_username' claim/);
    const v2 = await accept(await entraToken({ ver: "2.0", preferred_username: "carol@contoso.example" }), "inv-carol-v2");
    expect(v2.status, JSON.stringify(v2.body)).toBe(200);
  });
});
