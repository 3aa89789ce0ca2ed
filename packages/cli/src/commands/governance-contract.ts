import { Option, type Command } from "commander";
import {
  DelegateTypeSchema,
  PolicyTypeSchema,
  ContractRuntimeOptionSchema,
  ContractStateSchema,
  RuntimeOptionActionSchema,
  type CleanRoomPolicy,
  type Contract,
  type PolicyType,
  type SetCleanRoomPolicyArgs,
  type ContractRuntimeOption,
  type ContractState,
  type DelegateType,
  type PolicyClaims,
  type RuntimeOptionAction,
} from "@cleanroom/protocol";
import { formatRecord, formatTable } from "../io.js";
import { jsonArgument, type CommandContext } from "../context.js";
import { formatData, formatVotes, runtimeOptionRecord } from "./app-output.js";
import { memberLabels } from "./member-names.js";
import { printProposal } from "./proposal-output.js";
import type { Run } from "./types.js";

const ID = ["--id <id>", "contract id"] as const;

function actionOption(): Option {
  return new Option("--action <action>", "enable or disable").choices(RuntimeOptionActionSchema.options).makeOptionMandatory();
}

/** A contract as record fields, with member names: votes while Proposed, final votes once Accepted. */
export function contractRecord(contract: Contract, label: (id: string) => string): Record<string, unknown> {
  return {
    id: contract.id,
    state: contract.state,
    version: contract.version,
    proposalId: contract.proposalId || "none",
    ...(contract.requiredMembers ? { requiredMembers: contract.requiredMembers.map(label).join(", ") } : {}),
    ...(contract.state === "Proposed" ? { votes: formatVotes(contract.votes, label) } : {}),
    ...(contract.pendingVoters ? { pendingVoters: contract.pendingVoters.map(label).join(", ") || "none" } : {}),
    ...(contract.finalVotes ? { finalVotes: formatVotes(contract.finalVotes, label) } : {}),
    data: formatData(contract.data),
  };
}

async function show(ctx: CommandContext, options: { id: string }): Promise<void> {
  const client = await ctx.client();
  const contract = await client.contract(options.id);
  if (ctx.printer.format === "json") return ctx.printer.value(contract);
  const label = await memberLabels(client);
  ctx.printer.value(contract, () => formatRecord(contractRecord(contract, label)));
}

function registerRuntimeOptionCommands(contract: Command, run: Run): void {
  const runtimeOption = contract.command("runtime-option").description("A contract's runtime options: execution (per-member consent), logging and telemetry (by proposal).");

  run(
    runtimeOption
      .command("get")
      .description("Show whether a runtime option is enabled, and why not.")
      .requiredOption(...ID)
      .addOption(new Option("--option <option>", "runtime option").choices(ContractRuntimeOptionSchema.options).makeOptionMandatory()),
    async (ctx, options: { id: string; option: ContractRuntimeOption }) => {
      const client = await ctx.client();
      const status = await client.contractRuntimeOption(options.id, options.option);
      if (ctx.printer.format === "json") return ctx.printer.value(status);
      const label = await memberLabels(client);
      ctx.printer.value(status, () => formatRecord(runtimeOptionRecord(options.option, status, label)));
    },
  );

  run(
    runtimeOption
      .command("set")
      .description("Enable or disable execution of an accepted contract as the selected member (it runs only while no member has it disabled).")
      .requiredOption(...ID)
      .addOption(new Option("--option <option>", "runtime option (only execution is set directly)").choices(["execution"]).makeOptionMandatory())
      .addOption(actionOption()),
    async (ctx, options: { id: string; option: ContractRuntimeOption; action: RuntimeOptionAction }) => {
      const client = await ctx.client();
      const { value, transactionId } = await client.setContractRuntimeOption(options.id, options.option, options.action);
      ctx.printer.note(`${options.option} ${options.action}d for contract ${options.id} by this member; now ${value.status} (transaction ${transactionId ?? "?"})`);
      if (ctx.printer.format === "json") return ctx.printer.value(value);
      const label = await memberLabels(client);
      ctx.printer.value(value, () => formatRecord(runtimeOptionRecord(options.option, value, label)));
    },
  );

  run(
    runtimeOption
      .command("propose")
      .description("Propose enabling or disabling logging or telemetry of an accepted contract (enabling needs the members' votes; disabling is accepted at once).")
      .requiredOption(...ID)
      .addOption(new Option("--option <option>", "runtime option").choices(["logging", "telemetry"]).makeOptionMandatory())
      .addOption(actionOption()),
    async (ctx, options: { id: string; option: "logging" | "telemetry"; action: RuntimeOptionAction }) => {
      const client = await ctx.client();
      const { value, transactionId } = await client.proposeContractRuntimeOption(options.id, options.option, options.action);
      ctx.printer.note(`proposal ${value.proposalId} to ${options.action} ${options.option} is ${value.proposalState} (transaction ${transactionId ?? "?"})`);
      await printProposal(ctx, client, value);
    },
  );
}

