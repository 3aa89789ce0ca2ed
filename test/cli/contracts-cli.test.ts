import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GovernanceClient } from "@cleanroom/governance-client";
import type { AuditEvent, CleanRoomPolicy, Contract, Invitation, JwtIssuer, ProposalInfo, RuntimeOptionStatus, UserDocument, UserDocumentList, WriteResult } from "@cleanroom/protocol";
import { cli, type CliResult } from "../support/cli.js";
import { makeIdentity, startConsortium, type Consortium, type TestIdentity } from "../support/consortium.js";

// The contract and user-document lifecycle driven through the `cleanroom` CLI in-process, as members and a
// certificate user would (reference §2.1, §2.4, §2.6, §2.13, §3.1, §3.3, §3.4).

let consortium: Consortium;
let work: string;
let home: string;
let m0: TestIdentity;
let m1: TestIdentity;
let u0: Awaited<ReturnType<typeof makeIdentity>>;
const run = (...args: string[]) => cli(args, { home, cwd: work });
const runAs = (profile: string, ...args: string[]) => run("--profile", profile, ...args);
const jsonAs = <T>(profile: string, ...args: string[]) => runAs(profile, "-o", "json", ...args).then((r) => ok(r).json<T>());

function ok(result: CliResult): CliResult {
  expect(result.stderr.includes("error:") ? result.stderr : "", `exit ${result.code}`).toBe("");
  expect(result.code).toBe(0);
  return result;
}

function fails(result: CliResult, pattern: RegExp, code = 1): CliResult {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stderr).toMatch(pattern);
  return result;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "cleanroom-contracts-cli-"));
  home = join(work, "home");
  consortium = await startConsortium({ members: ["m0", "m1", "m2"] });
  [m0, m1] = consortium.members as [TestIdentity, TestIdentity];
  u0 = await makeIdentity("u0");
  writeFileSync(join(work, "service_cert.pem"), consortium.service.serviceCertificatePem);
  for (const identity of [...consortium.members, u0]) {
    writeFileSync(join(work, `${identity.name}_cert.pem`), identity.certificatePem);
    writeFileSync(join(work, `${identity.name}_privk.pem`), identity.keys.privateKeyPem);
    ok(await run("profile", "create", identity.name, "--service-url", consortium.service.url, "--service-cert", "service_cert.pem", "--cert", `${identity.name}_cert.pem`, "--key", `${identity.name}_privk.pem`));
  }
});
afterAll(async () => {
  await consortium.close();
  rmSync(work, { recursive: true, force: true });
});

