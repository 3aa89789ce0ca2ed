import {
  ApiError,
  AttestedCheckBodySchema,
  ApprovalBodySchema,
  parseLabelSelector,
  PutUserDocumentBodySchema,
  ReleasedSecretSchema,
  ReleaseSecretBodySchema,
  ResourceIdSchema,
  RuntimeOptionStatusSchema,
  TX_ID_HEADER,
  UserDocumentApprovalStatusSchema,
  UserDocumentListSchema,
  UserDocumentRuntimeOptionSchema,
  UserDocumentSchema,
  WriteResultSchema,
} from "@cleanroom/protocol";
import { z } from "zod";
import {
  acceptedUserDocument,
  approveUserDocument,
  listUserDocuments,
  putUserDocument,
  setUserDocumentRuntimeOption,
  userDocumentApprovalStatus,
  userDocumentRuntimeOptionStatus,
  userDocumentView,
} from "../../governance/user-documents.js";
import { checkReleaseRequest, verifyConsentChecker, verifyWorkload, wrapFor } from "../../governance/secret-release.js";
import { CALLER_READ_ERRORS, CALLER_WRITE_ERRORS, requireActiveCaller } from "../authorization.js";
import { durableRead, durableWrite, type ServiceContext } from "../context.js";
import { answerRelease, ATTESTED_REQUEST_ERRORS, auditingRefusals } from "../attested-requests.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";

const ContractParams = z.object({ contractId: ResourceIdSchema });
const DocumentParams = ContractParams.extend({ documentId: ResourceIdSchema });
const OptionParams = DocumentParams.extend({ option: z.string().max(64) });
const ListQuery = z.strictObject({ labelSelector: z.string().max(4096).optional() });
const BASE = "/app/contracts/{contractId}/userdocuments";

function parseOption(option: string) {
  const parsed = UserDocumentRuntimeOptionSchema.safeParse(option);
  if (!parsed.success) {
    throw new ApiError("InvalidUserDocumentRuntimeOption", `Unknown runtime option '${option}'; user documents have execution and telemetry.`);
  }
  return parsed.data;
}

