import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MemberInfo, ProposalHistory, ProposalInfo } from "@cleanroom/protocol";
import { cli, type CliResult } from "../support/cli.js";
import { startConsortium, type Consortium } from "../support/consortium.js";

let consortium: Consortium;
let work: string;
let home: string;
const run = (...args: string[]) => cli(args, { home, cwd: work });
const runAs = (profile: string, ...args: string[]) => run("--profile", profile, ...args);

function ok(result: CliResult): CliResult {
  expect(result.stderr.includes("error:") ? result.stderr : "", `exit ${result.code}`).toBe("");
  expect(result.code).toBe(0);
  return result;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "cleanroom-cli-"));
  home = join(work, "home");
  consortium = await startConsortium({ members: ["m0", "m1"], activate: false });
  writeFileSync(join(work, "service_cert.pem"), consortium.service.serviceCertificatePem);
  for (const member of consortium.members) {
    writeFileSync(join(work, `${member.name}_cert.pem`), member.certificatePem);
    writeFileSync(join(work, `${member.name}_privk.pem`), member.keys.privateKeyPem);
    ok(await run("profile", "create", member.name, "--service-url", consortium.service.url, "--service-cert", "service_cert.pem", "--cert", `${member.name}_cert.pem`, "--key", `${member.name}_privk.pem`));
  }
});
afterAll(async () => {
  await consortium.close();
  rmSync(work, { recursive: true, force: true });
});

describe("profiles", () => {
  it("creates, lists, switches, shows and removes profiles", async () => {
    const list = ok(await run("-o", "json", "profile", "list")).json<Array<{ name: string; current: boolean }>>();
    expect(list.map((p) => [p.name, p.current])).toEqual([["m0", true], ["m1", false]]);
    ok(await run("profile", "use", "m1"));
    expect(ok(await run("-o", "json", "profile", "show")).json<{ name: string }>().name).toBe("m1");
    ok(await run("profile", "use", "m0"));
    ok(await run("profile", "create", "spare", "--service-url", consortium.service.url, "--service-cert", "service_cert.pem"));
    expect(ok(await run("profile", "list")).stdout).toMatch(/spare/);
    ok(await run("profile", "remove", "spare"));
    expect(ok(await run("profile", "list")).stdout).not.toMatch(/spare/);
    expect((await run("profile", "use", "nobody")).code).toBe(1);
    expect((await run("profile", "create", "bad name!", "--service-url", consortium.service.url, "--service-cert", "x")).code).toBe(1);
  });
});