/** Claims as table rows: one per claim, with its allowed values. */
function claimRows(type: string, claims: PolicyClaims | undefined): Array<{ type: string; claim: string; values: string }> {
  return Object.entries(claims ?? {}).map(([claim, values]) => ({ type, claim, values: values.map((v) => String(v)).join(", ") }));
}

/** A policy as table rows: one per policy type and claim, with its allowed values. */
function policyRows(policy: CleanRoomPolicy): Array<{ type: string; claim: string; values: string }> {
  return Object.entries(policy.policies).flatMap(([type, claims]) => claimRows(type, claims));
}

const CLAIM_COLUMNS = [
  { header: "TYPE", value: (r: { type: string }) => r.type },
  { header: "CLAIM", value: (r: { claim: string }) => r.claim },
  { header: "ALLOWED VALUES", value: (r: { values: string }) => r.values },
];

function registerDelegateCommands(policy: Command, run: Run): void {
  const delegate = policy
    .command("delegate")
    .description("Delegate policies: a second workload identity that an attested clean room of the contract admitted for one secret, event writing, or an ID token subject.");
  run(delegate.command("list").description("List the contract's delegates that admit anybody.").requiredOption(...ID), async (ctx, options: { id: string }) => {
    const delegates = await (await ctx.client()).delegates(options.id);
    ctx.printer.value(delegates, () =>
      delegates.length === 0
        ? "no delegates: only the contract's policy admits workloads\n"
        : formatTable(delegates, [
            { header: "TYPE", value: (d) => d.delegateType },
            { header: "ID", value: (d) => d.delegateId },
          ]),
    );
  });
  run(
    delegate
      .command("show")
      .description("Show the claims a delegate admits besides the contract's policy.")
      .requiredOption(...ID)
      .addOption(new Option("--type <type>", "delegate type").choices(DelegateTypeSchema.options).makeOptionMandatory())
      .requiredOption("--delegate-id <id>", "the secret id, writer (events), or token subject (<contract id>[/<name>])"),
    async (ctx, options: { id: string; type: DelegateType; delegateId: string }) => {
      const claims = await (await ctx.client()).delegateClaims(options.id, { delegateType: options.type, delegateId: options.delegateId });
      const rows = claimRows("snp-caci", claims);
      ctx.printer.value({ claims }, () => (rows.length === 0 ? "no claims: the delegate admits nobody\n" : formatTable(rows, CLAIM_COLUMNS)));
    },
  );
}

function registerCleanRoomPolicyCommands(contract: Command, run: Run): void {
  const policy = contract
    .command("clean-room-policy")
    .description("The claims an attested workload must satisfy for this contract (SEV-SNP host data, debug policy, ...; or a JWT workload's claims).");

  run(policy.command("show").description("Show the contract's clean-room policy and open proposals to change it.").requiredOption(...ID), async (ctx, options: { id: string }) => {
    const value = await (await ctx.client()).cleanRoomPolicy(options.id);
    ctx.printer.value(value, () => {
      const rows = policyRows(value);
      const table = rows.length === 0 ? "no policy: no workload can attest for this contract yet\n" : formatTable(rows, CLAIM_COLUMNS);
      return `${table}open proposals: ${value.proposalIds.join(", ") || "none"}\n`;
    });
  });

  run(
    policy
      .command("propose")
      .description("Propose adding or removing allowed claim values (needs every counted member; any member can veto). Booleans replace.")
      .requiredOption(...ID)
      .addOption(new Option("--type <type>", "add or remove values").choices(["add", "remove"]).makeOptionMandatory())
      .addOption(new Option("--policy-type <type>", "attestation kind").choices(PolicyTypeSchema.options).default("snp-caci"))
      .requiredOption("--claims <json>", 'claims and values, e.g. {"x-ms-sevsnpvm-hostdata": ["<64 hex>"], "x-ms-sevsnpvm-is-debuggable": false} (JSON or @file)'),
    async (ctx, options: { id: string; type: "add" | "remove"; policyType: PolicyType; claims: string }) => {
      const claims = jsonArgument(ctx, options.claims, "--claims");
      if (typeof claims !== "object" || claims === null || Array.isArray(claims)) throw new Error("--claims must be a JSON object of claim names to values.");
      const client = await ctx.client();
      const { value, transactionId } = await client.proposeCleanRoomPolicy({
        contractId: options.id,
        type: options.type,
        policyType: options.policyType,
        claims: claims as SetCleanRoomPolicyArgs["claims"],
      });
      ctx.printer.note(`proposal ${value.proposalId} to ${options.type} ${options.policyType} policy claims is ${value.proposalState} (transaction ${transactionId ?? "?"})`);
      await printProposal(ctx, client, value);
    },
  );
  registerDelegateCommands(policy, run);
}

