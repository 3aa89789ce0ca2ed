import type { ContractState } from "@cleanroom/protocol";

/** Query of `GET /app/contracts/{id}/events` in the client's terms. */
export interface EventQuery {
  id?: string;
  scope?: string;
  fromSeqno?: number;
  toSeqno?: number;
  maxSeqnoPerPage?: number;
}

/** One path segment, percent-encoded. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.append(name, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export function contractPath(contractId: string): string {
  return `/app/contracts/${segment(contractId)}`;
}

export function contractListPath(state?: ContractState): string {
  return withQuery("/app/contracts", { state });
}

export function userDocumentPath(contractId: string, documentId?: string): string {
  return `${contractPath(contractId)}/userdocuments${documentId === undefined ? "" : `/${segment(documentId)}`}`;
}

export function userDocumentListPath(contractId: string, labelSelector?: string): string {
  return withQuery(userDocumentPath(contractId), { labelSelector });
}

/** `GET /app/contracts/{id}/events` with the reference's query names. */
export function eventListPath(contractId: string, query: EventQuery = {}): string {
  return withQuery(`${contractPath(contractId)}/events`, {
    id: query.id,
    scope: query.scope,
    from_seqno: query.fromSeqno,
    to_seqno: query.toSeqno,
    max_seqno_per_page: query.maxSeqnoPerPage,
  });
}

export function eventPutPath(contractId: string, query: { id?: string; scope?: string } = {}): string {
  return withQuery(`${contractPath(contractId)}/events`, { id: query.id, scope: query.scope });
}
