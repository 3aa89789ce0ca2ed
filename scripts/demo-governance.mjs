#!/usr/bin/env node
// `npm run demo:governance`: installs and builds, starts a governance service, and walks a three-member consortium through
// adding a fourth member by proposal and vote, a contract decided by its required members, a user document approved
// Draft → Proposed → Accepted, runtime consent and the audit log, then checks a receipt and the whole ledger offline.
// Every step runs the real `cleanroom` CLI, printed before it runs.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { build, installNodeDependencies } from "./setup.mjs";
import { cacheDir, root } from "./lib.mjs";

installNodeDependencies();
build();

const work = join(cacheDir, "demo-governance");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const cli = join(root, "packages", "cli", "dist", "bin.js");
const env = { ...process.env, CLEANROOM_HOME: join(work, "home") };
const bold = (text) => `\x1b[1m${text}\x1b[0m`;

function step(title) {
  process.stdout.write(`\n${bold(`== ${title}`)}\n`);
}

function cleanroom(...args) {
  process.stdout.write(`\x1b[2m$ cleanroom ${args.join(" ")}\x1b[0m\n`);
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: work, env, encoding: "utf8" });
  process.stdout.write(result.stdout);
  if (result.stderr) process.stdout.write(`\x1b[2m${result.stderr}\x1b[0m`);
  if (result.status !== 0) throw new Error(`cleanroom ${args[0]} ${args[1] ?? ""} failed with exit code ${result.status}`);
  return result.stdout;
}

const json = (...args) => JSON.parse(cleanroom("--output", "json", ...args));

const members = [
  { name: "contoso", tenant: "contoso-tenant" },
  { name: "fabrikam", tenant: "fabrikam-tenant" },
  { name: "litware", tenant: "litware-tenant" },
  { name: "woodgrove", tenant: "woodgrove-tenant" },
];

step("1. Each organisation generates its member identity (ECDSA P-384)");
for (const m of members) json("governance", "member", "keygen", "--name", m.name);

step("2. Start the governance service with three initial members");
const ready = join(work, "ready.json");
const startArgs = ["governance", "service", "start", "--data-dir", join(work, "service"), "--ready-file", ready];
for (const m of members.slice(0, 3)) {
  startArgs.push("--initial-member", `${m.name}_cert.pem`, "--initial-member-data", JSON.stringify({ identifier: m.name, tenantId: m.tenant }));
}
process.stdout.write(`\x1b[2m$ cleanroom ${startArgs.join(" ")} &\x1b[0m\n`);
const service = spawn(process.execPath, [cli, ...startArgs], { cwd: work, env, stdio: ["ignore", "inherit", "inherit"] });
let stopped = false;
const stop = () => {
  if (!stopped) service.kill("SIGTERM");
  stopped = true;
};
process.on("exit", stop);
for (let i = 0; !existsSync(ready); i++) {
  if (i > 300 || service.exitCode !== null) throw new Error("the governance service did not start");
  await sleep(100);
}
const { url, serviceCertificate } = JSON.parse(readFileSync(ready, "utf8"));

