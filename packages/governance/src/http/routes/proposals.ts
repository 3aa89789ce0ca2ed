import {
  BallotResponseSchema,
  ProposalHistorySchema,
  ProposalInfoSchema,
  ProposalListSchema,
  ProposalStateSchema,
  IdentityIdSchema,
  ApiError,
  type ProposalInfo,
} from "@cleanroom/protocol";
import { z } from "zod";
import { createProposal, submitBallot, withdrawProposal } from "../../governance/proposal-lifecycle.js";
import { proposalHistory, toProposalInfo } from "../../governance/proposal-views.js";
import { Maps } from "../../state/maps.js";
import { getProposal, type ProposalRecord } from "../../state/proposals.js";
import { durableRead, signedWrite, SIGNED_REQUEST_ERRORS, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";

const ProposalIdParams = z.object({ proposalId: z.string().regex(/^[0-9a-f]{64}$/, "a proposal id is 64 lowercase hex characters") });
const BallotParams = ProposalIdParams.extend({ memberId: IdentityIdSchema });

const ListQuery = z.object({
  state: ProposalStateSchema.optional(),
  after: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

function requireProposal(ctx: ServiceContext, proposalId: string): ProposalRecord {
  const record = getProposal(ctx.ledger, proposalId);
  if (!record) throw new ApiError("ProposalNotFound", `Proposal ${proposalId} does not exist.`);
  return record;
}

function listProposals(ctx: ServiceContext, query: z.infer<typeof ListQuery>): { value: ProposalInfo[]; nextLink?: string } {
  const maps = query.state === "Open" ? [Maps.proposalsInfo] : query.state ? [Maps.closedProposalsInfo] : [Maps.proposalsInfo, Maps.closedProposalsInfo];
  const ids: string[] = [];
  for (const map of maps) ctx.ledger.forEach(map, (id) => ids.push(id));
  ids.sort();
  const start = query.after === undefined ? 0 : ids.findIndex((id) => id > (query.after as string));
  const value: ProposalInfo[] = [];
  let index = start < 0 ? ids.length : start;
  for (; index < ids.length && value.length < query.limit; index++) {
    const record = getProposal(ctx.ledger, ids[index] as string);
    if (record && (query.state === undefined || record.info.state === query.state)) value.push(toProposalInfo(ctx.ledger, ctx.engine, record));
  }
  if (index >= ids.length) return { value };
  const next = new URLSearchParams({ ...(query.state ? { state: query.state } : {}), after: ids[index - 1] as string, limit: String(query.limit) });
  return { value, nextLink: `/gov/members/proposals?${next.toString()}` };
}

export function proposalRoutes(ctx: ServiceContext): RouteDefinition[] {
  return [
    defineRoute({
      method: "POST",
      path: "/gov/members/proposals:create",
      summary: "Create a proposal",
      description:
        "Payload `{actions: [{name, args}]}`. The constitution validates it, then resolves it once (it may be accepted at once). The proposal id is the SHA-256 of the signed request.",
      tag: "Proposals",
      auth: "signed",
      body: "cose",
      response: { status: 200, description: "The new proposal.", schema: ProposalInfoSchema },
      errors: [...SIGNED_REQUEST_ERRORS, "ProposalFailedToValidate", "ConstitutionError"],
      async handler({ body }) {
        const { result, headers } = await signedWrite(ctx, body, { type: "proposal" }, { requireActive: true }, (tx, request) =>
          createProposal(ctx.lifecycle, tx, request.memberId, request.bodyDigest, request.payload),
        );
        return { body: toProposalInfo(ctx.ledger, ctx.engine, result), headers };
      },
    }),
    defineRoute({
      method: "POST",
      path: "/gov/members/proposals/{proposalId}/ballots/{memberId}:submit",
      summary: "Submit a ballot",
      description: "Payload `{ballot: \"export function vote (proposal, proposerId) { ... }\"}`. One ballot per member; the proposal is resolved again.",
      tag: "Proposals",
      auth: "signed",
      params: BallotParams,
      body: "cose",
      response: { status: 200, description: "The proposal after the ballot.", schema: ProposalInfoSchema },
      errors: [...SIGNED_REQUEST_ERRORS, "ProposalIdMismatch", "MemberIdMismatch", "ProposalNotFound", "ProposalNotOpen", "VoteAlreadyExists", "InvalidBallot", "ConstitutionError", "InvalidParameter"],
      async handler({ params, body }) {
        const expected = { type: "ballot", proposalId: params.proposalId, memberId: params.memberId } as const;
        const { result, headers } = await signedWrite(ctx, body, expected, { requireActive: true }, (tx, request) =>
          submitBallot(ctx.lifecycle, tx, request.memberId, params.proposalId, request.payload),
        );
        return { body: toProposalInfo(ctx.ledger, ctx.engine, result), headers };
      },
    }),
    defineRoute({
      method: "POST",
      path: "/gov/members/proposals/{proposalId}:withdraw",
      summary: "Withdraw a proposal",
      description: "Only the proposer, only while the proposal is Open. The payload is empty.",
      tag: "Proposals",
      auth: "signed",
      params: ProposalIdParams,
      body: "cose",
      response: { status: 200, description: "The withdrawn proposal.", schema: ProposalInfoSchema },
      errors: [...SIGNED_REQUEST_ERRORS, "ProposalIdMismatch", "ProposalNotFound", "ProposalNotOpen", "NotProposer", "InvalidParameter"],
      async handler({ params, body }) {
        const expected = { type: "withdrawal", proposalId: params.proposalId } as const;
        const { result, headers } = await signedWrite(ctx, body, expected, { requireActive: true }, (tx, request) =>
          withdrawProposal(ctx.lifecycle, tx, request.memberId, params.proposalId),
        );
        return { body: toProposalInfo(ctx.ledger, ctx.engine, result), headers };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/gov/members/proposals",
      summary: "List proposals",
      description: "Open and closed proposals, ordered by id, `limit` per page with a `nextLink`. Filter with `state`.",
      tag: "Proposals",
      auth: "caller",
      query: ListQuery,
      response: { status: 200, description: "A page of proposals.", schema: ProposalListSchema },
      errors: ["InvalidAuthenticationInfo", "InvalidParameter"],
      async handler({ query }) {
        return { body: listProposals(ctx, query), headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/gov/members/proposals/{proposalId}",
      summary: "Show a proposal",
      description: "Its state, the votes counted so far and, while Open, the members whose votes are still required.",
      tag: "Proposals",
      auth: "caller",
      params: ProposalIdParams,
      response: { status: 200, description: "The proposal.", schema: ProposalInfoSchema },
      errors: ["InvalidAuthenticationInfo", "ProposalNotFound", "InvalidParameter"],
      async handler({ params }) {
        return { body: toProposalInfo(ctx.ledger, ctx.engine, requireProposal(ctx, params.proposalId)), headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/gov/members/proposals/{proposalId}/actions",
      summary: "Show a proposal's actions",
      tag: "Proposals",
      auth: "caller",
      params: ProposalIdParams,
      response: { status: 200, description: "The proposal body as submitted.", schema: z.object({ actions: z.array(z.unknown()) }) },
      errors: ["InvalidAuthenticationInfo", "ProposalNotFound", "InvalidParameter"],
      async handler({ params }) {
        const record = requireProposal(ctx, params.proposalId);
        return { body: record.proposal, contentType: "application/json", headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/gov/members/proposals/{proposalId}/ballots/{memberId}",
      summary: "Show a member's ballot",
      tag: "Proposals",
      auth: "caller",
      params: BallotParams,
      response: { status: 200, description: "The ballot source.", schema: BallotResponseSchema },
      errors: ["InvalidAuthenticationInfo", "ProposalNotFound", "BallotNotFound", "InvalidParameter"],
      async handler({ params }) {
        const ballot = requireProposal(ctx, params.proposalId).info.ballots[params.memberId];
        if (ballot === undefined) throw new ApiError("BallotNotFound", `Member ${params.memberId} has not voted on proposal ${params.proposalId}.`);
        return { body: { ballot }, headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/gov/members/proposals/{proposalId}/history",
      summary: "Show a proposal's history",
      description: "Every transaction that changed the proposal: creation, each ballot, and how it closed.",
      tag: "Proposals",
      auth: "caller",
      params: ProposalIdParams,
      response: { status: 200, description: "The proposal's history, oldest first.", schema: ProposalHistorySchema },
      errors: ["InvalidAuthenticationInfo", "ProposalNotFound", "InvalidParameter"],
      async handler({ params }) {
        requireProposal(ctx, params.proposalId);
        return { body: proposalHistory(ctx.ledger, params.proposalId), headers: await durableRead(ctx.ledger) };
      },
    }),
  ];
}

