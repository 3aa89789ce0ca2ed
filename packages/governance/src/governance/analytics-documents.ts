import type { StateReader } from "@cleanroom/ledger";
import {
  ANALYTICS_TYPE_LABEL,
  ApiError,
  CLEAN_ROOM_SECRET_OWNER,
  DatasetSpecificationSchema,
  DatasinkSpecificationSchema,
  QuerySpecificationSchema,
  analyticsDocumentType,
  describeFirstIssue,
  type Approver,
  type BoundQuerySpecification,
  type DatasetSpecification,
  type ErrorCode,
  type Labels,
  type UserDocument,
} from "@cleanroom/protocol";
import { Maps } from "../state/maps.js";
import { approverKey } from "../state/user-documents.js";

// Datasets, sinks and queries (docs/analytics-documents.md): user documents whose `type` label makes the service
// validate their data, bind them to their owner's secrets and federation subjects, and, for queries, compute the
// approvers from the owners of what the query reads and writes instead of trusting the client.

/** A user document write, as far as the analytics rules need it. */
export interface AnalyticsDocumentWrite {
  contractId: string;
  /** The creator, kept through draft edits: the owner whose secrets a dataset may name and who approves queries. */
  owner: Approver;
  labels: Labels;
  data: unknown;
  /** As the client sent them, if it did. */
  approvers: Approver[] | undefined;
  /** The contract's documents by id (a query's references). */
  lookup: (documentId: string) => UserDocument | undefined;
}

/** What to store for an analytics document: its validated (for a query, bound) data and its approvers. */
export interface CheckedAnalyticsDocument {
  data: DatasetSpecification | BoundQuerySpecification;
  approvers: Approver[];
}

/**
 * The `type` label decides which rules a document obeys and which references may name it, so an update can neither
 * change it nor take it away; a changed document is a new document.
 */
export function checkTypeLabelUnchanged(before: Labels, after: Labels): void {
  const was = before[ANALYTICS_TYPE_LABEL];
  const is = after[ANALYTICS_TYPE_LABEL];
  if (was === is) return;
  const describe = (value: string | undefined) => (value === undefined ? "no type label" : `type '${value}'`);
  throw new ApiError("UserDocumentTypeChanged", `The document has ${describe(was)}; an update cannot give it ${describe(is)}. Create a new document instead.`);
}

/** Validates a document labelled `type: dataset|datasink|query`; undefined for any other document. */
export function checkAnalyticsDocument(state: StateReader, write: AnalyticsDocumentWrite): CheckedAnalyticsDocument | undefined {
  const type = analyticsDocumentType(write.labels);
  if (type === undefined) return undefined;
  return type === "query" ? checkQuery(write) : checkDataset(state, type, write);
}

const SPECIFICATIONS = { dataset: DatasetSpecificationSchema, datasink: DatasinkSpecificationSchema } as const;

function checkDataset(state: StateReader, type: "dataset" | "datasink", write: AnalyticsDocumentWrite): CheckedAnalyticsDocument {
  const parsed = SPECIFICATIONS[type].safeParse(write.data);
  if (!parsed.success) throw new ApiError("InvalidDatasetDocument", `Invalid ${type} document: ${describeFirstIssue(parsed.error, "data")}.`);
  const spec = parsed.data;
  if (spec.encryption.mode === "parquet-uniform") checkSecretOwner(state, write.owner, spec.encryption.keySecretId, "data.encryption.keySecretId");
  if (spec.credentials.kind === "secret") checkSecretOwner(state, write.owner, spec.credentials.secretId, "data.credentials.secretId");
  if (spec.credentials.kind === "federation") checkSubject(write.contractId, write.owner, spec.credentials.subject);
  // Publishing is the owner's decision (reference §2.1), and the owner's secrets are at stake: the owner always approves.
  const approvers = write.approvers ?? [write.owner];
  if (!approvers.some((approver) => approverKey(approver) === approverKey(write.owner))) {
    throw new ApiError("InvalidApprovers", `The approvers of a ${type} must include its owner, ${write.owner.approverIdType} ${write.owner.approverId}.`);
  }
  return { data: spec, approvers };
}

/**
 * Secrets are stored as `<writer id>_<name>`. Naming another party's data key or storage credentials would let a
 * document read that party's data under a query only its own owner approves, so a dataset may name only secrets its
 * owner alone could have written: ids may contain `_`, so another identity whose id extends the owner's with `_…`
 * makes the id ambiguous, and that is refused too.
 */