describe("contracts through the CLI", () => {
  let version: string;
  let proposalId: string;

  it("creates a draft naming its required members and shows it", async () => {
    const data = { metadata: { voters: { requiredMembers: [m0.id, m1.id] } }, query: "SELECT COUNT(*) FROM sales" };
    writeFileSync(join(work, "contract.json"), JSON.stringify(data));
    const created = await jsonAs<WriteResult>("m0", "governance", "contract", "create", "--id", "c1", "--data", "@contract.json");
    expect(created.id).toBe("c1");
    version = created.version;

    const shown = await jsonAs<Contract>("m1", "governance", "contract", "show", "--id", "c1");
    expect(shown).toMatchObject({ id: "c1", state: "Draft", version, proposalId: "", data, requiredMembers: [m0.id, m1.id] });
    const table = ok(await runAs("m1", "governance", "contract", "show", "--id", "c1")).stdout;
    expect(table).toMatch(/state\s+Draft/);
    expect(table).toMatch(/requiredMembers\s+m0 \(.{8}…\), m1 \(.{8}…\)/);
    expect(await jsonAs("m0", "governance", "contract", "list", "--state", "Draft")).toEqual([{ id: "c1", state: "Draft" }]);

    fails(await runAs("m0", "governance", "contract", "create", "--id", "c1", "--data", "{}"), /ContractAlreadyExists \(HTTP 409\)/);
    fails(await runAs("m0", "governance", "contract", "create", "--id", "c9", "--data", '{"metadata":{"voters":{"requiredMembers":[]}}}'), /InvalidRequiredMembers/);
    fails(await runAs("m0", "governance", "contract", "create", "--id", "c9", "--data", "{oops"), /--data is not valid JSON/);
  });

  it("updates a draft only at its current version (--version after the command is the command's)", async () => {
    fails(await runAs("m0", "governance", "contract", "create", "--id", "c1", "--data", "{}", "--version", "1.1"), /PreconditionFailed \(HTTP 412\)/);
    const data = { metadata: { voters: { requiredMembers: [m0.id, m1.id] } }, query: "SELECT SUM(amount) FROM sales" };
    const updated = await jsonAs<WriteResult>("m0", "governance", "contract", "create", "--id", "c1", "--data", JSON.stringify(data), "--version", version);
    expect(updated.version).not.toBe(version);
    version = updated.version;
  });

  it("applies the reference's client checks to propose and vote", async () => {
    fails(await runAs("m0", "governance", "contract", "propose", "--id", "c1", "--version", "1.1"), /^error: ContractModified: /m);
    fails(await runAs("m0", "governance", "contract", "propose", "--id", "c1"), /^error: VersionMissing: /m);
    fails(await runAs("m0", "governance", "contract", "vote", "--id", "c1", "--action", "accept"), /ProposalIdMissing: /);
    fails(await runAs("m0", "governance", "contract", "vote", "--id", "c1", "--proposal-id", "p", "--action", "accept"), /ContractNotProposed: /);
    fails(await runAs("m0", "governance", "contract", "vote", "--id", "c1", "--proposal-id", "p", "--action", "maybe"), /argument 'maybe' is invalid/, 2);
    fails(await runAs("m0", "governance", "contract", "show", "--id", "nope"), /ContractNotFound \(HTTP 404\)/);
  });

  it("proposes the contract; only the required members decide", async () => {
    const proposal = await jsonAs<ProposalInfo>("m0", "governance", "contract", "propose", "--id", "c1", "--version", version);
    expect(proposal.proposalState).toBe("Open");
    proposalId = proposal.proposalId;

    const shown = await jsonAs<Contract>("m2", "governance", "contract", "show", "--id", "c1");
    expect(shown).toMatchObject({ state: "Proposed", proposalId, version });
    expect([...(shown.pendingVoters ?? [])].sort()).toEqual([m0.id, m1.id].sort());
    expect(await jsonAs("m0", "governance", "contract", "list", "--state", "Proposed")).toEqual([{ id: "c1", state: "Proposed" }]);
    fails(await runAs("m0", "governance", "contract", "create", "--id", "c1", "--data", "{}", "--version", version), /ContractUnderProposal \(HTTP 409\)/);
    fails(await runAs("m0", "governance", "contract", "vote", "--id", "c1", "--proposal-id", "0".repeat(64), "--action", "accept"), /ContractProposalIdMismatch: /);

    // m2 is not a required member: its ballot changes nothing.
    ok(await runAs("m2", "governance", "contract", "vote", "--id", "c1", "--proposal-id", proposalId, "--action", "reject"));
    expect((await jsonAs<Contract>("m0", "governance", "contract", "show", "--id", "c1")).state).toBe("Proposed");

    ok(await runAs("m0", "governance", "contract", "vote", "--id", "c1", "--proposal-id", proposalId, "--action", "accept"));
    const table = ok(await runAs("m0", "governance", "contract", "show", "--id", "c1")).stdout;
    expect(table).toMatch(/state\s+Proposed/);
    expect(table).toMatch(/votes\s+.*m0 \(.{8}…\): accept/);
    expect(table).toMatch(/pendingVoters\s+m1 \(.{8}…\)\n/);

    const accepted = await jsonAs<ProposalInfo>("m1", "governance", "contract", "vote", "--id", "c1", "--proposal-id", proposalId, "--action", "accept");
    expect(accepted.proposalState).toBe("Accepted");
  });

  it("shows the accepted contract with its final votes and refuses edits", async () => {
    const shown = await jsonAs<Contract>("m2", "governance", "contract", "show", "--id", "c1");
    expect(shown).toMatchObject({ state: "Accepted", proposalId });
    expect(shown.finalVotes).toEqual(expect.arrayContaining([{ memberId: m0.id, vote: true }, { memberId: m1.id, vote: true }]));
    expect(ok(await runAs("m2", "governance", "contract", "show", "--id", "c1")).stdout).toMatch(/finalVotes\s+.*m1 \(.{8}…\): accept/);
    expect(await jsonAs("m0", "governance", "contract", "list")).toEqual([{ id: "c1", state: "Accepted" }]);
    fails(await runAs("m0", "governance", "contract", "create", "--id", "c1", "--data", "{}", "--version", shown.version), /ContractAlreadyAccepted \(HTTP 405\)/);
  });

  it("gets and sets execution consent, and proposes logging", async () => {
    const get = (option: string) => jsonAs<RuntimeOptionStatus>("m1", "governance", "contract", "runtime-option", "get", "--id", "c1", "--option", option);
    expect(await get("execution")).toMatchObject({ status: "enabled" });
    const disabled = await jsonAs<RuntimeOptionStatus>("m0", "governance", "contract", "runtime-option", "set", "--id", "c1", "--option", "execution", "--action", "disable");
    expect(disabled).toMatchObject({ status: "disabled", reason: { code: "ContractDisabled" }, disabledBy: [m0.id] });
    expect(ok(await runAs("m1", "governance", "contract", "runtime-option", "get", "--id", "c1", "--option", "execution")).stdout).toMatch(
      /reason\s+ContractDisabled: .*\ndisabledBy\s+m0 \(.{8}…\)/,
    );
    ok(await runAs("m0", "governance", "contract", "runtime-option", "set", "--id", "c1", "--option", "execution", "--action", "enable"));
    expect(await get("execution")).toMatchObject({ status: "enabled" });
    fails(await runAs("m0", "governance", "contract", "runtime-option", "set", "--id", "c1", "--option", "logging", "--action", "enable"), /argument 'logging' is invalid/, 2);

    expect(await get("logging")).toMatchObject({ status: "disabled" });
    const logging = await jsonAs<ProposalInfo>("m0", "governance", "contract", "runtime-option", "propose", "--id", "c1", "--option", "logging", "--action", "enable");
    expect(logging.proposalState).toBe("Open");
    expect((await get("logging")).proposalIds).toEqual([logging.proposalId]);
  });

  it("stores secrets and lists their ids, never their values", async () => {
    const stored = await jsonAs<{ secretId: string }>("m1", "governance", "contract", "secret", "set", "--contract-id", "c1", "--name", "dek", "--value", "k3y");
    expect(stored.secretId).toBe(`${m1.id}_dek`);
    fails(await runAs("m1", "governance", "contract", "secret", "set", "--contract-id", "c1", "--name", "dek"), /exactly one of --value and --value-file/);
    expect(await jsonAs("m2", "governance", "contract", "secret", "list", "--contract-id", "c1")).toEqual([{ secretId: `${m1.id}_dek` }]);
    expect(ok(await runAs("m2", "governance", "contract", "secret", "list", "--contract-id", "c1")).stdout).not.toContain("k3y");
  });

  it("proposes and shows the clean-room policy", async () => {
    const hostData = "73973b78d70cc68353426de188db5dfc57e5b766e399935fb73a61127ea26d20";
    expect(ok(await runAs("m1", "governance", "contract", "clean-room-policy", "show", "--id", "c1")).stdout).toMatch(/no policy/);
    const claims = JSON.stringify({ "x-ms-sevsnpvm-hostdata": [hostData], "x-ms-sevsnpvm-is-debuggable": false });
    const proposal = await jsonAs<ProposalInfo>("m0", "governance", "contract", "clean-room-policy", "propose", "--id", "c1", "--type", "add", "--claims", claims);
    expect(proposal.proposalState).toBe("Open");
    const pending = await jsonAs<CleanRoomPolicy>("m1", "governance", "contract", "clean-room-policy", "show", "--id", "c1");
    expect(pending).toEqual({ proposalIds: [proposal.proposalId], policy: {}, policies: {} });
    for (const name of ["m0", "m1", "m2"]) ok(await runAs(name, "governance", "proposal", "vote", "--proposal-id", proposal.proposalId, "--action", "accept"));
    const table = ok(await runAs("m1", "governance", "contract", "clean-room-policy", "show", "--id", "c1")).stdout;
    expect(table).toMatch(new RegExp(`snp-caci\\s+x-ms-sevsnpvm-hostdata\\s+${hostData}`));
    expect(table).toMatch(/x-ms-sevsnpvm-is-debuggable\s+false/);
    fails(await runAs("m0", "governance", "contract", "clean-room-policy", "propose", "--id", "c1", "--type", "add", "--claims", '{"pcr0": "00"}'), /ProposalFailedToValidate/);
  });

  it("lists and shows delegate policies (set only by attested clean rooms)", async () => {
    expect(await jsonAs("m1", "governance", "contract", "clean-room-policy", "delegate", "list", "--id", "c1")).toEqual([]);
    expect(ok(await runAs("m1", "governance", "contract", "clean-room-policy", "delegate", "list", "--id", "c1")).stdout).toMatch(/no delegates/);
    const show = ["governance", "contract", "clean-room-policy", "delegate", "show", "--id", "c1", "--type", "oauth-federation-subjects"];
    expect(await jsonAs("m2", ...show, "--delegate-id", "c1/spark")).toEqual({ claims: {} });
    expect(ok(await runAs("m2", ...show, "--delegate-id", "c1/spark")).stdout).toMatch(/admits nobody/);
    fails(await runAs("m2", ...show, "--delegate-id", "other-contract"), /InvalidDelegateType/);
  });
});

