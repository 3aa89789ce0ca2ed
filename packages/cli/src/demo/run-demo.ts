import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { CliIo } from "../io.js";
import { stackDown, stackUp, type StackFile } from "../stack/local-stack.js";
import {
  ADTECH_FIELDS,
  ADTECH_VIEWS,
  adtechScenario,
  DEMO_MIN_GROUP_SIZE,
  DEMO_QUERY_SQL,
  DEMO_RESULT_FIELDS,
  writeAdtechCsv,
  type AdtechDataset,
} from "./adtech-data.js";

// `cleanroom demo`: a complete two-party collaboration on a fresh local stack, every step a real `cleanroom`
// command, printed before it runs: members, a contract decided by its required members, the agent admitted by a
// clean-room policy, datasets generated and published encrypted, a sink, a query with a minimum-group-size guard,
// a refused unapproved run, approvals, a run with progress, the decrypted result, a consent revocation that blocks
// the next run, and the audit timeline.

export interface DemoOptions {
  /** A folder the demo owns: wiped first. */
  directory: string;
  rows: number;
  keepRunning: boolean;
  /** The engine's memory limit per run. */
  memoryLimit: string;
}

export type CliRunner = (argv: readonly string[], io: CliIo) => Promise<number>;

export const DEMO_CONTRACT = "collab";
const CONTRACT = DEMO_CONTRACT;
const bold = (text: string) => `\x1b[1m${text}\x1b[0m`;
const dim = (text: string) => `\x1b[2m${text}\x1b[0m`;

function fieldList(dataset: AdtechDataset | "result"): string {
  const fields = dataset === "result" ? DEMO_RESULT_FIELDS : ADTECH_FIELDS[dataset];
  return fields.map((field) => `${field.name}:${field.type}`).join(",");
}

/** Runs `cleanroom` commands in-process as one collaborator after another, printing each (or quietly). */
export class Demo {
  #step = 0;

  constructor(
    private readonly io: CliIo,
    private readonly runCli: CliRunner,
    private readonly env: Record<string, string | undefined>,
    private readonly cwd: string,
  ) {}

