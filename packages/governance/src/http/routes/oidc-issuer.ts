import {
  ApiError,
  IssuedTokenSchema,
  JwksSchema,
  OidcIssuerInfoSchema,
  OpenIdConfigurationSchema,
  ReleaseSecretBodySchema,
  ResourceIdSchema,
  SigningKeyResultSchema,
  TokenQuerySchema,
} from "@cleanroom/protocol";
import { z } from "zod";
import { checkReleaseRequest, checkTokenSubject, DEFAULT_WORKLOAD_TOKEN_SECONDS, verifyWorkload, wrapFor } from "../../governance/secret-release.js";
import { randomUUID } from "node:crypto";
import { CALLER_AUTH_ERRORS } from "../../auth/client-certificates.js";
import { generateSigningKey, issuerJwks, oidcIssuerInfo, openIdConfiguration, signIssuerToken } from "../../governance/oidc-issuer.js";
import { answerRelease, ATTESTED_REQUEST_ERRORS, auditingRefusals } from "../attested-requests.js";
import { requireActiveMember } from "../authorization.js";
import { durableRead, durableWrite, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";

export function oidcIssuerRoutes(ctx: ServiceContext): RouteDefinition[] {
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
        const { result, headers } = await durableWrite(ctx.ledger, (tx) => generateSigningKey(tx, ctx.lifecycle.clock, ctx.secrets));
        return { body: result, headers };
      },
    }),
    defineRoute({
      method: "POST",
      path: "/app/contracts/{contractId}/oauth/token",
      summary: "Issue an ID token to an attested workload",
      description:
        "Anonymous but attested, with the body of a secret release (`attestation`, `encrypt.publicKey`); the workload must satisfy the contract's clean-room policy or the `oauth-federation-subjects/<sub>` delegate policy. Query `sub` (the contract id or `<contractId>/<name>`), `aud`, optional `lifetime` seconds (default 300, at most 3600). The token (RS256, `iss` = the issuer URL, with the attested host data and attestation mode as claims) comes back wrapped to `encrypt.publicKey`. Issued and refused tokens are audited.",
      tag: "OIDC issuer",
      auth: "none",
      params: z.object({ contractId: ResourceIdSchema }),
      query: TokenQuerySchema,
      body: ReleaseSecretBodySchema,
      response: { status: 200, description: "The wrapped token.", schema: IssuedTokenSchema },
      errors: [
        "InvalidParameter",
        "InvalidInput",
        "MalformedJson",
        ...ATTESTED_REQUEST_ERRORS,
        "OidcIssuerNotEnabled",
        "IssuerUrlNotSet",
        "SigningKeyNotAvailable",
      ],
      async handler({ params, query, body }) {
        const { attestation, publicKeyPem } = checkReleaseRequest(body);
        const sub = checkTokenSubject(params.contractId, query.sub);
        if (query.aud === undefined) throw new ApiError("InvalidInput", "The token request needs an 'aud' query parameter.");
        const aud = query.aud;
        return auditingRefusals(ctx, params.contractId, "contract.token.denied", { sub }, async () => {
          const delegate = { type: "oauth-federation-subjects", id: sub } as const;
          const workload = verifyWorkload(ctx.ledger, ctx.attestation, params.contractId, attestation, publicKeyPem, delegate);
          const token = await signIssuerToken(
            ctx.ledger,
            ctx.secrets,
            ctx.lifecycle.clock(),
            {
              sub,
              aud,
              jti: randomUUID(),
              "x-ms-sevsnpvm-hostdata": workload.claims["x-ms-sevsnpvm-hostdata"],
              "cleanroom-attestation-mode": workload.attestationMode,
            },
            query.lifetime ?? DEFAULT_WORKLOAD_TOKEN_SECONDS,
          );
          const value = wrapFor(workload, Buffer.from(token, "utf8"));
          return answerRelease(ctx, params.contractId, "contract.token.issued", { sub, aud, admittedBy: workload.admittedBy }, workload, value);
        });
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