describe("the OIDC issuer through the CLI", () => {
  it("is enabled by proposal, gets its key generated by the service, and shows the published key", async () => {
    const proposal = await jsonAs<ProposalInfo>("m0", "governance", "oidc-issuer", "propose-enable", "--issuer-url", "https://issuer.example.com/cli");
    for (const name of ["m0", "m1", "m2"]) ok(await runAs(name, "governance", "proposal", "vote", "--proposal-id", proposal.proposalId, "--action", "accept"));
    const generated = await jsonAs<{ kid: string; generation: number }>("m1", "governance", "oidc-issuer", "generate-signing-key");
    expect(generated.generation).toBe(1);
    expect(await jsonAs("m2", "governance", "oidc-issuer", "show")).toEqual({
      enabled: true,
      issuerUrl: "https://issuer.example.com/cli",
      keyGeneration: 1,
      currentKid: generated.kid,
      publishedKeys: [generated.kid],
    });
    expect(ok(await runAs("m2", "governance", "oidc-issuer", "show")).stdout).toMatch(new RegExp(`currentKid\\s+${generated.kid}`));
  });
});

describe("users through the CLI", () => {
  it("adds a certificate user by proposal and lists it with its type", async () => {
    const proposal = await jsonAs<ProposalInfo>("m0", "governance", "user", "add", "--certificate", "u0_cert.pem", "--identifier", "u0", "--tenant-id", "tenant");
    for (const name of ["m0", "m1", "m2"]) ok(await runAs(name, "governance", "proposal", "vote", "--proposal-id", proposal.proposalId, "--action", "accept"));
    expect((await jsonAs<ProposalInfo>("m0", "governance", "proposal", "show", "--proposal-id", proposal.proposalId)).proposalState).toBe("Accepted");

    const users = await jsonAs<Array<{ id: string; type: string; identifier?: string }>>("m0", "governance", "user", "list");
    expect(users).toContainEqual({ id: u0.id, type: "certificate", identifier: "u0", tenantId: "tenant" });
    expect(ok(await runAs("m0", "governance", "user", "list")).stdout).toMatch(new RegExp(`${u0.id}\\s+certificate\\s+u0\\s+tenant`));
    expect(ok(await runAs("u0", "governance", "user", "show", "--id", u0.id)).stdout).toMatch(/type\s+certificate/);

    fails(await runAs("m0", "governance", "user", "add"), /Give one of --certificate/);
    fails(await runAs("m0", "governance", "user", "add", "--object-id", "oid-1"), /needs --tenant-id/);
  });
});

