import { CallerCheckBodySchema, CallerCheckRequestSchema, CallerStatusSchema, ResourceIdSchema } from "@cleanroom/protocol";
import { z } from "zod";
import { checkAttestation } from "../../governance/secret-release.js";
import { ATTESTED_REQUEST_ERRORS, auditingRefusals, SIGNED_REQUEST_ERRORS } from "../attested-requests.js";
import { certificateCallerStatus } from "../authorization.js";
import { durableRead, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";
import { admitSigned, checkSignedRequest } from "../signed-payloads.js";

const ContractParams = z.object({ contractId: ResourceIdSchema });

/**
 * Caller checks of attested clean rooms (reference §3.3 `CheckCallerAuthorized`). A JWT caller's token is forwarded
 * to `POST /app/users/identities/self/status`; a member's or certificate user's TLS client certificate cannot be
 * forwarded, so the clean room asks here whether it belongs to an active member or user.
 */
export function callerRoutes(ctx: ServiceContext): RouteDefinition[] {
  return [
    defineRoute({
      method: "POST",
      path: "/app/contracts/{contractId}/callers/status",
      summary: "Check a clean room's caller by its TLS client certificate (attested clean room, signed)",
      description:
        "Anonymous but attested and signed, like an attested event: body `{attestation, platform?, sign: {signature, publicKey}, data}` where the SEV-SNP evidence binds `sign.publicKey` and satisfies the contract's clean-room policy, and `sign` is an RSA-PSS (SHA-256, salt 32) signature by that key over the decoded `data`: base64 of `{\"certificate\": \"<PEM>\"}`, the one certificate the clean room's caller presented. Answers as `POST /app/users/identities/self/status` would answer that caller (`authenticatedBy: certificate`) when the certificate is an Active member's or a certificate user's, its id being the SHA-256 of its DER as for TLS clients; else 403 `CertificateNotRegistered`, or `MemberNotActive` for a member who has not acknowledged. Not exactly one PEM certificate is 400 `InvalidInput`. Refusals of the workload are audited (`contract.callerstatus.denied`); answers, active or not, are not.",
      tag: "Users",
      auth: "none",
      params: ContractParams,
      body: CallerCheckBodySchema,
      response: { status: 200, description: "The certificate's holder is active: who the service takes it to be.", schema: CallerStatusSchema },
      errors: [
        "InvalidParameter",
        "InvalidInput",
        "MalformedJson",
        "RequestTooLarge",
        ...ATTESTED_REQUEST_ERRORS.filter((code) => code !== "EncryptionMissing"),
        ...SIGNED_REQUEST_ERRORS,
        "CertificateNotRegistered",
        "MemberNotActive",
      ],
      async handler({ params, body }) {
        const attestation = checkAttestation(body);
        const signed = checkSignedRequest(body);
        const { payload } = await auditingRefusals(ctx, params.contractId, "contract.callerstatus.denied", {}, () =>
          Promise.resolve(admitSigned(ctx, params.contractId, { attestation, boundPem: signed.publicKeyPem, signed }, CallerCheckRequestSchema)),
        );
        // The answer about the certificate (active, 403, or 400 for a malformed one) is not audited: it is not a
        // decision about the workload, and a clean room asks once per caller, so auditing it would let anyone who
        // can reach the clean room add a ledger write with every attempt. The clean room audits its own refusals.
        const status = certificateCallerStatus(ctx.ledger, payload.certificate);
        return { body: status, headers: await durableRead(ctx.ledger) };
      },
    }),
  ];
}
