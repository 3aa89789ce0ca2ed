import type { StateReader, WriteTx } from "@cleanroom/ledger";
import {
  analyticsDocumentType,
  ApiError,
  QuerySpecificationSchema,
  RESERVED_USER_DOCUMENT_IDS,
  type AcceptedUserDocument,
  type Approval,
  type ApprovalBody,
  type Approver,
  type Identity,
  type PutUserDocumentBody,
  type RuntimeOptionAction,
  type RuntimeOptionStatus,
  type UserDocument,
  type UserDocumentApprovalStatus,
  type UserDocumentRuntimeOption,
  type UserDocumentState,
} from "@cleanroom/protocol";
import { contractExists } from "../state/contracts.js";
import { decodeJson, readJson, writeJson } from "../state/json-state.js";
import { Maps } from "../state/maps.js";
import { getMember, getUser, type StoredMemberInfo } from "../state/members.js";
import {
  approvalKey,
  approverKey,
  documentKey,
  getApprovalActions,
  getApprovals,
  getUserDocument,
  runtimeOptionKey,
  userDocumentVersion,
  type ApproverConsent,
  type StoredUserDocument,
} from "../state/user-documents.js";
import { checkAnalyticsDocument, checkTypeLabelUnchanged } from "./analytics-documents.js";
import { recordGovernanceEvent } from "./audit-events.js";

/** Reference §3.4: Draft (no action), Proposed (≥1 accept), Accepted (all accepted), Rejected (any reject, terminal). */
export function documentState(approvers: Approver[], approvals: Array<Approver & { action: Approval["action"] }>): UserDocumentState {
  if (approvals.some((a) => a.action === "reject")) return "Rejected";
  if (approvals.length === 0) return "Draft";
  const accepted = new Set(approvals.filter((a) => a.action === "accept").map(approverKey));
  return approvers.every((approver) => accepted.has(approverKey(approver))) ? "Accepted" : "Proposed";
}

function toView(state: StateReader, contractId: string, documentId: string, stored: StoredUserDocument): UserDocument {
  const approvals = getApprovals(state, contractId, documentId, stored.approvers);
  const docState = documentState(stored.approvers, approvals);
  const acted = new Set(approvals.map(approverKey));
  return {
    id: documentId,
    contractId,
    version: userDocumentVersion(state, contractId, documentId) ?? "0.0",
    state: docState,
    data: stored.data,
    labels: stored.labels,
    approvers: stored.approvers,
    approvals,
    pendingApprovers: docState === "Rejected" ? [] : stored.approvers.filter((a) => !acted.has(approverKey(a))),
    proposerId: stored.proposerId,
    proposerIdType: stored.proposerIdType,
    ...(docState === "Accepted" || docState === "Rejected"
      ? { finalVotes: approvals.map((a) => ({ approverId: a.approverId, ballot: a.action === "accept" ? ("accepted" as const) : ("rejected" as const) })) }
      : {}),
  };
}

export function userDocumentView(state: StateReader, contractId: string, documentId: string): UserDocument | undefined {
  const stored = getUserDocument(state, contractId, documentId);
  return stored ? toView(state, contractId, documentId, stored) : undefined;
}

function requireDocument(state: StateReader, contractId: string, documentId: string): UserDocument {
  const view = userDocumentView(state, contractId, documentId);
  if (!view) throw new ApiError("UserDocumentNotFound", `Contract ${contractId} has no user document ${documentId}.`);
  return view;
}

/** Whether a contract other than `contractId` has a document `documentId` (ids are per contract). */
function inOtherContract(state: StateReader, contractId: string, documentId: string): boolean {
  let found = false;
  state.forEach(Maps.userDocuments, (key) => {
    const slash = key.indexOf("/");
    if (key.slice(slash + 1) === documentId && key.slice(0, slash) !== contractId) found = true;
  });
  return found;
}