describe("user documents through the CLI", () => {
  let version: string;

  it("creates documents with labels and approvers, and shows who still has to approve", async () => {
    const approvers = JSON.stringify([
      { approverId: m0.id, approverIdType: "member" },
      { approverId: u0.id, approverIdType: "user" },
    ]);
    const created = await jsonAs<WriteResult>("u0", "governance", "user-document", "create", "--contract-id", "c1", "--id", "d1", "--data", '{"dataset":"sales"}', "--labels", '{"kind":"dataset","owner":"u0"}', "--approvers", approvers);
    version = created.version;
    ok(await runAs("m1", "governance", "user-document", "create", "--contract-id", "c1", "--id", "d2", "--data", '"SELECT 1"', "--labels", '{"kind":"query"}'));

    const shown = await jsonAs<UserDocument>("m1", "governance", "user-document", "show", "--contract-id", "c1", "--id", "d1");
    expect(shown).toMatchObject({ state: "Draft", version, proposerId: u0.id, proposerIdType: "user", labels: { kind: "dataset", owner: "u0" } });
    const table = ok(await runAs("m1", "governance", "user-document", "show", "--contract-id", "c1", "--id", "d1")).stdout;
    expect(table).toMatch(/approvers\s+m0 \(.{8}…\) \(member\): pending; [0-9a-f]{64} \(user\): pending/);

    fails(await runAs("m0", "governance", "user-document", "create", "--contract-id", "c1", "--id", "d3", "--data", "{}", "--approvers", '[{"approverId":"x","approverIdType":"admin"}]'), /--approvers\[0\] is invalid/);
  });

  it("is accepted once every approver accepted the current version", async () => {
    fails(await runAs("m1", "governance", "user-document", "approve", "--contract-id", "c1", "--id", "d1", "--version", version), /NotUserDocumentApprover \(HTTP 403\)/);
    fails(await runAs("m0", "governance", "user-document", "approve", "--contract-id", "c1", "--id", "d1", "--version", "1.1"), /PreconditionFailed/);

    const afterM0 = await jsonAs<UserDocument>("m0", "governance", "user-document", "approve", "--contract-id", "c1", "--id", "d1", "--version", version);
    expect(afterM0.state).toBe("Proposed");
    expect(ok(await runAs("m0", "governance", "user-document", "show", "--contract-id", "c1", "--id", "d1")).stdout).toMatch(
      new RegExp(`approvers\\s+m0 \\(.{8}…\\) \\(member\\): accepted ${version.replace(".", "\\.")}; ${u0.id} \\(user\\): pending`),
    );
    fails(await runAs("m0", "governance", "user-document", "approve", "--contract-id", "c1", "--id", "d1", "--version", version), /ApprovalAlreadySubmitted/);
    fails(await runAs("u0", "governance", "user-document", "create", "--contract-id", "c1", "--id", "d1", "--data", "{}", "--version", version), /UserDocumentNotDraft \(HTTP 409\)/);

    const accepted = await jsonAs<UserDocument>("u0", "governance", "user-document", "approve", "--contract-id", "c1", "--id", "d1", "--version", version);
    expect(accepted.state).toBe("Accepted");
    expect(accepted.pendingApprovers).toEqual([]);
    const shown = await jsonAs<UserDocument>("m1", "governance", "user-document", "show", "--contract-id", "c1", "--id", "d1");
    expect(shown.state).toBe("Accepted");
    expect(shown.finalVotes).toEqual(expect.arrayContaining([{ approverId: m0.id, ballot: "accepted" }, { approverId: u0.id, ballot: "accepted" }]));

    expect(await jsonAs<RuntimeOptionStatus>("u0", "governance", "user-document", "runtime-option", "get", "--contract-id", "c1", "--id", "d1", "--option", "execution")).toMatchObject({ status: "enabled" });
    const disabled = await jsonAs<RuntimeOptionStatus>("u0", "governance", "user-document", "runtime-option", "set", "--contract-id", "c1", "--id", "d1", "--option", "telemetry", "--action", "disable");
    expect(disabled.status).toBe("disabled");
  });

  it("rejects a document for good", async () => {
    const d2 = await jsonAs<UserDocument>("m0", "governance", "user-document", "show", "--contract-id", "c1", "--id", "d2");
    const rejected = await jsonAs<UserDocument>("m0", "governance", "user-document", "reject", "--contract-id", "c1", "--id", "d2", "--version", d2.version);
    expect(rejected.state).toBe("Rejected");
  });

  it("lists documents by label", async () => {
    const all = await jsonAs<UserDocumentList["value"]>("m0", "governance", "user-document", "list", "--contract-id", "c1");
    expect(all.map((d) => [d.id, d.state])).toEqual([
      ["d1", "Accepted"],
      ["d2", "Rejected"],
    ]);
    const datasets = await jsonAs<UserDocumentList["value"]>("m0", "governance", "user-document", "list", "--contract-id", "c1", "--label-selector", "kind:dataset,owner:u0");
    expect(datasets.map((d) => d.id)).toEqual(["d1"]);
    expect(await jsonAs("m0", "governance", "user-document", "list", "--contract-id", "c1", "--label-selector", "kind:none")).toEqual([]);
    expect(ok(await runAs("m0", "governance", "user-document", "list", "--contract-id", "c1")).stdout).toMatch(/d1\s+Accepted\s+kind=dataset, owner=u0/);
    fails(await runAs("m0", "governance", "user-document", "list", "--contract-id", "c1", "--label-selector", "kind"), /Invalid --label-selector/);
  });
});