function registerSecretCommands(contract: Command, run: Run): void {
  const secret = contract.command("secret").description("Secrets of a contract: released only to attested workloads its clean-room policy admits.");
  run(
    secret
      .command("set")
      .description("Store a secret (id <your id>_<name>; setting it again replaces your value).")
      .requiredOption("--contract-id <id>", "contract id")
      .requiredOption("--name <name>", "secret name")
      .option("--value <value>", "the value (prefer --value-file: command lines are visible to other users)")
      .option("--value-file <file>", "read the value from this file"),
    async (ctx, options: { contractId: string; name: string; value?: string; valueFile?: string }) => {
      if ((options.value === undefined) === (options.valueFile === undefined)) throw new Error("Give exactly one of --value and --value-file.");
      const value = options.value ?? ctx.readFile(options.valueFile as string);
      const { value: result, transactionId } = await (await ctx.client()).putSecret(options.contractId, options.name, value);
      ctx.printer.note(`secret ${result.secretId} stored (transaction ${transactionId ?? "?"})`);
      ctx.printer.value(result, () => formatRecord(result));
    },
  );
  run(secret.command("list").description("List the contract's secret ids (values are never shown).").requiredOption("--contract-id <id>", "contract id"), async (ctx, options: { contractId: string }) => {
    const secrets = await (await ctx.client()).secrets(options.contractId);
    ctx.printer.value(secrets, () => formatTable(secrets, [{ header: "SECRET ID", value: (s) => s.secretId }]));
  });
}

export function registerGovernanceContractCommands(governance: Command, run: Run): void {
  const contract = governance.command("contract").description("Contracts: drafts, proposals and votes, runtime options.");

  run(
    contract
      .command("create")
      .description("Create a draft contract, or update a draft (give its current --version). data.metadata.voters.requiredMembers (member ids) makes only those members decide.")
      .requiredOption(...ID)
      .requiredOption("--data <json>", "the contract data (JSON or @file)")
      .option("--version <version>", "the current version, to update an existing draft"),
    async (ctx, options: { id: string; data: string; version?: string }) => {
      const data = jsonArgument(ctx, options.data, "--data");
      const client = await ctx.client();
      const { value, transactionId } = await client.putContract(options.id, { data, ...(options.version !== undefined ? { version: options.version } : {}) });
      ctx.printer.note(`contract ${value.id} ${options.version === undefined ? "created" : "updated"} at version ${value.version} (transaction ${transactionId ?? "?"})`);
      ctx.printer.value(value, () => formatRecord(value));
    },
  );

  run(contract.command("show").description("Show a contract: state, version, votes and who still has to vote.").requiredOption(...ID), show);

  run(
    contract
      .command("list")
      .description("List contracts with their state.")
      .addOption(new Option("--state <state>", "only contracts in this state").choices(ContractStateSchema.options)),
    async (ctx, options: { state?: ContractState }) => {
      const contracts = await (await ctx.client()).contracts(options.state);
      ctx.printer.value(contracts, () =>
        formatTable(contracts, [
          { header: "CONTRACT ID", value: (c) => c.id },
          { header: "STATE", value: (c) => c.state },
        ]),
      );
    },
  );

  run(
    contract
      .command("propose")
      .description("Propose the contract at --version for acceptance (fails with ContractModified if it changed since).")
      .requiredOption(...ID)
      .option("--version <version>", "the version being proposed (from `contract show`)"),
    async (ctx, options: { id: string; version?: string }) => {
      const client = await ctx.client();
      const { value, transactionId } = await client.proposeContract(options.id, options.version);
      ctx.printer.note(`contract ${options.id} proposed: proposal ${value.proposalId} is ${value.proposalState} (transaction ${transactionId ?? "?"})`);
      await printProposal(ctx, client, value);
    },
  );

  run(
    contract
      .command("vote")
      .description("Accept or reject the contract's open proposal as the selected member.")
      .requiredOption(...ID)
      .option("--proposal-id <id>", "the contract's open proposal (from `contract show`)")
      .addOption(new Option("--action <action>", "accept or reject").choices(["accept", "reject"]).makeOptionMandatory()),
    async (ctx, options: { id: string; proposalId?: string; action: "accept" | "reject" }) => {
      const client = await ctx.client();
      const { value, transactionId } = await client.voteContract(options.id, options.proposalId, options.action === "accept");
      ctx.printer.note(`ballot recorded; proposal ${value.proposalId} is ${value.proposalState} (transaction ${transactionId ?? "?"})`);
      await printProposal(ctx, client, value);
    },
  );

  registerRuntimeOptionCommands(contract, run);
  registerCleanRoomPolicyCommands(contract, run);
  registerSecretCommands(contract, run);
}
