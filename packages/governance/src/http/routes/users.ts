import { ApiError, CallerStatusSchema, JwtIssuerListSchema, UserIdentityListSchema, UserIdentitySchema } from "@cleanroom/protocol";
import { z } from "zod";
import { CALLER_AUTH_ERRORS } from "../../auth/client-certificates.js";
import { getUserIdentity, listJwtIssuers, listUserIdentities } from "../../state/user-identities.js";
import { callerStatus } from "../authorization.js";
import { durableRead, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";

/** The constitution's rule for `set_user_identity` ids (a token's `oid`). */
const IdentityParams = z.object({
  identityId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "a user identity id is 1-128 characters: letters, digits, '.', '_', '-'"),
});

/** JWT users (reference §2.8) and the JWT issuers the consortium trusts. */
export function userRoutes(ctx: ServiceContext): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      path: "/app/users/identities",
      summary: "List user identities",
      description:
        "Every JWT user registered with `set_user_identity`: its id (the token's `oid`), account type, invitation and data (`tenantId`, the token's `tid`, and an optional `identifier`).",
      tag: "Users",
      auth: "caller",
      response: { status: 200, description: "Every user identity, by id.", schema: UserIdentityListSchema },
      errors: CALLER_AUTH_ERRORS,
      async handler() {
        return { body: { value: listUserIdentities(ctx.ledger) }, headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/app/users/identities/{identityId}",
      summary: "Show a user identity",
      description: "One JWT user registered with `set_user_identity`, by id (the token's `oid`).",
      tag: "Users",
      auth: "caller",
      params: IdentityParams,
      response: { status: 200, description: "The user identity.", schema: UserIdentitySchema },
      errors: [...CALLER_AUTH_ERRORS, "InvalidParameter", "UserIdentityNotFound"],
      async handler({ params }) {
        const identity = getUserIdentity(ctx.ledger, params.identityId);
        if (!identity) throw new ApiError("UserIdentityNotFound", `No user identity has id ${params.identityId}.`);
        return { body: identity, headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "POST",
      path: "/app/users/identities/self/status",
      summary: "Check that the caller is an active identity",
      description:
        "Succeeds for any caller the service authenticates: a member or certificate user by TLS client certificate, or a JWT user whose token is valid, whose `oid` is registered and whose `tid` is the registered tenant. Clean rooms forward their user's token here to check it (reference `users/isactive`).",
      tag: "Users",
      auth: "caller",
      response: { status: 200, description: "Who the service takes the caller to be.", schema: CallerStatusSchema },
      errors: CALLER_AUTH_ERRORS,
      async handler({ caller }) {
        if (!caller) throw new ApiError("InvalidAuthenticationInfo", "The caller is not authenticated.");
        return { body: callerStatus(caller), headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/gov/service/jwt-issuers",
      summary: "List trusted JWT issuers",
      description:
        "Issuers trusted by `set_jwt_issuer`, with the ids of the keys the service accepts tokens from. For `autoRefresh` issuers the keys are fetched through OpenID discovery when a token names a key not stored yet (at most once per 30 s per issuer) and stored in the ledger; `refreshedAt` is when the stored keys were fetched.",
      tag: "Users",
      auth: "caller",
      response: { status: 200, description: "Every trusted issuer, by issuer URL.", schema: JwtIssuerListSchema },
      errors: CALLER_AUTH_ERRORS,
      async handler() {
        return { body: { value: listJwtIssuers(ctx.ledger) }, headers: await durableRead(ctx.ledger) };
      },
    }),
  ];
}
