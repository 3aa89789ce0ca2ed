import { JwksSchema, OidcIssuerInfoSchema, OpenIdConfigurationSchema, SigningKeyResultSchema } from "@cleanroom/protocol";
import { CALLER_AUTH_ERRORS } from "../../auth/client-certificates.js";
import { generateSigningKey, issuerJwks, oidcIssuerInfo, openIdConfiguration } from "../../governance/oidc-issuer.js";
import { requireActiveMember } from "../authorization.js";
import { durableRead, durableWrite, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";

export function oidcIssuerRoutes(ctx: ServiceContext): RouteDefinition[] {
  const secrets = { key: ctx.identity.secretsKey, keyId: ctx.identity.secretsKeyId };
  return [
    defineRoute({
      method: "GET",
      path: "/app/oidc/.well-known/openid-configuration",
      summary: "OpenID discovery document of the consortium's issuer",
      description: "Anonymous: relying parties (Entra ID, AWS STS) read it from the issuer URL, where the parties publish a copy.",
      tag: "OIDC issuer",
      auth: "none",
      response: { status: 200, description: "The discovery document.", schema: OpenIdConfigurationSchema },
      errors: ["OidcIssuerNotEnabled", "IssuerUrlNotSet"],
      async handler() {
        return { body: openIdConfiguration(ctx.ledger), headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/app/oidc/keys",
      summary: "The issuer's public signing keys (JWKS)",
      description: `Anonymous. The current key, and keys retired by a rotation until tokens they signed have expired (at most one token lifetime), so rotation never breaks a token in flight.`,
      tag: "OIDC issuer",
      auth: "none",
      response: { status: 200, description: "The JWKS.", schema: JwksSchema },
      errors: ["OidcIssuerNotEnabled", "SigningKeyNotAvailable"],
      async handler() {
        return { body: issuerJwks(ctx.ledger, ctx.lifecycle.clock()), headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "POST",
      path: "/app/oidc/generateSigningKey",
      summary: "Have the service generate the signing key of the current key generation",
      description:
        "After enable_oidc_issuer or rotate_oidc_issuer_signing_key is accepted, any Active member asks the service to create that generation's RSA key; repeated calls return the same key. The private key is generated and kept by the service only (sealed in the ledger under its secrets key).",
      tag: "OIDC issuer",
      auth: "caller",
      response: { status: 200, description: "The key's id and generation.", schema: SigningKeyResultSchema },
      errors: [...CALLER_AUTH_ERRORS, "MemberOnly", "MemberNotActive", "OidcIssuerNotEnabled"],
      async handler({ caller }) {
        requireActiveMember(caller);
        const { result, headers } = await durableWrite(ctx.ledger, (tx) => generateSigningKey(tx, ctx.lifecycle.clock, secrets));
        return { body: result, headers };
      },
    }),
    defineRoute({
      method: "POST",
      path: "/app/oidc/issuerInfo",
      summary: "Show the OIDC issuer's state",
      tag: "OIDC issuer",
      auth: "caller",
      response: { status: 200, description: "Whether it is enabled, its URL, key generation and current key.", schema: OidcIssuerInfoSchema },
      errors: CALLER_AUTH_ERRORS,
      async handler() {
        return { body: oidcIssuerInfo(ctx.ledger), headers: await durableRead(ctx.ledger) };
      },
    }),
  ];
}
