import type { GovernanceClient } from "@cleanroom/governance-client";
import type { ProposalInfo } from "@cleanroom/protocol";
import { formatRecord } from "../io.js";
import type { CommandContext } from "../context.js";
import { memberLabels } from "./member-names.js";

/** Prints a proposal; in table form with member names, votes and who still has to vote. */
export async function printProposal(ctx: CommandContext, client: GovernanceClient, proposal: ProposalInfo): Promise<void> {
  if (ctx.printer.format === "json") {
    ctx.printer.value(proposal);
    return;
  }
  const label = await memberLabels(client);
  ctx.printer.value(proposal, () =>
    formatRecord({
      proposalId: proposal.proposalId,
      state: proposal.proposalState,
      proposer: label(proposal.proposerId),
      created: `${proposal.createdAt} (transaction ${proposal.createdTxId})`,
      lastChange: proposal.lastTxId,
      votes: proposal.votes.map((v) => `${label(v.memberId)}: ${v.vote ? "accept" : "reject"}`).join(", ") || "none",
      ...(proposal.pendingVoters ? { pendingVoters: proposal.pendingVoters.map(label).join(", ") || "none" } : {}),
      ...(proposal.voteFailures ? { voteFailures: proposal.voteFailures } : {}),
      ...(proposal.failure ? { failure: proposal.failure.reason } : {}),
    }),
  );
}