describe("governance through the CLI", () => {
  it("activates members, adds one by proposal and vote, and shows its history", async () => {
    for (const name of ["m0", "m1"]) {
      expect(ok(await runAs(name, "-o", "json", "governance", "member", "activate")).json<MemberInfo>().status).toBe("Active");
    }
    const keygen = ok(await run("-o", "json", "governance", "member", "keygen", "--name", "m2")).json<{ memberId: string; certificate: string; privateKey: string }>();
    expect(existsSync(keygen.certificate) && existsSync(keygen.privateKey)).toBe(true);
    expect((await run("governance", "member", "keygen", "--name", "m2")).stderr).toMatch(/refusing to overwrite/);

    const created = ok(await runAs("m0", "-o", "json", "governance", "member", "add", "--certificate", "m2_cert.pem", "--identifier", "m2", "--tenant-id", "t2")).json<ProposalInfo>();
    expect(created.pendingVoters).toHaveLength(2);
    const table = ok(await runAs("m1", "governance", "proposal", "show", "--proposal-id", created.proposalId)).stdout;
    expect(table).toMatch(/pendingVoters\s+m0 \(.{8}…\), m1 \(.{8}…\)|pendingVoters\s+m1 \(.{8}…\), m0 \(.{8}…\)/);

    ok(await runAs("m0", "governance", "proposal", "vote", "--proposal-id", created.proposalId, "--action", "accept"));
    const accepted = ok(await runAs("m1", "-o", "json", "governance", "proposal", "vote", "--proposal-id", created.proposalId, "--action", "accept")).json<ProposalInfo>();
    expect(accepted.proposalState).toBe("Accepted");

    ok(await run("profile", "create", "m2", "--service-url", consortium.service.url, "--service-cert", "service_cert.pem", "--cert", "m2_cert.pem", "--key", "m2_privk.pem"));
    ok(await runAs("m2", "governance", "member", "activate"));
    const members = ok(await runAs("m2", "-o", "json", "governance", "member", "list")).json<MemberInfo[]>();
    expect(members.find((m) => m.memberId === keygen.memberId)).toMatchObject({ status: "Active", memberData: { identifier: "m2", tenantId: "t2" } });
    expect(ok(await runAs("m2", "governance", "member", "show")).stdout).toMatch(/identifier\s+m2/);

    const history = ok(await runAs("m2", "-o", "json", "governance", "proposal", "history", "--proposal-id", created.proposalId)).json<ProposalHistory>();
    expect(history.value.map((h) => h.event)).toEqual(["created", "ballot", "accepted"]);
    expect(ok(await runAs("m2", "governance", "proposal", "history", "--proposal-id", created.proposalId)).stdout).toMatch(/accepted\s+m1/);
  });

  it("creates proposals from a file or one action, votes with a ballot file, rejects and withdraws", async () => {
    const m0 = consortium.members[0]!;
    writeFileSync(join(work, "proposal.json"), JSON.stringify({ actions: [{ name: "set_member_data", args: { member_id: m0.id, member_data: { identifier: "m0-file" } } }] }));
    const fromFile = ok(await runAs("m0", "-o", "json", "governance", "proposal", "create", "--content", "proposal.json")).json<ProposalInfo>();
    writeFileSync(join(work, "ballot.js"), "export function vote (proposal, proposerId) { return JSON.parse(proposal).actions.length === 1 }");
    const voted = ok(await runAs("m1", "-o", "json", "governance", "proposal", "vote", "--proposal-id", fromFile.proposalId, "--ballot", "ballot.js")).json<ProposalInfo>();
    expect(voted.votes).toContainEqual({ memberId: consortium.members[1]!.id, vote: true });
    ok(await runAs("m2", "governance", "proposal", "vote", "--proposal-id", fromFile.proposalId, "--action", "reject"));
    expect(ok(await runAs("m0", "-o", "json", "governance", "proposal", "withdraw", "--proposal-id", fromFile.proposalId)).json<ProposalInfo>().proposalState).toBe("Withdrawn");

    const oneAction = ok(await runAs("m0", "-o", "json", "governance", "proposal", "create", "--action", "set_member_data", "--args", JSON.stringify({ member_id: m0.id, member_data: { identifier: "m0" } }))).json<ProposalInfo>();
    expect(oneAction.proposalState).toBe("Open");
    const listed = ok(await runAs("m0", "-o", "json", "governance", "proposal", "list", "--state", "Open")).json<ProposalInfo[]>();
    expect(listed.map((p) => p.proposalId)).toEqual([oneAction.proposalId]);
    expect(ok(await runAs("m0", "governance", "proposal", "list")).stdout).toMatch(/Withdrawn/);
  });

  it("reports service errors with their code and usage errors with exit code 2", async () => {
    const missing = await runAs("m0", "governance", "proposal", "show", "--proposal-id", "ab".repeat(32));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ProposalNotFound \(HTTP 404\)/);
    const invalid = await runAs("m0", "governance", "proposal", "create", "--action", "set_member_data", "--args", "{not json");
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/--args is not valid JSON/);
    expect((await runAs("m0", "governance", "proposal", "vote", "--proposal-id", "x", "--action", "maybe")).stderr).toMatch(/accept or reject/);
    expect((await run("governance", "proposal", "show")).code).toBe(2);
    expect((await run("no-such-command")).code).toBe(2);
    expect((await run("--help")).code).toBe(0);
  });
});

describe("receipts and ledger verification", () => {
  it("gets and verifies a receipt; a tampered receipt fails with exit code 1", async () => {
    const m0 = consortium.members[0]!;
    const { transactionId } = await m0.client.createProposal({ actions: [{ name: "set_member_data", args: { member_id: m0.id, member_data: { identifier: "r" } } }] });
    ok(await runAs("m0", "receipt", "get", "--transaction-id", transactionId!, "--out", "receipt.json"));
    const verified = ok(await run("-o", "json", "receipt", "verify", "--receipt", "receipt.json", "--service-cert", "service_cert.pem")).json<{ ok: boolean; transactionId: string }>();
    expect(verified).toMatchObject({ ok: true, transactionId });

    const receipt = JSON.parse(readFileSync(join(work, "receipt.json"), "utf8")) as { proof: Array<Record<string, string>> };
    const step = receipt.proof[0]!;
    const side = Object.keys(step)[0]!;
    step[side] = `${step[side]![0] === "0" ? "1" : "0"}${step[side]!.slice(1)}`;
    writeFileSync(join(work, "tampered.json"), JSON.stringify(receipt));
    const tampered = await run("-o", "json", "receipt", "verify", "--receipt", "tampered.json", "--service-cert", "service_cert.pem");
    expect(tampered.code).toBe(1);
    expect(tampered.json<{ ok: boolean }>().ok).toBe(false);
  });

  it("verifies the ledger offline and reports the first altered transaction", async () => {
    await consortium.service.close();
    const verified = ok(await run("-o", "json", "ledger", "verify", consortium.dataDir)).json<{ ok: boolean; transactions: number }>();
    expect(verified.ok).toBe(true);
    expect(verified.transactions).toBeGreaterThan(10);

    const copy = join(work, "tampered-service");
    cpSync(consortium.dataDir, copy, { recursive: true });
    const db = new Database(join(copy, "ledger", "ledger.sqlite"));
    const row = db.prepare("SELECT entry FROM tx WHERE seqno = 5").get() as { entry: Buffer };
    const entry = Buffer.from(row.entry);
    entry.writeUInt8(entry.readUInt8(entry.length - 40) ^ 0xff, entry.length - 40);
    db.prepare("UPDATE tx SET entry = ? WHERE seqno = 5").run(entry);
    db.close();
    const result = await run("ledger", "verify", copy);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/problem\s+(altered|corrupt) at seqno 5/);
  });
});