export function userDocumentRoutes(ctx: ServiceContext): RouteDefinition[] {
  const clock = ctx.lifecycle.clock;
  const readDocument = (method: "GET" | "POST") =>
    defineRoute({
      method,
      path: `${BASE}/{documentId}`,
      summary: method === "GET" ? "Show a user document" : "Show a user document (CCF-style POST read)",
      description: "With its derived state, every approval (approver, action, version, transaction) and the approvers still pending.",
      tag: "User documents",
      auth: "caller",
      params: DocumentParams,
      response: { status: 200, description: "The document.", schema: UserDocumentSchema },
      errors: [...CALLER_READ_ERRORS, "UserDocumentNotFound"],
      async handler({ params }) {
        const document = userDocumentView(ctx.ledger, params.contractId, params.documentId);
        if (!document) throw new ApiError("UserDocumentNotFound", "A document with the specified id was not found.");
        return { body: document, headers: await durableRead(ctx.ledger) };
      },
    });
  const setOption = (action: "enable" | "disable") =>
    defineRoute({
      method: "POST",
      path: `${BASE}/{documentId}/runtimeoptions/{option}/${action}`,
      summary: `${action === "enable" ? "Enable" : "Disable"} a runtime option of an accepted user document (per approver)`,
      description: "Any approver may; the option is effective only while no approver has it disabled.",
      tag: "User documents",
      auth: "caller",
      params: OptionParams,
      response: { status: 200, description: "The effective status afterwards.", schema: RuntimeOptionStatusSchema },
      errors: [...CALLER_READ_ERRORS, "MemberNotActive", "InvalidUserDocumentRuntimeOption", "UserDocumentNotFound", "NotUserDocumentApprover", "UserDocumentNotAccepted"],
      async handler({ params, caller }) {
        const actor = requireActiveCaller(caller);
        const option = parseOption(params.option);
        const { result, headers } = await durableWrite(ctx.ledger, (tx) =>
          setUserDocumentRuntimeOption(tx, clock, actor, params.contractId, params.documentId, option, action),
        );
        return { body: result, headers };
      },
    });

  return [
    defineRoute({
      method: "GET",
      path: BASE,
      summary: "List a contract's user documents",
      description: "`labelSelector=name:value,name2:value2` keeps documents carrying every listed label.",
      tag: "User documents",
      auth: "caller",
      params: ContractParams,
      query: ListQuery,
      response: { status: 200, description: "The documents.", schema: UserDocumentListSchema },
      errors: CALLER_READ_ERRORS,
      async handler({ params, query }) {
        const selector = query.labelSelector === undefined ? [] : parseLabelSelector(query.labelSelector);
        if (selector === undefined) {
          throw new ApiError("InvalidParameter", `Invalid labelSelector '${query.labelSelector ?? ""}': expected name:value pairs separated by commas.`);
        }
        const value = listUserDocuments(ctx.ledger, params.contractId, selector).map((d) => ({
          id: d.id,
          contractId: d.contractId,
          state: d.state,
          labels: d.labels,
        }));
        return { body: { value }, headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "PUT",
      path: `${BASE}/{documentId}`,
      summary: "Create or update a draft user document",
      description:
        "Without `version` creates the document; with the current `version` replaces it, only while Draft (no approver has acted). `approvers` default to every counted Active member at the time of the write, frozen into the document. Active members and users may write. Documents labelled `type: dataset`, `datasink` or `query` are analytics documents (docs/analytics-documents.md): their `data` is validated; a dataset's or sink's approvers default to its owner and must include it; a query's approvers are the owners of its inputs and sink, computed by the service, and its references are bound to their Accepted versions. The `type` label cannot change on update.",
      tag: "User documents",
      auth: "caller",
      params: DocumentParams,
      body: PutUserDocumentBodySchema,
      response: { status: 200, description: "The document id and its new version.", schema: WriteResultSchema },
      errors: [
        ...CALLER_WRITE_ERRORS,
        "ContractIdMismatch",
        "DataMissing",
        "ContractNotFound",
        "UserDocumentAlreadyAccepted",
        "UserDocumentRejected",
        "UserDocumentNotDraft",
        "UserDocumentAlreadyExists",
        "PreconditionFailed",
        "InvalidApprovers",
        "UserDocumentTypeChanged",
        "InvalidDatasetDocument",
        "InvalidQueryDocument",
        "SecretOwnerMismatch",
        "FederationSubjectMismatch",
        "QueryInputNotFound",
        "QueryInputNotDataset",
        "QueryInputNotAccepted",
        "QueryOutputNotFound",
        "QueryOutputNotDatasink",
        "QueryOutputNotAccepted",
        "QueryReferenceVersionMismatch",
        "QueryApproversMismatch",
      ],
      async handler({ params, body, caller }) {
        const actor = requireActiveCaller(caller);
        const { headers } = await durableWrite(ctx.ledger, (tx) => putUserDocument(tx, actor, params.contractId, params.documentId, body));
        return { body: { id: params.documentId, version: headers[TX_ID_HEADER] }, headers };
      },
    }),
    readDocument("GET"),
    readDocument("POST"),
    defineRoute({
      method: "POST",
      path: `${BASE}/{documentId}/approval`,
      summary: "Accept or reject a user document version",
      description:
        'Body `{"version": "<current version>", "action": "accept" | "reject"}`. Only listed approvers, once each. All accept → Accepted; any reject → Rejected (terminal).',
      tag: "User documents",
      auth: "caller",
      params: DocumentParams,
      body: ApprovalBodySchema,
      response: { status: 200, description: "The document after the approval.", schema: UserDocumentSchema },
      errors: [...CALLER_WRITE_ERRORS, "UserDocumentNotFound", "NotUserDocumentApprover", "ApprovalAlreadySubmitted", "UserDocumentRejected", "PreconditionFailed"],
      async handler({ params, body, caller }) {
        const actor = requireActiveCaller(caller);
        const { headers } = await durableWrite(ctx.ledger, (tx) => approveUserDocument(tx, clock, actor, params.contractId, params.documentId, body));
        return { body: userDocumentView(ctx.ledger, params.contractId, params.documentId), headers };
      },
    }),
    defineRoute({
      method: "POST",
      path: `${BASE}/{documentId}/runtimeoptions/{option}/status`,
      summary: "Show a user document's runtime option status",
      description:
        "Enabled only for an Accepted document that no approver has disabled; `reason` says why not. Anonymous callers (the clean room's consent check) send `{attestation, encrypt?}`, which must satisfy the contract's clean-room policy.",
      tag: "User documents",
      auth: "callerOrAttested",
      params: OptionParams,
      body: AttestedCheckBodySchema,
      response: { status: 200, description: "The status.", schema: RuntimeOptionStatusSchema },
      errors: [...CALLER_READ_ERRORS, "InvalidUserDocumentRuntimeOption", "UserDocumentNotFound", ...ATTESTED_REQUEST_ERRORS],
      async handler({ params, caller, body }) {
        const option = parseOption(params.option);
        if (!caller) verifyConsentChecker(ctx.ledger, ctx.attestation, params.contractId, body);
        return {
          body: userDocumentRuntimeOptionStatus(ctx.ledger, params.contractId, params.documentId, option),
          headers: await durableRead(ctx.ledger),
        };
      },
    }),
    setOption("enable"),
    setOption("disable"),
    defineRoute({
      method: "POST",
      path: `${BASE}/accepted/{documentId}`,
      summary: "Release an accepted user document to an attested workload",
      description:
        "Anonymous but attested, with the body of a secret release (`attestation`, `encrypt.publicKey`, `platform?`): the SEV-SNP evidence must bind `encrypt.publicKey` and satisfy the contract's clean-room policy. Returns the JSON of the accepted document (`id, contractId, version, data, labels, approvers, state, proposerId, proposerIdType, finalVotes`: its owner and every approver's ballot, so the clean room can check for itself that each dataset owner approved a query) wrapped to that key. A document that is not Accepted is not found; another contract's document is ContractIdMismatch. Releases and refusals are audited (`userdocument.released` / `userdocument.denied`).",
      tag: "User documents",
      auth: "none",
      params: DocumentParams,
      body: ReleaseSecretBodySchema,
      response: { status: 200, description: "The wrapped document.", schema: ReleasedSecretSchema },
      errors: ["InvalidParameter", "InvalidInput", "MalformedJson", "RequestTooLarge", ...ATTESTED_REQUEST_ERRORS, "ContractIdMismatch", "UserDocumentNotFound"],
      async handler({ params, body }) {
        const { attestation, publicKeyPem } = checkReleaseRequest(body);
        return auditingRefusals(ctx, params.contractId, "userdocument.denied", { documentId: params.documentId }, async () => {
          const workload = verifyWorkload(ctx.ledger, ctx.attestation, params.contractId, attestation, publicKeyPem);
          const document = acceptedUserDocument(ctx.ledger, params.contractId, params.documentId);
          const value = wrapFor(workload, Buffer.from(JSON.stringify(document), "utf8"));
          return answerRelease(ctx, params.contractId, "userdocument.released", { documentId: params.documentId, version: document.version }, workload, value);
        });
      },
    }),
    defineRoute({
      method: "POST",
      // `…/accepted/approvalstatus` is the fetch of an accepted document named `approvalstatus`: the router prefers
      // the literal segment, and no document can be named `accepted` (RESERVED_USER_DOCUMENT_IDS).
      path: `${BASE}/{documentId}/approvalstatus`,
      summary: "Show a user document's approval status to an attested workload",
      description:
        "Anonymous but attested, with the body of an accepted-document fetch (`attestation`, `encrypt.publicKey`, `platform?`): the SEV-SNP evidence must bind `encrypt.publicKey` and satisfy the contract's clean-room policy. Returns, for a document in any state, `id, contractId, version, state, labels, approvers, approvals, pendingApprovers, proposerId, proposerIdType` as plain JSON — never its `data`; for a `type: query` document also `queryReferences: {inputs, output}`, the ids of the datasets and sink it names (not its SQL) — so a clean room can say whose approval a query still lacks. Unknown documents are UserDocumentNotFound; another contract's document is ContractIdMismatch. Refusals are audited (`userdocument.denied` with `read: approvalstatus`); answers are not.",
      tag: "User documents",
      auth: "none",
      params: DocumentParams,
      body: ReleaseSecretBodySchema,
      response: { status: 200, description: "The document's approval status.", schema: UserDocumentApprovalStatusSchema },
      errors: ["InvalidParameter", "InvalidInput", "MalformedJson", "RequestTooLarge", ...ATTESTED_REQUEST_ERRORS, "ContractIdMismatch", "UserDocumentNotFound"],
      async handler({ params, body }) {
        const { attestation, publicKeyPem } = checkReleaseRequest(body);
        const audited = { documentId: params.documentId, read: "approvalstatus" };
        // Successful reads are not audited: nothing confidential is released (members and users read the same through
        // GET …/{documentId}), and a clean room asks before every run, which would add a ledger write to each.
        const status = await auditingRefusals(ctx, params.contractId, "userdocument.denied", audited, () => {
          verifyWorkload(ctx.ledger, ctx.attestation, params.contractId, attestation, publicKeyPem);
          return Promise.resolve(userDocumentApprovalStatus(ctx.ledger, params.contractId, params.documentId));
        });
        return { body: status, headers: await durableRead(ctx.ledger) };
      },
    }),
  ];
}
