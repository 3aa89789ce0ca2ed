import {
  ApiError,
  IdentityIdSchema,
  MemberInfoSchema,
  MemberListSchema,
  StateDigestResponseSchema,
  UserInfoSchema,
  UserListSchema,
} from "@cleanroom/protocol";
import { z } from "zod";
import { acknowledgeStateDigest, issueStateDigest } from "../../governance/member-acks.js";
import { readJson } from "../../state/json-state.js";
import { Maps } from "../../state/maps.js";
import { getMember, getUser, listMembers, listUsers, toWireMember, type StoredMemberAck } from "../../state/members.js";
import { durableRead, signedWrite, SIGNED_REQUEST_ERRORS, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";

const MemberParams = z.object({ memberId: IdentityIdSchema });
const UserParams = z.object({ userId: IdentityIdSchema });
const SIGNED_ERRORS = [...SIGNED_REQUEST_ERRORS.filter((code) => code !== "MemberNotActive"), "MemberIdMismatch", "InvalidParameter"] as const;

export function memberRoutes(ctx: ServiceContext): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      path: "/gov/service/members",
      summary: "List members",
      tag: "Members",
      auth: "caller",
      response: { status: 200, description: "Every member with its certificate, member_data and status.", schema: MemberListSchema },
      errors: ["InvalidAuthenticationInfo"],
      async handler() {
        return { body: { value: listMembers(ctx.ledger) }, headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/gov/service/members/{memberId}",
      summary: "Show a member",
      tag: "Members",
      auth: "caller",
      params: MemberParams,
      response: { status: 200, description: "The member.", schema: MemberInfoSchema },
      errors: ["InvalidAuthenticationInfo", "MemberNotFound", "InvalidParameter"],
      async handler({ params }) {
        const member = getMember(ctx.ledger, params.memberId);
        if (!member) throw new ApiError("MemberNotFound", `Member ${params.memberId} does not exist.`);
        return { body: toWireMember(member), headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "POST",
      path: "/gov/members/state-digests/{memberId}:update",
      summary: "Request a state digest to acknowledge",
      description: "First step of activation: signed `state_digest` message with an empty payload, by the member itself.",
      tag: "Members",
      auth: "signed",
      params: MemberParams,
      body: "cose",
      response: { status: 200, description: "The digest to acknowledge.", schema: StateDigestResponseSchema },
      errors: [...SIGNED_ERRORS, "MemberNotFound"],
      async handler({ params, body }) {
        const expected = { type: "state_digest", memberId: params.memberId } as const;
        const { result, request, headers } = await signedWrite(ctx, body, expected, { requireActive: false }, (tx, signed) =>
          issueStateDigest(tx, signed.memberId),
        );
        return { body: { memberId: request.memberId, stateDigest: result }, headers };
      },
    }),
    defineRoute({
      method: "POST",
      path: "/gov/members/state-digests/{memberId}:ack",
      summary: "Acknowledge the state digest and become Active",
      description: 'Signed `ack` message with payload `{"stateDigest": "<digest from :update>"}`.',
      tag: "Members",
      auth: "signed",
      params: MemberParams,
      body: "cose",
      response: { status: 204, description: "The member is Active." },
      errors: [...SIGNED_ERRORS, "MemberNotFound", "MemberAlreadyActive", "StateDigestNotRequested", "StateDigestMismatch", "InvalidInput"],
      async handler({ params, body }) {
        const expected = { type: "ack", memberId: params.memberId } as const;
        const { headers } = await signedWrite(ctx, body, expected, { requireActive: false }, (tx, request) =>
          acknowledgeStateDigest(tx, request.memberId, request.payload),
        );
        return { headers };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/gov/members/state-digests/{memberId}",
      summary: "Show the state digest last issued to a member",
      tag: "Members",
      auth: "caller",
      params: MemberParams,
      response: { status: 200, description: "The digest.", schema: StateDigestResponseSchema },
      errors: ["InvalidAuthenticationInfo", "MemberNotFound", "StateDigestNotRequested", "InvalidParameter"],
      async handler({ params }) {
        if (!getMember(ctx.ledger, params.memberId)) throw new ApiError("MemberNotFound", `Member ${params.memberId} does not exist.`);
        const ack = readJson<StoredMemberAck>(ctx.ledger, Maps.membersAcks, params.memberId);
        if (!ack) throw new ApiError("StateDigestNotRequested", `Member ${params.memberId} has not requested a state digest.`);
        return { body: { memberId: params.memberId, stateDigest: ack.state_digest }, headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/gov/service/users",
      summary: "List users",
      tag: "Users",
      auth: "caller",
      response: { status: 200, description: "Every certificate user.", schema: UserListSchema },
      errors: ["InvalidAuthenticationInfo"],
      async handler() {
        return { body: { value: listUsers(ctx.ledger) }, headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/gov/service/users/{userId}",
      summary: "Show a user",
      tag: "Users",
      auth: "caller",
      params: UserParams,
      response: { status: 200, description: "The user.", schema: UserInfoSchema },
      errors: ["InvalidAuthenticationInfo", "UserNotFound", "InvalidParameter"],
      async handler({ params }) {
        const user = getUser(ctx.ledger, params.userId);
        if (!user) throw new ApiError("UserNotFound", `User ${params.userId} does not exist.`);
        return { body: user, headers: await durableRead(ctx.ledger) };
      },
    }),
  ];
}
