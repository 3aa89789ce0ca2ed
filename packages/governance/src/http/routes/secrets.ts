import {
  CLEAN_ROOM_SECRET_OWNER,
  PutSecretBodySchema,
  ReleasedSecretSchema,
  ReleaseSecretBodySchema,
  ResourceIdSchema,
  SecretIdResultSchema,
  SecretIdSchema,
  SecretListSchema,
  SignedAttestedBodySchema,
} from "@cleanroom/protocol";
import { z } from "zod";
import { CALLER_AUTH_ERRORS } from "../../auth/client-certificates.js";
import { checkReleaseRequest, cleanRoomIdentity, verifyWorkload, wrapSecretFor } from "../../governance/secret-release.js";
import { listSecrets, putSecret } from "../../governance/secrets.js";
import { answerRelease, ATTESTED_REQUEST_ERRORS, auditingRefusals, SIGNED_REQUEST_ERRORS } from "../attested-requests.js";
import { CALLER_WRITE_ERRORS, requireActiveCaller } from "../authorization.js";
import { durableRead, durableWrite, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";
import { admitSigned, checkSignedRequest } from "../signed-payloads.js";

const ContractParams = z.object({ contractId: ResourceIdSchema });
const SecretParams = ContractParams.extend({ secretName: ResourceIdSchema });
const ReleaseParams = ContractParams.extend({ secretId: SecretIdSchema });

export function secretRoutes(ctx: ServiceContext): RouteDefinition[] {
  return [
    defineRoute({
      method: "PUT",
      path: "/app/contracts/{contractId}/secrets/{secretName}",
      summary: "Store a secret for a contract",
      description:
        "Members and users: body `{value}` (at most 25600 characters), stored as `<caller id>_<secretName>`. Attested clean rooms (no credentials): body `{attestation, platform?, encrypt: {publicKey}, sign: {signature, publicKey}, data: base64({value})}`, where the SEV-SNP evidence binds `encrypt.publicKey` and satisfies the contract's clean-room policy, and `sign` is an RSA-PSS (SHA-256, salt 32) signature by that key over the decoded `data`; stored as `cleanroom_<secretName>` (refusals audited as `contract.secret.set.denied`). Stored sealed (AES-256-GCM under the service's secrets key), so parties cannot overwrite each other's secrets; writing again replaces it. Released only to attested workloads that satisfy the contract's clean-room policy or the secret's delegate.",
      tag: "Secrets",
      auth: "callerOrAttested",
      params: SecretParams,
      body: PutSecretBodySchema,
      response: { status: 200, description: "The secret's id.", schema: SecretIdResultSchema },
      errors: [...CALLER_WRITE_ERRORS, "ValueMissing", "ValueTooLarge", "ContractNotFound", ...ATTESTED_REQUEST_ERRORS, ...SIGNED_REQUEST_ERRORS],
      async handler({ params, body, caller }) {
        const owner = requireActiveCaller(caller);
        const { result, headers } = await durableWrite(ctx.ledger, (tx) =>
          putSecret(tx, ctx.lifecycle.clock, ctx.secrets, owner, params.contractId, params.secretName, body.value),
        );
        return { body: { secretId: result }, headers };
      },
      attested: {
        body: SignedAttestedBodySchema,
        async handler({ params, body }) {
          const { attestation, publicKeyPem } = checkReleaseRequest(body);
          const signed = checkSignedRequest(body);
          const audited = { secretId: `${CLEAN_ROOM_SECRET_OWNER}_${params.secretName}` };
          return auditingRefusals(ctx, params.contractId, "contract.secret.set.denied", audited, async () => {
            const { workload, payload } = admitSigned(ctx, params.contractId, { attestation, boundPem: publicKeyPem, signed }, PutSecretBodySchema);
            const { result, headers } = await durableWrite(ctx.ledger, (tx) =>
              putSecret(tx, ctx.lifecycle.clock, ctx.secrets, cleanRoomIdentity(workload), params.contractId, params.secretName, payload.value),
            );
            return { body: { secretId: result }, headers };
          });
        },
      },
    }),
    defineRoute({
      method: "POST",
      path: "/app/contracts/{contractId}/secrets/{secretId}",
      summary: "Release a secret to an attested workload",
      description:
        "Anonymous but attested: body `{attestation: {evidence, endorsements, uvm_endorsements, endorsed_tcb?}, encrypt: {publicKey: base64(PEM)}, platform?: \"snp-caci\"}`. The SEV-SNP evidence must verify, bind `encrypt.publicKey` in its report data, and satisfy the contract's clean-room policy or the `secrets/<secretId>` delegate policy; the secret comes back wrapped to that key (RSA-OAEP-SHA-256 + AES-KWP). Every decision after the request's shape is checked is recorded as a `contract.secret.released` or `contract.secret.denied` event.",
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
          const delegate = { type: "secrets", id: params.secretId } as const;
          const workload = verifyWorkload(ctx.ledger, ctx.attestation, params.contractId, attestation, publicKeyPem, delegate);
          const value = wrapSecretFor(ctx.ledger, ctx.secrets, params.contractId, params.secretId, workload);
          return answerRelease(ctx, params.contractId, "contract.secret.released", { secretId: params.secretId, admittedBy: workload.admittedBy }, workload, value);
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