/** The document as an attested workload of the contract asks for it: one of another contract is ContractIdMismatch. */
function documentForWorkload(state: StateReader, contractId: string, documentId: string): UserDocument | undefined {
  const view = userDocumentView(state, contractId, documentId);
  if (view === undefined && inOtherContract(state, contractId, documentId)) {
    throw new ApiError("ContractIdMismatch", `Document ${documentId} is not a document of contract ${contractId}.`);
  }
  return view;
}

/**
 * What an attested workload of the contract may fetch (reference §2.6): an Accepted document's content, its owner and
 * who approved it. A document not (yet) accepted is not found; one of another contract is ContractIdMismatch.
 */
export function acceptedUserDocument(state: StateReader, contractId: string, documentId: string): AcceptedUserDocument {
  const view = documentForWorkload(state, contractId, documentId);
  if (view?.state !== "Accepted") throw new ApiError("UserDocumentNotFound", `Contract ${contractId} has no accepted user document ${documentId}.`);
  const { id, version, data, labels, approvers, proposerId, proposerIdType, finalVotes = [] } = view;
  return { id, contractId, version, data, labels, approvers, state: "Accepted", proposerId, proposerIdType, finalVotes };
}

/**
 * Where a document of the contract stands in its approval, in any state, without its data (a query's references
 * excepted): what a clean room needs to name the datasets whose owners have not approved a query yet. Unknown is UserDocumentNotFound; another contract's is
 * ContractIdMismatch.
 */
export function userDocumentApprovalStatus(state: StateReader, contractId: string, documentId: string): UserDocumentApprovalStatus {
  const view = documentForWorkload(state, contractId, documentId);
  if (view === undefined) throw new ApiError("UserDocumentNotFound", `Contract ${contractId} has no user document ${documentId}.`);
  const { id, version, labels, approvers, approvals, pendingApprovers, proposerId, proposerIdType } = view;
  const query = analyticsDocumentType(labels) === "query" ? QuerySpecificationSchema.safeParse(view.data) : undefined;
  return {
    id,
    contractId,
    version,
    state: view.state,
    labels,
    approvers,
    approvals,
    pendingApprovers,
    proposerId,
    proposerIdType,
    // Which datasets and sink a query names (never its SQL), so that a refusal can say whose approval is missing.
    ...(query?.success ? { queryReferences: { inputs: query.data.inputs.map((input) => input.dataset), output: query.data.output.sink } } : {}),
  };
}

/** The documents of a contract matching every label pair. */
export function listUserDocuments(state: StateReader, contractId: string, selector: Array<[string, string]>): UserDocument[] {
  const prefix = `${contractId}/`;
  const documents: UserDocument[] = [];
  state.forEach(Maps.userDocuments, (key, value) => {
    if (!key.startsWith(prefix)) return;
    const stored = decodeJson<StoredUserDocument>(value);
    if (!selector.every(([name, label]) => stored.labels[name] === label)) return;
    documents.push(toView(state, contractId, key.slice(prefix.length), stored));
  });
  return documents;
}

function hasRole(info: StoredMemberInfo): boolean {
  const roles = info.member_data.roles;
  return Array.isArray(roles) && roles.length > 0;
}

/** The default approvers: counted (role-less) Active members now, frozen into the document. */
function defaultApprovers(state: StateReader): Approver[] {
  const approvers: Approver[] = [];
  state.forEach(Maps.membersInfo, (id, value) => {
    const info = decodeJson<StoredMemberInfo>(value);
    if (info.status === "Active" && !hasRole(info)) approvers.push({ approverId: id, approverIdType: "member" });
  });
  if (approvers.length === 0) throw new ApiError("InvalidApprovers", "No approvers were given and the consortium has no counted Active member.");
  return approvers;
}

