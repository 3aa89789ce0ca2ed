import { PutSecretBodySchema, ResourceIdSchema, SecretIdResultSchema, SecretListSchema } from "@cleanroom/protocol";
import { z } from "zod";
import { CALLER_AUTH_ERRORS } from "../../auth/client-certificates.js";
import { listSecrets, putSecret } from "../../governance/secrets.js";
import { requireActiveCaller } from "../authorization.js";
import { durableRead, durableWrite, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";

const ContractParams = z.object({ contractId: ResourceIdSchema });
const SecretParams = ContractParams.extend({ secretName: ResourceIdSchema });

export function secretRoutes(ctx: ServiceContext): RouteDefinition[] {
  const key = { key: ctx.identity.secretsKey, keyId: ctx.identity.secretsKeyId };
  return [
    defineRoute({
      method: "PUT",
      path: "/app/contracts/{contractId}/secrets/{secretName}",
      summary: "Store a secret for a contract",
      description:
        "Body `{value}` (at most 25600 characters). Stored sealed (AES-256-GCM under the service's secrets key) as `<caller id>_<secretName>`, so parties cannot overwrite each other's secrets; writing again replaces it. Released only to attested workloads that satisfy the contract's clean-room policy.",
      tag: "Secrets",
      auth: "caller",
      params: SecretParams,
      body: PutSecretBodySchema,
      response: { status: 200, description: "The secret's id.", schema: SecretIdResultSchema },
      errors: [...CALLER_AUTH_ERRORS, "MemberNotActive", "InvalidParameter", "InvalidInput", "MalformedJson", "RequestTooLarge", "ValueMissing", "ValueTooLarge", "ContractNotFound"],
      async handler({ params, body, caller }) {
        const owner = requireActiveCaller(caller);
        const { result, headers } = await durableWrite(ctx.ledger, (tx) =>
          putSecret(tx, ctx.lifecycle.clock, key, owner, params.contractId, params.secretName, body.value),
        );
        return { body: { secretId: result }, headers };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/app/contracts/{contractId}/secrets",
      summary: "List a contract's secrets",
      description: "Their ids only; values are never returned to members or users.",
      tag: "Secrets",
      auth: "caller",
      params: ContractParams,
      response: { status: 200, description: "The secret ids.", schema: SecretListSchema },
      errors: [...CALLER_AUTH_ERRORS, "InvalidParameter"],
      async handler({ params }) {
        return { body: { value: listSecrets(ctx.ledger, params.contractId) }, headers: await durableRead(ctx.ledger) };
      },
    }),
  ];
}
