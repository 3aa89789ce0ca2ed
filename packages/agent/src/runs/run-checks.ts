import { ServiceError } from "@cleanroom/governance-client";
import {
  ANALYTICS_TYPE_LABEL,
  ApiError,
  DatasetSpecificationSchema,
  DatasinkSpecificationSchema,
  ERROR_CATALOGUE,
  QuerySpecificationSchema,
  isBoundQuery,
  type BoundQuerySpecification,
  type DatasetSpecification,
  type DatasinkSpecification,
  type ErrorCode,
  type RuntimeOptionStatus,
} from "@cleanroom/protocol";
import type { AuditLog } from "../audit-log.js";
import type { GovernancePort, OwnedDocument } from "../governance-port.js";

// The run-time checks of reference upstream-spark-analytics.md §2.5, with its codes and messages, extended where
// its notes name a gap (§8.6): the sink's owner must have approved and consented too, and every reference must
// still be the version the approvers approved.

export interface CheckedInput {
  readonly document: OwnedDocument;
  readonly spec: DatasetSpecification;
  readonly view: string;
}

export interface CheckedQuery {
  readonly queryId: string;
  readonly document: OwnedDocument;
  readonly spec: BoundQuerySpecification;
  readonly inputs: readonly CheckedInput[];
  readonly sink: { readonly document: OwnedDocument; readonly spec: DatasinkSpecification };
}

function isNotFound(error: unknown): boolean {
  return error instanceof ServiceError && (error.code === "UserDocumentNotFound" || error.status === 404);
}