function checkApprovers(state: StateReader, approvers: Approver[]): void {
  if (approvers.length === 0) throw new ApiError("InvalidApprovers", "approvers must not be empty; omit it to require every counted Active member.");
  const keys = approvers.map(approverKey);
  if (new Set(keys).size !== keys.length) throw new ApiError("InvalidApprovers", "approvers has duplicates.");
  for (const approver of approvers) {
    const exists =
      approver.approverIdType === "member"
        ? getMember(state, approver.approverId) !== undefined
        : getUser(state, approver.approverId) !== undefined || state.has(Maps.userIdentities, approver.approverId);
    if (!exists) throw new ApiError("InvalidApprovers", `approver ${approver.approverId} is not an existing ${approver.approverIdType}.`);
  }
}

/**
 * `PUT …/userdocuments/{documentId}`: only while Draft, with optimistic concurrency. Datasets, sinks and queries
 * (by their `type` label) are validated, and get their approvers, by the analytics rules.
 */
export function putUserDocument(tx: WriteTx, caller: Identity, contractId: string, documentId: string, body: PutUserDocumentBody): void {
  if ((RESERVED_USER_DOCUMENT_IDS as readonly string[]).includes(documentId)) {
    throw new ApiError("InvalidParameter", `The document id '${documentId}' is reserved: …/userdocuments/${documentId}/… paths address accepted documents.`);
  }
  if (body.contractId !== undefined && body.contractId !== contractId) {
    throw new ApiError("ContractIdMismatch", `The body's contractId ${body.contractId} is not the contract in the path (${contractId}).`);
  }
  if (body.data === undefined) throw new ApiError("DataMissing", "The request body has no data.");
  if (!contractExists(tx, contractId)) throw new ApiError("ContractNotFound", `Contract ${contractId} does not exist.`);
  const existing = userDocumentView(tx, contractId, documentId);
  if (existing) {
    if (existing.state === "Accepted") throw new ApiError("UserDocumentAlreadyAccepted", "The specified document has already been accepted.");
    if (existing.state === "Rejected") throw new ApiError("UserDocumentRejected", `Document ${documentId} was rejected; it can no longer be edited.`);
    if (existing.state === "Proposed") {
      throw new ApiError("UserDocumentNotDraft", `Document ${documentId} has approvals; it can no longer be edited.`);
    }
    if (body.version === undefined) {
      throw new ApiError("UserDocumentAlreadyExists", `Document ${documentId} already exists; give its current version to update it.`);
    }
  }
  if (body.version !== undefined && body.version !== existing?.version) {
    throw new ApiError("PreconditionFailed", `The version ${body.version} is not the current version of document ${documentId} (${existing?.version ?? "none"}).`);
  }
  const labels = body.labels ?? {};
  if (existing) checkTypeLabelUnchanged(existing.labels, labels);
  // The creator stays the proposer through draft edits: the workload treats it as the dataset's owner.
  const owner: Approver = existing ? { approverId: existing.proposerId, approverIdType: existing.proposerIdType } : asApprover(caller);
  const analytics = checkAnalyticsDocument(tx, {
    contractId,
    owner,
    labels,
    data: body.data,
    approvers: body.approvers,
    lookup: (id) => userDocumentView(tx, contractId, id),
  });
  const { data, approvers } = analytics ?? { data: body.data, approvers: body.approvers ?? defaultApprovers(tx) };
  checkApprovers(tx, approvers);
  const stored: StoredUserDocument = {
    contractId,
    data,
    labels,
    approvers,
    proposerId: owner.approverId,
    proposerIdType: owner.approverIdType,
  };
  writeJson(tx, Maps.userDocuments, documentKey(contractId, documentId), stored);
}

function asApprover(caller: Identity): Approver {
  return { approverId: caller.id, approverIdType: caller.kind };
}

function requireApprover(document: UserDocument, caller: Identity): Approver {
  const approver = asApprover(caller);
  if (!document.approvers.some((a) => approverKey(a) === approverKey(approver))) {
    throw new ApiError("NotUserDocumentApprover", `${caller.kind} ${caller.id} is not an approver of document ${document.id}.`);
  }
  return approver;
}