  step(title: string): void {
    this.io.stdout(`\n${bold(`== ${++this.#step}. ${title}`)}\n`);
  }

  say(text: string): void {
    this.io.stdout(`${text}\n`);
  }

  #echo(args: readonly string[]): void {
    this.io.stdout(dim(`$ cleanroom ${args.map((arg) => (/[\s"'$]/.test(arg) ? `'${arg.replaceAll("'", "'\\''")}'` : arg)).join(" ")}`) + "\n");
  }

  /** Runs a command, printing it and its output; throws unless it exits with `expect` (default 0). */
  async run(args: string[], expect = 0): Promise<string> {
    this.#echo(args);
    let stdout = "";
    const code = await this.runCli(args, {
      stdout: (text) => {
        stdout += text;
        this.io.stdout(text);
      },
      stderr: (text) => this.io.stderr(dim(text)),
      env: this.env,
      cwd: this.cwd,
    });
    if (code !== expect) throw new Error(`cleanroom ${args.slice(0, 4).join(" ")} exited with ${code}, expected ${expect}`);
    return stdout;
  }

  /** Runs a command with JSON output, printing only the command, and returns the output parsed (for ids the next steps need). */
  async json<T>(args: string[]): Promise<T> {
    this.#echo(["--output", "json", ...args]);
    let stdout = "";
    let stderr = "";
    const code = await this.runCli(["--output", "json", ...args], { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env: this.env, cwd: this.cwd });
    if (code !== 0) throw new Error(`cleanroom ${args.slice(0, 4).join(" ")} failed: ${stderr.trim()}`);
    return JSON.parse(stdout) as T;
  }
}

async function admitMember(demo: Demo, stack: StackFile, name: string, voters: string[]): Promise<void> {
  await demo.run(["governance", "member", "keygen", "--name", name]);
  const proposal = await demo.json<{ proposalId: string }>(["--profile", "operator", "governance", "member", "add", "--certificate", `${name}_cert.pem`, "--identifier", name]);
  demo.say(`proposal ${proposal.proposalId}: add member ${name}`);
  for (const voter of voters) await demo.run(["--profile", voter, "governance", "proposal", "vote", "--proposal-id", proposal.proposalId, "--action", "accept"]);
  await demo.run([
    "profile",
    "create",
    name,
    "--service-url",
    stack.governance.url,
    "--service-cert",
    stack.governance.serviceCertificate,
    "--cert",
    `${name}_cert.pem`,
    "--key",
    `${name}_privk.pem`,
    "--agent-url",
    stack.agent.url,
    "--agent-cert",
    stack.agent.certificate,
  ]);
  await demo.run(["--profile", name, "governance", "member", "activate"]);
}

/**
 * Everything before data: the operator's profile, the publisher and the advertiser admitted as members, the contract
 * decided by them (requiredMembers), and the agent admitted by the contract's clean-room policy. Used by the demo and
 * by the analytics benchmark.
 */
export async function establishCollaboration(demo: Demo, stack: StackFile): Promise<void> {
  await demo.run([
    "profile",
    "create",
    "operator",
    "--service-url",
    stack.governance.url,
    "--service-cert",
    stack.governance.serviceCertificate,
    "--cert",
    stack.operator.certificate,
    "--key",
    stack.operator.privateKey,
    "--agent-url",
    stack.agent.url,
    "--agent-cert",
    stack.agent.certificate,
  ]);
  await demo.run(["--profile", "operator", "governance", "member", "activate"]);
  demo.say(`governance ${stack.governance.url}, agent ${stack.agent.url} (host data ${stack.agent.hostData.slice(0, 16)}…)`);

  demo.step("The operator admits a publisher and an advertiser to the consortium");
  await admitMember(demo, stack, "publisher", ["operator"]);
  await admitMember(demo, stack, "advertiser", ["operator", "publisher"]);
  await demo.run(["--profile", "operator", "governance", "member", "list"]);
  const members = await demo.json<Array<{ memberId: string; memberData: { identifier?: string } }>>(["--profile", "operator", "governance", "member", "list"]);
  const id = (name: string) => members.find((member) => member.memberData.identifier === name)?.memberId ?? "";

  demo.step("A contract that only the publisher and the advertiser decide (metadata.voters.requiredMembers)");
  const contractData = { metadata: { voters: { requiredMembers: [id("publisher"), id("advertiser")] } }, purpose: "campaign conversion measurement" };
  const draft = await demo.json<{ version: string }>(["--profile", "publisher", "governance", "contract", "create", "--id", CONTRACT, "--data", JSON.stringify(contractData)]);
  const proposal = await demo.json<{ proposalId: string }>(["--profile", "publisher", "governance", "contract", "propose", "--id", CONTRACT, "--version", draft.version]);
  for (const name of ["publisher", "advertiser"]) {
    await demo.run(["--profile", name, "governance", "contract", "vote", "--id", CONTRACT, "--proposal-id", proposal.proposalId, "--action", "accept"]);
  }
  await demo.run(["--profile", "operator", "governance", "contract", "show", "--id", CONTRACT]);

  demo.step("The members admit the agent: the contract's clean-room policy names its host data (what it runs)");
  const policy = await demo.json<{ proposalId: string }>([
    "--profile",
    "operator",
    "governance",
    "contract",
    "clean-room-policy",
    "propose",
    "--id",
    CONTRACT,
    "--type",
    "add",
    "--claims",
    JSON.stringify({ "x-ms-sevsnpvm-hostdata": [stack.agent.hostData], "x-ms-sevsnpvm-is-debuggable": false }),
  ]);
  for (const name of ["operator", "publisher", "advertiser"]) {
    await demo.run(["--profile", name, "governance", "proposal", "vote", "--proposal-id", policy.proposalId, "--action", "accept"]);
  }
}

/** Drives the collaboration; returns the exit code (0: every step behaved as expected). */
export async function runDemo(options: DemoOptions, io: CliIo, runCli: CliRunner, operatorIdentity: (directory: string) => Promise<{ certificate: string; privateKey: string }>): Promise<number> {
  rmSync(options.directory, { recursive: true, force: true });
  const work = join(options.directory, "work");
  const storage = join(options.directory, "storage");
  mkdirSync(work, { recursive: true });
  mkdirSync(storage, { recursive: true });
  const env: Record<string, string | undefined> = { ...io.env, CLEANROOM_HOME: join(options.directory, "home"), CLEANROOM_PROFILE: undefined };
  const demo = new Demo(io, runCli, env, work);
  const stackDir = join(options.directory, "stack");

  demo.step("Start a local clean room: governance service, agent (embedded DuckDB engine), virtual attestation platform");
  demo.say(dim(`$ cleanroom up --dir ${stackDir} --contract-id ${CONTRACT}`));
  const stack = await stackUp({ directory: stackDir, contractId: CONTRACT, operator: await operatorIdentity(stackDir), memoryLimit: options.memoryLimit });
  try {
    await establishCollaboration(demo, stack);

    demo.step(`Each party generates its data (${options.rows.toLocaleString("en")} rows each: hashed user ids, dates, campaigns, conversions)`);
    const scenario = adtechScenario({ impressionRows: options.rows, conversionRows: options.rows });
    const files: Record<AdtechDataset, string> = { impressions: join(work, "impressions.csv"), conversions: join(work, "conversions.csv") };
    for (const dataset of ["impressions", "conversions"] as const) {
      const written = await writeAdtechCsv(dataset, scenario, files[dataset], { header: true });
      demo.say(`${files[dataset]}: ${written.rows.toLocaleString("en")} rows, ${(written.bytes / 1e6).toFixed(1)} MB`);
    }

    demo.step("Each owner publishes its dataset: encrypted client-side (Parquet, AES-256-GCM), key kept as a governance secret");
    for (const [owner, dataset] of [["publisher", "impressions"], ["advertiser", "conversions"]] as const) {
      const allowed = dataset === "impressions" ? "user_id,impression_date,campaign_id" : "user_id,conversion_date,campaign_id,conversions,revenue";
      await demo.run([
        "--profile",
        owner,
        "dataset",
        "publish",
        "--contract-id",
        CONTRACT,
        "--name",
        dataset,
        "--input",
        files[dataset],
        "--csv-header",
        "--fields",
        fieldList(dataset),
        "--allowed-fields",
        allowed,
        "--local-path",
        join(storage, owner, dataset),
      ]);
    }
    await demo.run(["--profile", "operator", "dataset", "list", "--contract-id", CONTRACT]);

    demo.step("The advertiser publishes the sink that receives the result, encrypted under its own key");
    await demo.run(["--profile", "advertiser", "sink", "publish", "--contract-id", CONTRACT, "--name", "campaign-results", "--fields", fieldList("result"), "--local-path", join(storage, "advertiser", "results")]);

    demo.step(`The operator proposes a join-and-aggregate query; groups of fewer than ${DEMO_MIN_GROUP_SIZE} users are suppressed`);
    await demo.run([
      "--profile",
      "operator",
      "query",
      "create",
      "--contract-id",
      CONTRACT,
      "--id",
      "conversion-lift",
      "--input",
      `impressions:${ADTECH_VIEWS.impressions}`,
      "--input",
      `conversions:${ADTECH_VIEWS.conversions}`,
      "--sink",
      "campaign-results",
      "--sql",
      DEMO_QUERY_SQL,
      "--min-rows",
      `${ADTECH_VIEWS.impressions}:1000`,
      "--min-rows",
      `${ADTECH_VIEWS.conversions}:1000`,
      "--post-filter",
      `converting_users:${DEMO_MIN_GROUP_SIZE}`,
    ]);

    demo.step("Running it before both owners approved is refused (and audited)");
    await demo.run(["--profile", "advertiser", "query", "run", "--contract-id", CONTRACT, "--id", "conversion-lift"], 1);

    demo.step("The owners of the data and of the sink approve this exact version of the query");
    for (const name of ["publisher", "advertiser"]) await demo.run(["--profile", name, "query", "approve", "--contract-id", CONTRACT, "--id", "conversion-lift"]);
    await demo.run(["--profile", "operator", "query", "show", "--contract-id", CONTRACT, "--id", "conversion-lift"]);

    demo.step("The advertiser runs it: the agent checks approvals and consent, obtains the keys as an attested workload, and runs it");
    await demo.run(["--profile", "advertiser", "query", "run", "--contract-id", CONTRACT, "--id", "conversion-lift", "--run-id", "run-1"]);

    demo.step("The advertiser downloads and decrypts the result (nobody else holds the sink's key)");
    await demo.run(["--profile", "advertiser", "results", "download", "--contract-id", CONTRACT, "--sink", "campaign-results", "--job-id", "run-1"]);

    demo.step("The publisher revokes its consent: the next run is refused before it touches any data");
    await demo.run(["--profile", "publisher", "consent", "disable", "--contract-id", CONTRACT, "--document-id", "impressions"]);
    await demo.run(["--profile", "advertiser", "query", "run", "--contract-id", CONTRACT, "--id", "conversion-lift", "--run-id", "run-2"], 1);
    await demo.run(["--profile", "advertiser", "query", "runs", "--contract-id", CONTRACT, "--id", "conversion-lift"]);

    demo.step("The audit timeline: every governance decision and every clean-room event, on the verifiable ledger");
    await demo.run(["--profile", "operator", "audit", "list", "--contract-id", CONTRACT]);
    io.stdout(`\n${bold("Demo complete.")} Everything is in ${options.directory}.\n`);
  } finally {
    if (options.keepRunning) {
      io.stdout(`The stack keeps running (CLEANROOM_HOME=${env.CLEANROOM_HOME}); stop it with: cleanroom down --dir ${stackDir}\n`);
    } else {
      await stackDown(stackDir);
    }
  }
  return 0;
}
