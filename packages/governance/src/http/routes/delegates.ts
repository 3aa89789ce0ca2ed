import {
  DelegateChangeSchema,
  DelegateClaimsSchema,
  DelegateListSchema,
  ResourceIdSchema,
  SignedAttestedBodySchema,
} from "@cleanroom/protocol";
import { z } from "zod";
import { changeDelegate, delegateClaims, listDelegates, parseDelegate } from "../../governance/delegates.js";
import { checkReleaseRequest, cleanRoomIdentity } from "../../governance/secret-release.js";
import { ATTESTED_REQUEST_ERRORS, auditingRefusals, SIGNED_REQUEST_ERRORS } from "../attested-requests.js";
import { CALLER_READ_ERRORS } from "../authorization.js";
import { durableRead, durableWrite, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";
import { admitSigned, checkSignedRequest } from "../signed-payloads.js";

const ContractParams = z.object({ contractId: ResourceIdSchema });
/** Checked against the contract by parseDelegate; a subject's `/` arrives percent-encoded as one segment. */
const DelegateParams = ContractParams.extend({ delegateType: z.string().min(1).max(64), delegateId: z.string().min(1).max(300) });
const BASE = "/app/contracts/{contractId}/cleanroompolicy/delegates";

export function delegateRoutes(ctx: ServiceContext): RouteDefinition[] {
  return [
    defineRoute({
      method: "GET",
      path: BASE,
      summary: "List a contract's delegate policies",
      description: "The delegates that have claims: `secrets/<secretId>`, `events/writer`, `oauth-federation-subjects/<sub>`.",
      tag: "Contracts",
      auth: "caller",
      params: ContractParams,
      response: { status: 200, description: "The delegates.", schema: DelegateListSchema },
      errors: CALLER_READ_ERRORS,
      async handler({ params }) {
        return { body: { value: listDelegates(ctx.ledger, params.contractId) }, headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "POST",
      path: `${BASE}/{delegateType}/{delegateId}`,
      summary: "Show a delegate policy's claims",
      description: "`{claims: {}}` for a delegate without claims. The subject of `oauth-federation-subjects/<contractId>/<name>` is percent-encoded (`%2F`).",
      tag: "Contracts",
      auth: "caller",
      params: DelegateParams,
      response: { status: 200, description: "The claims it admits besides the contract's policy.", schema: DelegateClaimsSchema },
      errors: [...CALLER_READ_ERRORS, "InvalidDelegateType"],
      async handler({ params }) {
        const delegate = parseDelegate(params.contractId, params.delegateType, params.delegateId);
        return { body: { claims: delegateClaims(ctx.ledger, params.contractId, delegate) }, headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "PUT",
      path: `${BASE}/{delegateType}/{delegateId}`,
      summary: "Change a delegate policy (attested clean room, signed)",
      description:
        "Anonymous but attested and signed: body `{attestation, platform?, encrypt: {publicKey}, sign: {signature, publicKey}, data}` where the SEV-SNP evidence binds `encrypt.publicKey`, satisfies the CONTRACT's clean-room policy (a delegate cannot widen itself), and `sign` is an RSA-PSS (SHA-256, salt 32) signature by that same key over the decoded `data`: base64 of `{type: \"add\" | \"remove\", claims: {claim: value | [values]}}`, the claims and rules of `set_clean_room_policy`. Changes and refusals are audited (`contract.delegate.changed` / `contract.delegate.denied`).",
      tag: "Contracts",
      auth: "none",
      params: DelegateParams,
      body: SignedAttestedBodySchema,
      response: { status: 200, description: "The delegate's claims afterwards.", schema: DelegateClaimsSchema },
      errors: [
        "InvalidParameter",
        "InvalidInput",
        "MalformedJson",
        "RequestTooLarge",
        "InvalidDelegateType",
        ...ATTESTED_REQUEST_ERRORS,
        ...SIGNED_REQUEST_ERRORS,
        "ClaimValueNotFound",
      ],
      async handler({ params, body }) {
        const delegate = parseDelegate(params.contractId, params.delegateType, params.delegateId);
        const { attestation, publicKeyPem } = checkReleaseRequest(body);
        const signed = checkSignedRequest(body);
        const audited = { delegateType: delegate.type, delegateId: delegate.id };
        return auditingRefusals(ctx, params.contractId, "contract.delegate.denied", audited, async () => {
          const { workload, payload } = admitSigned(ctx, params.contractId, { attestation, boundPem: publicKeyPem, signed }, DelegateChangeSchema);
          const { result, headers } = await durableWrite(ctx.ledger, (tx) =>
            changeDelegate(tx, ctx.lifecycle.clock, params.contractId, delegate, payload, cleanRoomIdentity(workload)),
          );
          return { body: { claims: result }, headers };
        });
      },
    }),
  ];
}
