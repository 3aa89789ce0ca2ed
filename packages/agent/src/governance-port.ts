import type { AcceptedUserDocument, CallerStatus, RuntimeOptionStatus } from "@cleanroom/protocol";

/** An accepted document with what the run checks need: who owns it and who approved this version. */
export type OwnedDocument = AcceptedUserDocument & {
  readonly proposerId: string;
  readonly finalVotes?: ReadonlyArray<{ readonly approverId: string; readonly ballot: "accepted" | "rejected" }>;
};

/** Where a document stands, without its data: what explains a query that is not accepted yet. */
export interface DocumentApprovalStatus {
  readonly id: string;
  readonly state: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly proposerId: string;
  readonly pendingApprovers: ReadonlyArray<{ readonly approverId: string }>;
  /** For a query: the documents it reads and writes. */
  readonly queryReferences?: { readonly inputs: readonly string[]; readonly output: string };
}

/**
 * What the agent needs from governance. In production this is the runtime's GovernanceLink (attested requests
 * from inside the TEE); the interface exists so that the run logic names only what it uses, and nothing else of
 * governance is reachable from it.
 */
export interface GovernancePort {
  /** The accepted version of a document; a ServiceError `UserDocumentNotFound` when it is not Accepted. */
  acceptedDocument(documentId: string): Promise<OwnedDocument>;
  documentApprovalStatus(documentId: string): Promise<DocumentApprovalStatus>;
  contractConsent(option: "execution"): Promise<RuntimeOptionStatus>;
  documentConsent(documentId: string, option: "execution"): Promise<RuntimeOptionStatus>;
  releaseSecret(secretId: string): Promise<{ value: string }>;
  issueToken(request: { sub: string; aud: string }): Promise<{ token: string }>;
  /** Appends an audit event to the contract's log, signed by the workload. */
  putEvent(event: { data: unknown; id?: string; scope?: string }): Promise<void>;
  certificateCallerStatus(certificatePem: string): Promise<CallerStatus>;
  tokenCallerStatus(token: string): Promise<CallerStatus>;
}