function checkSecretOwner(state: StateReader, owner: Approver, secretId: string, field: string): void {
  const writers = new Set<string>();
  const consider = (id: string) => {
    if (secretId.startsWith(`${id}_`)) writers.add(id);
  };
  consider(CLEAN_ROOM_SECRET_OWNER);
  for (const map of [Maps.membersInfo, Maps.usersInfo, Maps.userIdentities]) state.forEach(map, consider);
  const others = [...writers].filter((id) => id !== owner.approverId);
  if (owner.approverId === CLEAN_ROOM_SECRET_OWNER || !writers.has(owner.approverId) || others.length > 0) {
    const ambiguity = writers.has(owner.approverId) && others.length > 0 ? ` (it could also be a secret of ${others.join(", ")})` : "";
    throw new ApiError(
      "SecretOwnerMismatch",
      `${field}: '${secretId}' is not a secret of the document's owner ${owner.approverId}${ambiguity}; name one stored by the owner, '${owner.approverId}_<name>'.`,
    );
  }
}

/**
 * Any admitted workload of the contract can obtain tokens for any of its subjects, and a cloud identity trusts one
 * subject: binding subjects to the owner keeps a document from borrowing another party's cloud identity.
 */
function checkSubject(contractId: string, owner: Approver, subject: string): void {
  const base = `${contractId}/${owner.approverId}`;
  if (subject === base || (subject.startsWith(`${base}/`) && /^[A-Za-z0-9._-]+$/.test(subject.slice(base.length + 1)))) return;
  throw new ApiError("FederationSubjectMismatch", `data.credentials.subject: '${subject}' must be '${base}' or '${base}/<name>' (the contract, then the document's owner).`);
}

const REFERENCES = {
  dataset: { key: "dataset", notFound: "QueryInputNotFound", wrongType: "QueryInputNotDataset", notAccepted: "QueryInputNotAccepted" },
  datasink: { key: "sink", notFound: "QueryOutputNotFound", wrongType: "QueryOutputNotDatasink", notAccepted: "QueryOutputNotAccepted" },
} as const satisfies Record<"dataset" | "datasink", { key: string } & Record<"notFound" | "wrongType" | "notAccepted", ErrorCode>>;

/**
 * A document a query reads or writes (`at`: the input or output naming it): it must exist, be a valid document of
 * that type, and be Accepted.
 */
function referencedDocument(write: AnalyticsDocumentWrite, type: "dataset" | "datasink", documentId: string, version: string | undefined, at: string): UserDocument {
  const codes = REFERENCES[type];
  const field = `${at}.${codes.key}`;
  const document = write.lookup(documentId);
  if (!document) throw new ApiError(codes.notFound, `${field}: contract ${write.contractId} has no document '${documentId}'.`);
  const label = document.labels[ANALYTICS_TYPE_LABEL];
  if (label !== type) {
    throw new ApiError(codes.wrongType, `${field}: document '${documentId}' is ${label === undefined ? "not labelled" : `labelled type '${label}'`}, not type '${type}'.`);
  }
  // Documents written before these rules existed were not validated; the engine must never see one.
  const parsed = SPECIFICATIONS[type].safeParse(document.data);
  if (!parsed.success) throw new ApiError(codes.wrongType, `${field}: document '${documentId}' is not a valid ${type}: ${describeFirstIssue(parsed.error, "data")}.`);
  if (document.state !== "Accepted") throw new ApiError(codes.notAccepted, `${field}: ${type} '${documentId}' is ${document.state}, not Accepted.`);
  if (version !== undefined && version !== document.version) {
    throw new ApiError("QueryReferenceVersionMismatch", `${at}.version: ${type} '${documentId}' was accepted at version ${document.version}, not ${version}.`);
  }
  return document;
}

function checkQuery(write: AnalyticsDocumentWrite): CheckedAnalyticsDocument {
  const parsed = QuerySpecificationSchema.safeParse(write.data);
  if (!parsed.success) throw new ApiError("InvalidQueryDocument", `Invalid query document: ${describeFirstIssue(parsed.error, "data")}.`);
  const query = parsed.data;
  const owners = new Map<string, Approver>();
  const own = (document: UserDocument) => {
    const owner: Approver = { approverId: document.proposerId, approverIdType: document.proposerIdType };
    if (!owners.has(approverKey(owner))) owners.set(approverKey(owner), owner);
    return document.version;
  };
  const inputs = query.inputs.map((input, index) => ({
    ...input,
    version: own(referencedDocument(write, "dataset", input.dataset, input.version, `data.inputs.${index}`)),
  }));
  const output = { ...query.output, version: own(referencedDocument(write, "datasink", query.output.sink, query.output.version, "data.output")) };
  const approvers = [...owners.values()];
  if (write.approvers !== undefined) {
    const given = write.approvers.map(approverKey).sort();
    const expected = [...owners.keys()].sort();
    if (given.length !== expected.length || given.some((key, index) => key !== expected[index])) {
      throw new ApiError(
        "QueryApproversMismatch",
        `The approvers of a query are the owners of its inputs and sink: [${expected.join(", ")}], not [${given.join(", ")}]. Omit approvers to have them computed.`,
      );
    }
  }
  return { data: { ...query, inputs, output }, approvers };
}