describe("events through the CLI", () => {
  it("appends events and lists the latest, or all with the governance record", async () => {
    ok(await runAs("m0", "governance", "event", "put", "--contract-id", "c1", "--scope", "audit", "--data", '{"step":"started"}'));
    ok(await runAs("u0", "governance", "event", "put", "--contract-id", "c1", "--scope", "audit", "--data", '{"step":"finished"}'));
    fails(await runAs("m0", "governance", "event", "put", "--contract-id", "c1", "--scope", "governance", "--data", "{}"), /ReservedEventScope/);

    const latest = await jsonAs<AuditEvent[]>("m1", "governance", "event", "list", "--contract-id", "c1", "--scope", "audit");
    expect(latest.map((e) => e.data)).toEqual([{ step: "finished" }]);
    expect(latest[0]?.writer).toEqual({ kind: "user", id: u0.id });
    const audit = await jsonAs<AuditEvent[]>("m1", "governance", "event", "list", "--contract-id", "c1", "--scope", "audit", "--all");
    expect(audit.map((e) => e.data)).toEqual([{ step: "started" }, { step: "finished" }]);

    const governance = await jsonAs<AuditEvent[]>("m1", "governance", "event", "list", "--contract-id", "c1", "--scope", "governance", "--all");
    const types = governance.map((e) => (e.data as { type?: string }).type);
    expect(types).toEqual(expect.arrayContaining(["contract.proposed", "contract.accepted", "userdocument.accepted"]));
    expect(types.indexOf("contract.proposed")).toBeLessThan(types.indexOf("contract.accepted"));
    expect(governance.every((e) => e.writer.kind === "service")).toBe(true);
    const seqnos = governance.map((e) => e.seqno);
    expect(seqnos).toEqual([...seqnos].sort((a, b) => a - b));
    expect(ok(await runAs("m1", "governance", "event", "list", "--contract-id", "c1", "--all")).stdout).toMatch(/governance\s+c1\s+service/);
  });
});

