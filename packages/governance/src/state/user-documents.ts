import type { StateReader } from "@cleanroom/ledger";
import { type Approval, type ApprovalAction, type Approver, type ApproverIdType, type Labels } from "@cleanroom/protocol";
import { readJson, readVersion } from "./json-state.js";
import { Maps } from "./maps.js";

/** `public:user_documents` values. The document's version is the key's last write. */
export interface StoredUserDocument {
  contractId: string;
  data: unknown;
  labels: Labels;
  approvers: Approver[];
  proposerId: string;
  proposerIdType: ApproverIdType;
}

/** `public:cleanroom.user_document_approvals` values. The approval's transaction is the key's write. */
export interface StoredApproval {
  action: ApprovalAction;
  version: string;
}

/** Per-approver runtime option choices, keyed by `approverKey`. */
export type ApproverConsent = Record<string, "enabled" | "disabled">;

export function documentKey(contractId: string, documentId: string): string {
  return `${contractId}/${documentId}`;
}

/** Ids cannot contain `/` or `:` in the first two parts, so keys never collide. */
export function approverKey(approver: Approver): string {
  return `${approver.approverIdType}:${approver.approverId}`;
}

export function approvalKey(contractId: string, documentId: string, approver: Approver): string {
  return `${documentKey(contractId, documentId)}/${approverKey(approver)}`;
}

export function runtimeOptionKey(contractId: string, documentId: string, option: string): string {
  return `${documentKey(contractId, documentId)}/${option}`;
}

export function getUserDocument(state: StateReader, contractId: string, documentId: string): StoredUserDocument | undefined {
  return readJson<StoredUserDocument>(state, Maps.userDocuments, documentKey(contractId, documentId));
}

export function userDocumentVersion(state: StateReader, contractId: string, documentId: string): string | undefined {
  return readVersion(state, Maps.userDocuments, documentKey(contractId, documentId));
}

/** The actions recorded for the document, in approver order, including ones written by the current transaction. */
export function getApprovalActions(state: StateReader, contractId: string, documentId: string, approvers: Approver[]): Array<Approver & StoredApproval> {
  const actions: Array<Approver & StoredApproval> = [];
  for (const approver of approvers) {
    const stored = readJson<StoredApproval>(state, Maps.userDocumentApprovals, approvalKey(contractId, documentId, approver));
    if (stored) actions.push({ ...approver, ...stored });
  }
  return actions;
}

/**
 * The approvals with their transaction ids. A transaction's own writes have no id yet, so views are built from
 * committed state (after the write), never inside the writing transaction.
 */
export function getApprovals(state: StateReader, contractId: string, documentId: string, approvers: Approver[]): Approval[] {
  return getApprovalActions(state, contractId, documentId, approvers).map((action) => {
    const transactionId = readVersion(state, Maps.userDocumentApprovals, approvalKey(contractId, documentId, action));
    return {
      approverId: action.approverId,
      approverIdType: action.approverIdType,
      action: action.action,
      version: action.version,
      transactionId: transactionId ?? "0.0",
    };
  });
}
