import type { Command } from "commander";
import { ProposalBodySchema, ProposalStateSchema, type ProposalBody } from "@cleanroom/protocol";
import { formatTable } from "../io.js";
import { jsonArgument, type CommandContext } from "../context.js";
import { memberLabels } from "./member-names.js";
import { printProposal } from "./proposal-output.js";
import type { Run } from "./types.js";

const PROPOSAL_ID = ["--proposal-id <id>", "proposal id"] as const;

function proposalBody(ctx: CommandContext, options: { content?: string; action?: string; args?: string }): ProposalBody {
  if ((options.content === undefined) === (options.action === undefined)) {
    throw new Error("Give either --content <file> or --action <name> [--args <json>].");
  }
  const body = options.content
    ? jsonArgument(ctx, `@${options.content}`, "--content")
    : { actions: [{ name: options.action, args: options.args ? jsonArgument(ctx, options.args, "--args") : {} }] };
  const parsed = ProposalBodySchema.safeParse(body);
  if (!parsed.success) throw new Error(`Invalid proposal: ${parsed.error.issues[0]?.path.join(".") ?? ""} ${parsed.error.issues[0]?.message ?? ""}`);
  return parsed.data;
}

export function registerGovernanceProposalCommands(governance: Command, run: Run): void {
  const proposal = governance.command("proposal").description("Proposals and ballots.");

  run(
    proposal
      .command("create")
      .description("Create a proposal from a file ({actions: [...]}) or from one action.")
      .option("--content <file>", "proposal JSON file")
      .option("--action <name>", "a single action's name")
      .option("--args <json>", "that action's args (JSON or @file)"),
    async (ctx, options: { content?: string; action?: string; args?: string }) => {
      const client = await ctx.client();
      const { value, transactionId } = await client.createProposal(proposalBody(ctx, options));
      ctx.printer.note(`proposal ${value.proposalId} is ${value.proposalState} (transaction ${transactionId ?? "?"})`);
      await printProposal(ctx, client, value);
    },
  );

  run(
    proposal
      .command("vote")
      .description("Vote on a proposal: accept or reject (canonical ballots), or submit a ballot file with a vote() function.")
      .requiredOption(...PROPOSAL_ID)
      .option("--action <action>", "accept | reject")
      .option("--ballot <file>", "a ballot module: export function vote (proposal, proposerId) { ... }"),
    async (ctx, options: { proposalId: string; action?: string; ballot?: string }) => {
      if ((options.action === undefined) === (options.ballot === undefined)) throw new Error("Give either --action accept|reject or --ballot <file>.");
      if (options.action !== undefined && options.action !== "accept" && options.action !== "reject") {
        throw new Error(`--action must be accept or reject, not '${options.action}'.`);
      }
      const client = await ctx.client();
      const memberId = ctx.memberId();
      const { value, transactionId } = options.ballot
        ? await client.submitBallot(options.proposalId, memberId, ctx.readFile(options.ballot))
        : await client.vote(options.proposalId, memberId, options.action === "accept");
      ctx.printer.note(`ballot recorded; proposal is ${value.proposalState} (transaction ${transactionId ?? "?"})`);
      await printProposal(ctx, client, value);
    },
  );

  run(
    proposal.command("withdraw").description("Withdraw your open proposal.").requiredOption(...PROPOSAL_ID),
    async (ctx, options: { proposalId: string }) => {
      const client = await ctx.client();
      const { value } = await client.withdraw(options.proposalId);
      await printProposal(ctx, client, value);
    },
  );

  run(
    proposal.command("show").description("Show a proposal: state, votes, and who still has to vote.").requiredOption(...PROPOSAL_ID),
    async (ctx, options: { proposalId: string }) => {
      const client = await ctx.client();
      await printProposal(ctx, client, await client.proposal(options.proposalId));
    },
  );

  run(
    proposal
      .command("list")
      .description("List proposals (open and closed).")
      .option("--state <state>", `only proposals in this state: ${ProposalStateSchema.options.join(", ")}`),
    async (ctx, options: { state?: string }) => {
      const state = options.state === undefined ? undefined : ProposalStateSchema.parse(options.state);
      const client = await ctx.client();
      const proposals = (await client.proposals(state)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      if (ctx.printer.format === "json") return ctx.printer.value(proposals);
      const label = await memberLabels(client);
      ctx.printer.value(proposals, () =>
        formatTable(proposals, [
          { header: "PROPOSAL ID", value: (p) => p.proposalId },
          { header: "STATE", value: (p) => p.proposalState },
          { header: "PROPOSER", value: (p) => label(p.proposerId) },
          { header: "BALLOTS", value: (p) => p.ballotCount },
          { header: "PENDING", value: (p) => p.pendingVoters?.length ?? "" },
          { header: "CREATED", value: (p) => p.createdAt },
        ]),
      );
    },
  );

  run(
    proposal.command("history").description("Show every transaction that changed a proposal.").requiredOption(...PROPOSAL_ID),
    async (ctx, options: { proposalId: string }) => {
      const client = await ctx.client();
      const history = await client.proposalHistory(options.proposalId);
      if (ctx.printer.format === "json") return ctx.printer.value(history);
      const label = await memberLabels(client);
      ctx.printer.value(history, () =>
        formatTable(history.value, [
          { header: "TRANSACTION", value: (h) => h.transactionId },
          { header: "TIME", value: (h) => h.timestamp },
          { header: "EVENT", value: (h) => h.event },
          { header: "MEMBER", value: (h) => (h.memberId ? label(h.memberId) : "") },
          { header: "STATE", value: (h) => h.proposalState },
          { header: "BALLOTS", value: (h) => h.ballotCount },
        ]),
      );
    },
  );
}