describe("JWT users through the CLI", () => {
  const issuer = "https://issuer.example/tenant-a/v2.0";
  const audience = "api://cleanroom";
  const keys = generateKeyPairSync("ec", { namedCurve: "P-256" });

  /** An ES256 token of the test issuer. */
  function token(claims: Record<string, unknown>): string {
    const now = Math.floor(Date.now() / 1000);
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const input = `${encode({ alg: "ES256", kid: "k1", typ: "JWT" })}.${encode({ iss: issuer, aud: audience, iat: now, exp: now + 600, ...claims })}`;
    return `${input}.${sign("sha256", Buffer.from(input), { key: keys.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
  }

  async function acceptedByAll(proposal: ProposalInfo): Promise<void> {
    for (const name of ["m0", "m1", "m2"]) ok(await runAs(name, "governance", "proposal", "vote", "--proposal-id", proposal.proposalId, "--action", "accept"));
    expect((await jsonAs<ProposalInfo>("m0", "governance", "proposal", "show", "--proposal-id", proposal.proposalId)).proposalState).toBe("Accepted");
  }

  it("trusts an issuer and registers a JWT user by proposal", async () => {
    const jwk = { ...keys.publicKey.export({ format: "jwk" }), kid: "k1", alg: "ES256", use: "sig" };
    writeFileSync(join(work, "jwks.json"), JSON.stringify({ keys: [jwk] }));
    fails(await runAs("m0", "governance", "user", "jwt-issuer", "add", "--issuer", issuer), /Give either --jwks <json> or --auto-refresh/);
    await acceptedByAll(await jsonAs<ProposalInfo>("m0", "governance", "user", "jwt-issuer", "add", "--issuer", issuer, "--jwks", "@jwks.json", "--audience", audience));
    const issuers = await jsonAs<JwtIssuer[]>("m1", "governance", "user", "jwt-issuer", "list");
    expect(issuers).toEqual([expect.objectContaining({ issuer, autoRefresh: false, audiences: [audience], keyIds: ["k1"] })]);

    await acceptedByAll(await jsonAs<ProposalInfo>("m0", "governance", "user", "add", "--object-id", "oid-alice", "--tenant-id", "tenant-a", "--identifier", "alice"));
    const users = await jsonAs<Array<{ id: string; type: string }>>("m0", "governance", "user", "list");
    expect(users).toContainEqual({ id: "oid-alice", type: "jwt", tenantId: "tenant-a", identifier: "alice", accountType: "microsoft" });
    expect(ok(await runAs("m0", "governance", "user", "show", "--id", "oid-alice")).stdout).toMatch(/type\s+jwt/);
    fails(await runAs("m0", "governance", "user", "show", "--id", "oid-nobody"), /No certificate user or JWT user identity has the id oid-nobody/);
  });

  it("acts with a profile holding only a token file; CLEANROOM_ACCESS_TOKEN overrides it", async () => {
    writeFileSync(join(work, "alice.token"), token({ oid: "oid-alice", tid: "tenant-a" }) + "\n");
    ok(await run("profile", "create", "alice", "--service-url", consortium.service.url, "--service-cert", "service_cert.pem", "--token-file", "alice.token"));
    expect(ok(await run("-o", "json", "profile", "show", "alice")).json<{ tokenFile: string }>().tokenFile).toBe(join(work, "alice.token"));

    expect(await jsonAs("alice", "governance", "contract", "list")).toEqual([{ id: "c1", state: "Accepted" }]);
    const approvers = JSON.stringify([{ id: "oid-alice", type: "user" }, { id: m0.id, type: "member" }]);
    const created = await jsonAs<WriteResult>("alice", "governance", "user-document", "create", "--contract-id", "c1", "--id", "alice-data", "--data", '{"rows":10}', "--approvers", approvers);
    const approved = await jsonAs<UserDocument>("alice", "governance", "user-document", "approve", "--contract-id", "c1", "--id", "alice-data", "--version", created.version);
    expect(approved).toMatchObject({ state: "Proposed", proposerId: "oid-alice", proposerIdType: "user" });
    expect(approved.pendingApprovers).toEqual([{ approverId: m0.id, approverIdType: "member" }]);
    expect(ok(await runAs("alice", "governance", "user-document", "show", "--contract-id", "c1", "--id", "alice-data")).stdout).toMatch(
      /approvers\s+oid-alice \(user\): accepted .*; m0 \(.{8}…\) \(member\): pending/,
    );

    const client = new GovernanceClient({
      url: consortium.service.url,
      serviceCertificatePem: consortium.service.serviceCertificatePem,
      token: () => token({ oid: "oid-alice", tid: "tenant-a" }),
    });
    try {
      expect(await client.selfStatus()).toEqual({ active: true, kind: "user", id: "oid-alice", authenticatedBy: "jwt", tenantId: "tenant-a" });
    } finally {
      client.close();
    }

    const asAlice = (env: Record<string, string>, ...args: string[]) => cli(["--profile", "alice", ...args], { home, cwd: work, env });
    fails(await asAlice({ CLEANROOM_ACCESS_TOKEN: token({ oid: "oid-alice", tid: "tenant-b" }) }, "governance", "contract", "list"), /CallerTenantNotAuthorized \(HTTP 403\)/);
    fails(await asAlice({ CLEANROOM_ACCESS_TOKEN: token({ oid: "oid-bob", tid: "tenant-a" }) }, "governance", "contract", "list"), /CallerNotAuthorized \(HTTP 403\)/);
    fails(await asAlice({ CLEANROOM_ACCESS_TOKEN: "not-a-jwt" }, "governance", "contract", "list"), /InvalidAuthenticationInfo \(HTTP 401\)/);
    // Proposals need a member's signing key: a token-only profile cannot make them.
    fails(await runAs("alice", "governance", "contract", "runtime-option", "propose", "--id", "c1", "--option", "logging", "--action", "disable"), /needs the member's certificate and private key/);
  });

  it("invites a user by claims; the invitee accepts with its token; a member registers it from the invitation", async () => {
    const claims = { preferred_username: "carol@example.test", tid: "tenant-a" };
    await acceptedByAll(await jsonAs<ProposalInfo>("m0", "governance", "user", "invitation", "propose", "--id", "inv-carol", "--claims", JSON.stringify(claims)));
    fails(await runAs("m0", "governance", "user", "invitation", "propose", "--id", "inv-x", "--claims", "[1]"), /--claims must be a JSON object/);
    fails(await runAs("m0", "governance", "user", "invitation", "propose", "--id", "inv-x", "--claims", '{"email": 1}'), /claim email is neither/);
    fails(await runAs("m0", "governance", "user", "invitation", "propose", "--id", "inv-x", "--claims", '{"oid": "x"}'), /ProposalFailedToValidate.*unknown field 'oid'/);

    const listed = await jsonAs<Invitation[]>("m1", "governance", "user", "invitation", "list");
    expect(listed).toEqual([{ invitationId: "inv-carol", accountType: "microsoft", claims: { preferred_username: ["carol@example.test"], tid: ["tenant-a"] }, status: "Open" }]);
    expect(ok(await runAs("m1", "governance", "user", "invitation", "list")).stdout).toMatch(/inv-carol\s+Open\s+preferred_username=carol@example\.test; tid=tenant-a/);
    fails(await runAs("m1", "governance", "user", "invitation", "show", "--id", "inv-nobody"), /InvitationNotFound \(HTTP 404\)/);
    // Not registered yet, the invitee cannot read invitations, and a member cannot accept for it.
    writeFileSync(join(work, "carol.token"), token({ oid: "oid-carol", tid: "tenant-a", preferred_username: "carol@example.test" }));
    ok(await run("profile", "create", "carol", "--service-url", consortium.service.url, "--service-cert", "service_cert.pem", "--token-file", "carol.token"));
    fails(await runAs("carol", "governance", "user", "invitation", "list"), /CallerNotAuthorized \(HTTP 403\)/);
    fails(await runAs("m0", "governance", "user", "invitation", "accept", "--id", "inv-carol"), /needs the invitee's bearer token/);
    fails(await runAs("m0", "governance", "user", "add", "--accepted-invitation-id", "inv-carol"), /Invitation inv-carol is Open; the invitee must accept it first/);

    const asCarol = (env: Record<string, string>, ...args: string[]) => cli(["--profile", "carol", ...args], { home, cwd: work, env });
    fails(await asCarol({ CLEANROOM_ACCESS_TOKEN: token({ oid: "oid-carol", tid: "tenant-a" }) }, "governance", "user", "invitation", "accept", "--id", "inv-carol"), /TokenClaimMissing \(HTTP 403\)/);
    fails(
      await asCarol({ CLEANROOM_ACCESS_TOKEN: token({ oid: "oid-carol", tid: "tenant-a", preferred_username: "mallory@example.test" }) }, "governance", "user", "invitation", "accept", "--id", "inv-carol"),
      /TokenClaimMismatch \(HTTP 403\)/,
    );
    const accepted = await jsonAs<Invitation>("carol", "governance", "user", "invitation", "accept", "--id", "inv-carol");
    expect(accepted).toMatchObject({ status: "Accepted", userInfo: { userId: "oid-carol", data: { tenantId: "tenant-a" } } });
    fails(await runAs("carol", "governance", "user", "invitation", "accept", "--id", "inv-carol"), /InvitationNotOpen \(HTTP 409\)/);

    fails(await runAs("m0", "governance", "user", "add", "--accepted-invitation-id", "inv-carol", "--tenant-id", "t"), /come from the accepted invitation/);
    fails(await runAs("m0", "governance", "user", "add", "--accepted-invitation-id", "inv-carol", "--object-id", "oid-carol"), /Give one of/);
    await acceptedByAll(await jsonAs<ProposalInfo>("m0", "governance", "user", "add", "--accepted-invitation-id", "inv-carol", "--identifier", "carol"));
    const shown = ok(await runAs("m1", "governance", "user", "invitation", "show", "--id", "inv-carol")).stdout;
    expect(shown).toMatch(/status\s+Finalized/);
    expect(shown).toMatch(/userId\s+oid-carol\ntenantId\s+tenant-a\nfinalizedBy\s+[0-9a-f]{64}/);
    expect(await jsonAs("m0", "governance", "user", "show", "--id", "oid-carol")).toMatchObject({ type: "jwt", id: "oid-carol", invitationId: "inv-carol", data: { tenantId: "tenant-a", identifier: "carol" } });
    expect(await jsonAs("carol", "governance", "contract", "list")).toEqual([{ id: "c1", state: "Accepted" }]);
    fails(await runAs("m0", "governance", "user", "add", "--accepted-invitation-id", "inv-carol"), /is Finalized; user oid-carol is already registered/);
    fails(await runAs("m0", "governance", "user", "invitation", "propose", "--id", "inv-carol", "--claims", '{"tid": "tenant-a"}', "--remove"), /ProposalFailedToValidate.*is Finalized/);
  });

  it("removes claim values from an invitation with --remove", async () => {
    await acceptedByAll(await jsonAs<ProposalInfo>("m0", "governance", "user", "invitation", "propose", "--id", "inv-dave", "--claims", '{"email": ["d1@example.test", "d2@example.test"]}'));
    await acceptedByAll(await jsonAs<ProposalInfo>("m0", "governance", "user", "invitation", "propose", "--id", "inv-dave", "--claims", '{"email": "d1@example.test"}', "--remove"));
    expect(await jsonAs<Invitation>("m1", "governance", "user", "invitation", "show", "--id", "inv-dave")).toMatchObject({ claims: { email: ["d2@example.test"] }, status: "Open" });
  });
});