/** An approver accepts or rejects the document's current version; each approver acts once. Read the view afterwards. */
export function approveUserDocument(
  tx: WriteTx,
  clock: () => number,
  caller: Identity,
  contractId: string,
  documentId: string,
  body: ApprovalBody,
): void {
  const document = requireDocument(tx, contractId, documentId);
  const approver = requireApprover(document, caller);
  const key = approverKey(approver);
  if (document.approvals.some((a) => approverKey(a) === key)) {
    throw new ApiError("ApprovalAlreadySubmitted", `${approver.approverIdType} ${approver.approverId} has already acted on document ${documentId}.`);
  }
  if (document.state === "Rejected") throw new ApiError("UserDocumentRejected", `Document ${documentId} was rejected; approvals are closed.`);
  if (body.version !== document.version) {
    throw new ApiError("PreconditionFailed", `The version ${body.version} is not the current version of document ${documentId} (${document.version}).`);
  }
  writeJson(tx, Maps.userDocumentApprovals, approvalKey(contractId, documentId, approver), { action: body.action, version: body.version });
  const after = documentState(document.approvers, getApprovalActions(tx, contractId, documentId, document.approvers));
  const details = { documentId, version: body.version };
  recordGovernanceEvent(tx, clock, contractId, body.action === "accept" ? "userdocument.approved" : "userdocument.rejected", details, caller);
  if (after === "Accepted") recordGovernanceEvent(tx, clock, contractId, "userdocument.accepted", details);
}

/** Reference §2.6 status semantics; a rejected document reports UserDocumentRejected rather than "not accepted". */
export function userDocumentRuntimeOptionStatus(
  state: StateReader,
  contractId: string,
  documentId: string,
  option: UserDocumentRuntimeOption,
): RuntimeOptionStatus {
  const document = requireDocument(state, contractId, documentId);
  if (document.state === "Rejected") {
    return { status: "disabled", reason: { code: "UserDocumentRejected", message: `Document ${documentId} was rejected.` } };
  }
  if (document.state !== "Accepted") {
    return { status: "disabled", reason: { code: "UserDocumentNotAccepted", message: `Document ${documentId} is not accepted.` } };
  }
  const consent = readJson<ApproverConsent>(state, Maps.userDocumentsRuntimeOptionStatus, runtimeOptionKey(contractId, documentId, option)) ?? {};
  const disabledBy = Object.keys(consent)
    .filter((key) => consent[key] === "disabled")
    .map((key) => key.slice(key.indexOf(":") + 1))
    .sort();
  if (disabledBy.length === 0) return { status: "enabled" };
  return {
    status: "disabled",
    reason: {
      code: "UserDocumentRuntimeOptionDisabled",
      message: `UserDocument runtime option '${option}' for document ${documentId} has been disabled by the following approver(s): ${disabledBy.join(", ")}.`,
    },
    disabledBy,
  };
}

/** Any approver of an Accepted document may enable or disable its execution or telemetry, for themselves. */
export function setUserDocumentRuntimeOption(
  tx: WriteTx,
  clock: () => number,
  caller: Identity,
  contractId: string,
  documentId: string,
  option: UserDocumentRuntimeOption,
  action: RuntimeOptionAction,
): RuntimeOptionStatus {
  const document = requireDocument(tx, contractId, documentId);
  const approver = requireApprover(document, caller);
  if (document.state !== "Accepted") throw new ApiError("UserDocumentNotAccepted", `Document ${documentId} is ${document.state}, not Accepted.`);
  const key = runtimeOptionKey(contractId, documentId, option);
  const consent = readJson<ApproverConsent>(tx, Maps.userDocumentsRuntimeOptionStatus, key) ?? {};
  const status = action === "enable" ? "enabled" : "disabled";
  writeJson(tx, Maps.userDocumentsRuntimeOptionStatus, key, { ...consent, [approverKey(approver)]: status });
  recordGovernanceEvent(tx, clock, contractId, "userdocument.consent.changed", { documentId, option, status }, caller);
  return userDocumentRuntimeOptionStatus(tx, contractId, documentId, option);
}