try {
  step("3. Each member saves a profile that pins the service certificate");
  for (const m of members) {
    cleanroom("profile", "create", m.name, "--service-url", url, "--service-cert", serviceCertificate, "--cert", `${m.name}_cert.pem`, "--key", `${m.name}_privk.pem`);
  }

  step("4. The initial members activate (acknowledge the service state)");
  for (const m of members.slice(0, 3)) cleanroom("--profile", m.name, "governance", "member", "activate");
  cleanroom("--profile", "contoso", "governance", "member", "list");

  step("5. contoso proposes adding woodgrove");
  const proposal = json("--profile", "contoso", "governance", "member", "add", "--certificate", "woodgrove_cert.pem", "--identifier", "woodgrove", "--tenant-id", "woodgrove-tenant");
  const id = proposal.proposalId;
  cleanroom("--profile", "contoso", "governance", "proposal", "show", "--proposal-id", id);

  step("6. Every counted member votes; the service shows who is still pending");
  cleanroom("--profile", "contoso", "governance", "proposal", "vote", "--proposal-id", id, "--action", "accept");
  cleanroom("--profile", "fabrikam", "governance", "proposal", "vote", "--proposal-id", id, "--action", "accept");
  const accepted = json("--profile", "litware", "governance", "proposal", "vote", "--proposal-id", id, "--action", "accept");
  if (accepted.proposalState !== "Accepted") throw new Error(`expected Accepted, got ${accepted.proposalState}`);

  step("7. woodgrove activates and is now an Active member");
  cleanroom("--profile", "woodgrove", "governance", "member", "activate");
  cleanroom("--profile", "woodgrove", "governance", "member", "list");

  step("8. The proposal's outcome and ballots stay queryable, with the ledger transactions");
  cleanroom("--profile", "woodgrove", "governance", "proposal", "history", "--proposal-id", id);

  step("9. contoso drafts a contract that only contoso and fabrikam decide (metadata.voters.requiredMembers)");
  const ids = Object.fromEntries(json("--profile", "contoso", "governance", "member", "list").map((m) => [m.memberData.identifier, m.memberId]));
  const contractData = { metadata: { voters: { requiredMembers: [ids.contoso, ids.fabrikam] } }, purpose: "campaign reach measurement" };
  const draft = json("--profile", "contoso", "governance", "contract", "create", "--id", "ads-reach", "--data", JSON.stringify(contractData));
  cleanroom("--profile", "contoso", "governance", "contract", "show", "--id", "ads-reach");

  step("10. contoso proposes it; the contract is frozen while under proposal; both required members accept");
  const contractProposal = json("--profile", "contoso", "governance", "contract", "propose", "--id", "ads-reach", "--version", draft.version);
  cleanroom("--profile", "litware", "governance", "contract", "show", "--id", "ads-reach");
  for (const name of ["contoso", "fabrikam"]) {
    cleanroom("--profile", name, "governance", "contract", "vote", "--id", "ads-reach", "--proposal-id", contractProposal.proposalId, "--action", "accept");
  }
  const contract = json("--profile", "litware", "governance", "contract", "show", "--id", "ads-reach");
  if (contract.state !== "Accepted") throw new Error(`expected the contract Accepted, got ${contract.state}`);
  cleanroom("--profile", "litware", "governance", "contract", "show", "--id", "ads-reach");

  step("11. fabrikam publishes a dataset document; its approvers accept it version by version: Draft → Proposed → Accepted");
  const approvers = [ids.contoso, ids.fabrikam].map((approverId) => ({ approverId, approverIdType: "member" }));
  const document = json("--profile", "fabrikam", "governance", "user-document", "create", "--contract-id", "ads-reach", "--id", "impressions",
    "--data", JSON.stringify({ kind: "dataset", schema: ["user_hash", "campaign", "date"] }), "--labels", JSON.stringify({ kind: "dataset" }),
    "--approvers", JSON.stringify(approvers));
  for (const name of ["contoso", "fabrikam"]) {
    cleanroom("--profile", name, "governance", "user-document", "approve", "--contract-id", "ads-reach", "--id", "impressions", "--version", document.version);
    cleanroom("--profile", "litware", "governance", "user-document", "show", "--contract-id", "ads-reach", "--id", "impressions");
  }

  step("12. Runtime consent: any member can stop execution at once");
  cleanroom("--profile", "litware", "governance", "contract", "runtime-option", "set", "--id", "ads-reach", "--option", "execution", "--action", "disable");
  cleanroom("--profile", "contoso", "governance", "contract", "runtime-option", "get", "--id", "ads-reach", "--option", "execution");
  cleanroom("--profile", "litware", "governance", "contract", "runtime-option", "set", "--id", "ads-reach", "--option", "execution", "--action", "enable");

  step("13. The audit log: every decision, recorded by the service in the same transaction");
  cleanroom("--profile", "woodgrove", "governance", "event", "list", "--contract-id", "ads-reach", "--scope", "governance", "--all");

  step("14. A receipt for the member's acceptance, verified offline against the pinned service certificate");
  cleanroom("--profile", "woodgrove", "receipt", "get", "--transaction-id", accepted.lastTxId, "--out", "acceptance-receipt.json");
  cleanroom("receipt", "verify", "--receipt", "acceptance-receipt.json", "--service-cert", serviceCertificate);
} finally {
  stop();
  await new Promise((resolve) => (service.exitCode !== null ? resolve() : service.once("exit", resolve)));
}

step("15. The whole ledger re-verified offline (service stopped)");
cleanroom("ledger", "verify", join(work, "service"));
process.stdout.write(`\n${bold("Demo complete.")} Files are in ${work}\n`);
