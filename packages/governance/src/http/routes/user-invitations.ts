import { ApiError, InvitationIdSchema, InvitationListSchema, InvitationSchema } from "@cleanroom/protocol";
import { z } from "zod";
import { CALLER_AUTH_ERRORS } from "../../auth/client-certificates.js";
import { acceptInvitation } from "../../governance/user-invitations.js";
import { getUserInvitation, listUserInvitations } from "../../state/user-invitations.js";
import { durableRead, durableWrite, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";

const InvitationParams = z.object({ invitationId: InvitationIdSchema });

const STATUS_TEXT =
  "`status` is derived: `Finalized` once a `set_user_identity` proposal naming the invitation was accepted, `Accepted` once a matching token accepted the invitation as it stands (changing its claims reopens it), `Open` otherwise.";

/** User invitations by JWT claims (reference §2.8): members and users read them, invitees accept them. */
export function userInvitationRoutes(ctx: ServiceContext): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      path: "/app/users/invitations",
      summary: "List user invitations",
      description: `Every invitation proposed with \`set_user_invitation_by_jwt_claims\`: the claims a token must carry to accept it, its status and who accepted it. ${STATUS_TEXT} Unlike the reference, only authenticated members and users may list them (an invitee accepts without being registered, but cannot read other invitations).`,
      tag: "Users",
      auth: "caller",
      response: { status: 200, description: "Every invitation, by id.", schema: InvitationListSchema },
      errors: CALLER_AUTH_ERRORS,
      async handler() {
        return { body: { value: listUserInvitations(ctx.ledger) }, headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/app/users/invitations/{invitationId}",
      summary: "Show a user invitation",
      description: `One invitation, by id. ${STATUS_TEXT}`,
      tag: "Users",
      auth: "caller",
      params: InvitationParams,
      response: { status: 200, description: "The invitation.", schema: InvitationSchema },
      errors: [...CALLER_AUTH_ERRORS, "InvalidParameter", "InvitationNotFound"],
      async handler({ params }) {
        const invitation = getUserInvitation(ctx.ledger, params.invitationId);
        if (!invitation) throw new ApiError("InvitationNotFound", `No user invitation has id ${params.invitationId}.`);
        return { body: invitation, headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "POST",
      path: "/app/users/invitations/{invitationId}/accept",
      summary: "Accept a user invitation",
      description:
        "The invitee accepts with its own token: a valid token of a trusted issuer, whose `oid` need not be registered yet (a member's or user's certificate is not an invitee: 401). The invitation must be `Open`; the token must carry an `oid` and a `tid`, and every claim of the invitation with one of its allowed values (compared exactly; for Entra ID v1.0 tokens `preferred_username` is compared with `upn`). On success the invitation is `Accepted` with `userInfo: {userId: oid, data: {tenantId: tid}}`; the members then propose `set_user_identity` with `invitationId` to register that user.",
      tag: "Users",
      auth: "bearer",
      params: InvitationParams,
      response: { status: 200, description: "The invitation, now Accepted.", schema: InvitationSchema },
      errors: ["InvalidAuthenticationInfo", "InvalidParameter", "InvitationNotFound", "InvitationNotOpen", "OidClaimMissing", "TokenClaimMissing", "TokenClaimMismatch"],
      async handler({ params, token }) {
        if (!token) throw new ApiError("InvalidAuthenticationInfo", "This endpoint requires an 'Authorization: Bearer <JWT>' header.");
        const { result, headers } = await durableWrite(ctx.ledger, (tx) => acceptInvitation(tx, params.invitationId, token));
        return { body: result, headers };
      },
    }),
  ];
}