/** The accepted document, or undefined when there is none (other failures, e.g. governance unreachable, propagate). */
async function acceptedOrUndefined(port: GovernancePort, documentId: string): Promise<OwnedDocument | undefined> {
  try {
    return await port.acceptedDocument(documentId);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The reference's refusal for missing owner approvals, audited before it is thrown. */
async function missingApprovals(audit: AuditLog, queryId: string, runId: string, documents: readonly string[]): Promise<never> {
  await audit.record(`Query execution denied for queryId ${queryId}: Missing approvals from dataset owners: ${documents.join(", ")} | job id: ${runId}.`);
  throw new ApiError(
    "QueryMissingApprovalsFromDatasetOwners",
    `Query '${queryId}' requires approvals from the owners of the following datasets: ${documents.join(", ")}`,
  );
}

/** Explains a query that is not Accepted: whose approval is missing, or that it was rejected or never proposed. */
async function notAccepted(port: GovernancePort, queryId: string, runId: string, audit: AuditLog): Promise<never> {
  let status;
  try {
    status = await port.documentApprovalStatus(queryId);
  } catch (error) {
    if (isNotFound(error)) throw new ApiError("QueryNotFound", `The contract has no query ${queryId}.`);
    throw error;
  }
  if (status.labels[ANALYTICS_TYPE_LABEL] !== "query") throw new ApiError("QueryNotFound", `Document ${queryId} is not a query.`);
  if (status.state === "Rejected" || status.pendingApprovers.length === 0) {
    throw new ApiError("QueryNotAccepted", `Query '${queryId}' is ${status.state}, not Accepted.`);
  }
  const pending = new Set(status.pendingApprovers.map((approver) => approver.approverId));
  // The datasets (and sink) whose owners are among the pending approvers, as the reference names them.
  const references = status.queryReferences ? [...status.queryReferences.inputs, status.queryReferences.output] : [];
  const missing: string[] = [];
  for (const documentId of references) {
    const owned = await acceptedOrUndefined(port, documentId);
    if (owned !== undefined && pending.has(owned.proposerId) && !missing.includes(documentId)) missing.push(documentId);
  }
  return missingApprovals(audit, queryId, runId, missing.length > 0 ? missing : [...pending]);
}

function parseQuery(document: OwnedDocument): BoundQuerySpecification {
  const parsed = QuerySpecificationSchema.safeParse(document.data);
  if (!parsed.success) throw new ApiError("QueryNotAccepted", `Query '${document.id}' does not hold a valid query specification.`);
  // The service binds every reference when it stores a query; an unbound one was not made by it, so it never runs.
  if (!isBoundQuery(parsed.data)) throw new ApiError("QueryBindingStale", `Query '${document.id}' does not bind the versions of its inputs and sink.`);
  return parsed.data;
}

/**
 * Loads the accepted query, its inputs and its sink and checks that every owner approved this very version
 * (`QueryMissingApprovalsFromDatasetOwners`, audited) and that nothing was re-accepted since (`QueryBindingStale`).
 */
export async function checkQueryApproved(port: GovernancePort, queryId: string, runId: string, audit: AuditLog): Promise<CheckedQuery> {
  const document = await acceptedOrUndefined(port, queryId);
  if (document === undefined) return notAccepted(port, queryId, runId, audit);
  if (document.labels[ANALYTICS_TYPE_LABEL] !== "query") throw new ApiError("QueryNotFound", `Document ${queryId} is not a query.`);
  const spec = parseQuery(document);
  if (spec.inputs.length === 0) throw new ApiError("DatasetMissing", "Atleast one dataset must be specified.");

  // Fetched at once (each is an attested round trip), then checked in the query's order so that errors are stable.
  const [sinkDocument, ...datasets] = await Promise.all([spec.output.sink, ...spec.inputs.map((input) => input.dataset)].map((id) => acceptedOrUndefined(port, id)));
  const inputs: CheckedInput[] = [];
  for (const [index, input] of spec.inputs.entries()) {
    const dataset = datasets[index];
    const parsed = dataset?.labels[ANALYTICS_TYPE_LABEL] === "dataset" ? DatasetSpecificationSchema.safeParse(dataset.data) : undefined;
    if (dataset === undefined || !parsed?.success) throw new ApiError("DatasetMissing", `Dataset ${input.dataset} is not an accepted dataset of the contract.`);
    if (dataset.version !== input.version) {
      throw new ApiError("QueryBindingStale", `Dataset ${input.dataset} was accepted again (version ${dataset.version}) after query '${queryId}' was approved for version ${input.version}.`);
    }
    inputs.push({ document: dataset, spec: parsed.data, view: input.view });
  }
  const sinkSpec = sinkDocument?.labels[ANALYTICS_TYPE_LABEL] === "datasink" ? DatasinkSpecificationSchema.safeParse(sinkDocument.data) : undefined;
  if (sinkDocument === undefined || !sinkSpec?.success) throw new ApiError("DatasinkMissing", `Sink ${spec.output.sink} is not an accepted sink of the contract.`);
  if (sinkDocument.version !== spec.output.version) {
    throw new ApiError("QueryBindingStale", `Sink ${spec.output.sink} was accepted again (version ${sinkDocument.version}) after query '${queryId}' was approved for version ${spec.output.version}.`);
  }

  // Checked here from the documents themselves rather than trusted from the query's approver list (reference §2.5).
  const approvedBy = new Set((document.finalVotes ?? []).filter((vote) => vote.ballot === "accepted").map((vote) => vote.approverId));
  const missing = [...inputs.map((input) => input.document), sinkDocument].filter((owned) => !approvedBy.has(owned.proposerId)).map((owned) => owned.id);
  if (missing.length > 0) await missingApprovals(audit, queryId, runId, missing);
  return { queryId, document, spec, inputs, sink: { document: sinkDocument, spec: sinkSpec.data } };
}

function consentError(status: RuntimeOptionStatus, fallback: ErrorCode, fallbackMessage: string): ApiError {
  const code = status.reason?.code;
  // The reason's code and message are passed on verbatim (reference §2.5 step 3) when they are catalogued codes.
  if (code !== undefined && code in ERROR_CATALOGUE) return new ApiError(code as ErrorCode, status.reason?.message ?? fallbackMessage);
  return new ApiError(fallback, status.reason?.message ?? fallbackMessage);
}

/**
 * Execution consent on the contract, the query, every input and the sink, in that order; the first one disabled
 * fails the run with its reason, audited. Used before a run starts and again before its output is committed.
 */
export async function checkExecutionConsent(port: GovernancePort, checked: CheckedQuery, runId: string, audit: AuditLog): Promise<void> {
  const deny = async (error: ApiError): Promise<never> => {
    await audit.record(`Query execution denied for queryId ${checked.queryId}. Reason: ${error.message} | job id: ${runId}.`);
    throw error;
  };
  const documents = [checked.queryId, ...checked.inputs.map((input) => input.document.id), checked.sink.document.id];
  // Asked at once; the first one disabled, in this order, is the answer.
  const [contract, ...statuses] = await Promise.all([port.contractConsent("execution"), ...documents.map((documentId) => port.documentConsent(documentId, "execution"))]);
  if (contract.status !== "enabled") await deny(consentError(contract, "ContractDisabled", "Execution consent is disabled on the contract."));
  for (const [index, documentId] of documents.entries()) {
    const status = statuses[index]!;
    if (status.status !== "enabled") {
      await deny(consentError(status, "UserDocumentRuntimeOptionDisabled", `UserDocument runtime option 'execution' for document ${documentId} has been disabled.`));
    }
  }
}
