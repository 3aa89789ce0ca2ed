import {
  PutSecretBodySchema,
  ReleasedSecretSchema,
  ReleaseSecretBodySchema,
  ResourceIdSchema,
  SecretIdResultSchema,
  SecretListSchema,
} from "@cleanroom/protocol";
import { z } from "zod";
import { CALLER_AUTH_ERRORS } from "../../auth/client-certificates.js";
import { recordGovernanceEvent } from "../../governance/audit-events.js";
import { checkReleaseRequest, verifyWorkload, wrapSecretFor } from "../../governance/secret-release.js";
import { listSecrets, putSecret } from "../../governance/secrets.js";
import { ATTESTED_REQUEST_ERRORS, auditingRefusals } from "../attested-requests.js";
import { requireActiveCaller } from "../authorization.js";
import { durableRead, durableWrite, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";

const ContractParams = z.object({ contractId: ResourceIdSchema });
const SecretParams = ContractParams.extend({ secretName: ResourceIdSchema });
/** Secret ids are `<owner id>_<name>`: an owner id (64 hex or an oid) and a resource id. */
const ReleaseParams = ContractParams.extend({ secretId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,256}$/, "expected a secret id") });

export function secretRoutes(ctx: ServiceContext): RouteDefinition[] {
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
          putSecret(tx, ctx.lifecycle.clock, ctx.secrets, owner, params.contractId, params.secretName, body.value),
        );
        return { body: { secretId: result }, headers };
      },
    }),
    defineRoute({
      method: "POST",
      path: "/app/contracts/{contractId}/secrets/{secretId}",
      summary: "Release a secret to an attested workload",
      description:
        "Anonymous but attested: body `{attestation: {evidence, endorsements, uvm_endorsements, endorsed_tcb?}, encrypt: {publicKey: base64(PEM)}, platform?: \"snp-caci\"}`. The SEV-SNP evidence must verify, bind `encrypt.publicKey` in its report data, and satisfy the contract's clean-room policy; the secret comes back wrapped to that key (RSA-OAEP-SHA-256 + AES-KWP). Every decision after the request's shape is checked is recorded as a `contract.secret.released` or `contract.secret.denied` event.",
      tag: "Secrets",
      auth: "none",
      params: ReleaseParams,
      body: ReleaseSecretBodySchema,
      response: { status: 200, description: "The wrapped secret.", schema: ReleasedSecretSchema },
      errors: [
        "InvalidParameter",
        "InvalidInput",
        "MalformedJson",
        "RequestTooLarge",
        ...ATTESTED_REQUEST_ERRORS,
        "SecretNotFound",
      ],
      async handler({ params, body }) {
        const { attestation, publicKeyPem } = checkReleaseRequest(body);
        return auditingRefusals(ctx, params.contractId, "contract.secret.denied", { secretId: params.secretId }, async () => {
          const workload = verifyWorkload(ctx.ledger, ctx.attestation, params.contractId, attestation, publicKeyPem);
          const value = wrapSecretFor(ctx.ledger, ctx.secrets, params.contractId, params.secretId, workload);
          const { headers } = await durableWrite(ctx.ledger, (tx) =>
            recordGovernanceEvent(tx, ctx.lifecycle.clock, params.contractId, "contract.secret.released", {
              secretId: params.secretId,
              attestationMode: workload.attestationMode,
              hostData: workload.claims["x-ms-sevsnpvm-hostdata"],
            }),
          );
          return { body: { value, attestationMode: workload.attestationMode }, headers };
        });
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
