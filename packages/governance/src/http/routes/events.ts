import {
  ApiError,
  AttestedEventBodySchema,
  EventListQuerySchema,
  EventListSchema,
  MAX_EVENT_TIMESTAMP,
  PutEventBodySchema,
  PutEventQuerySchema,
  RESERVED_EVENT_SCOPES,
  ResourceIdSchema,
  type AuditEvent,
  type EventList,
  type EventListQuery,
} from "@cleanroom/protocol";
import type { StateReader } from "@cleanroom/ledger";
import { z } from "zod";
import { CALLER_AUTH_ERRORS } from "../../auth/client-certificates.js";
import { checkAttestation, cleanRoomIdentity } from "../../governance/secret-release.js";
import { contractExists } from "../../state/contracts.js";
import { appendEvent, readEvents } from "../../state/events.js";
import { ATTESTED_REQUEST_ERRORS, auditingRefusals, SIGNED_REQUEST_ERRORS } from "../attested-requests.js";
import { CALLER_WRITE_ERRORS, requireActiveCaller } from "../authorization.js";
import { durableRead, durableWrite, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";
import { admitSigned, checkSignedRequest } from "../signed-payloads.js";

const ContractParams = z.object({ contractId: ResourceIdSchema });
/** Seqnos per page when the caller does not say (the reference's default). */
const DEFAULT_PAGE_SEQNOS = 2000;

/**
 * Reference §2.4 semantics: without `from_seqno` only the latest matching event; with it, every matching event in
 * the seqno range, a page of `max_seqno_per_page` seqnos at a time with a `nextLink` to the rest.
 */
function listEvents(state: StateReader, lastSeqno: number, contractId: string, query: EventListQuery): EventList {
  const filter = { ...(query.id !== undefined ? { id: query.id } : {}), ...(query.scope !== undefined ? { scope: query.scope } : {}) };
  if (query.from_seqno === undefined) {
    const latest = readEvents(state, contractId, { ...filter, ...(query.to_seqno !== undefined ? { toSeqno: query.to_seqno } : {}) }).at(-1);
    return { value: latest ? [latest] : [] };
  }
  if (query.to_seqno !== undefined && query.to_seqno < query.from_seqno) {
    throw new ApiError("InvalidParameter", `to_seqno ${query.to_seqno} is before from_seqno ${query.from_seqno}.`);
  }
  const to = query.to_seqno ?? lastSeqno;
  if (to < query.from_seqno) return { value: [] };
  const pageSeqnos = query.max_seqno_per_page ?? DEFAULT_PAGE_SEQNOS;
  const pageEnd = Math.min(to, query.from_seqno + pageSeqnos - 1);
  const value = readEvents(state, contractId, { ...filter, fromSeqno: query.from_seqno, toSeqno: pageEnd });
  if (pageEnd >= to) return { value };
  const next = new URLSearchParams({
    from_seqno: String(pageEnd + 1),
    to_seqno: String(to),
    max_seqno_per_page: String(pageSeqnos),
    ...filter,
  });
  return { value, nextLink: `/app/contracts/${contractId}/events?${next.toString()}` };
}

/** The scope an event is written to; the service's own scopes are refused (ReservedEventScope). */
function writableScope(scope: string | undefined): string {
  const writable = scope ?? "";
  if ((RESERVED_EVENT_SCOPES as readonly string[]).includes(writable)) {
    throw new ApiError("ReservedEventScope", `The scope '${writable}' is written only by the service.`);
  }
  return writable;
}

/** A clean room's timestamp (reference §2.4): milliseconds since the epoch, at most 13 digits, zero-padded to 13. */
function eventTimestamp(timestamp: string | undefined): string {
  if (timestamp === undefined || timestamp.length === 0) throw new ApiError("TimestampMissing", "The event has no timestamp.");
  if (!/^[0-9]+$/.test(timestamp)) throw new ApiError("InvalidInput", "timestamp must be milliseconds since the epoch, in decimal digits.");
  if (BigInt(timestamp) > MAX_EVENT_TIMESTAMP) throw new ApiError("TimestampTooLarge", `The timestamp ${timestamp} is larger than ${MAX_EVENT_TIMESTAMP}.`);
  return BigInt(timestamp).toString().padStart(13, "0");
}

export function eventRoutes(ctx: ServiceContext): RouteDefinition[] {
  const append = (contractId: string, event: { id: string | undefined; scope: string; data: unknown; writer: AuditEvent["writer"] }) =>
    durableWrite(ctx.ledger, (tx) => {
      if (!contractExists(tx, contractId)) throw new ApiError("ContractNotFound", `Contract ${contractId} does not exist.`);
      appendEvent(tx, contractId, { id: event.id ?? contractId, scope: event.scope, timestamp: ctx.lifecycle.clock(), data: event.data, writer: event.writer });
    });

  return [
    defineRoute({
      method: "GET",
      path: "/app/contracts/{contractId}/events",
      summary: "List a contract's audit events",
      description:
        "Filters by `id` and `scope` when given (`scope=` selects events written without a scope). Without `from_seqno` returns only the latest matching event; with it, every matching event from that seqno to `to_seqno` (default: the latest transaction), `max_seqno_per_page` seqnos per page (default 2000) with `nextLink`. Scope `governance` holds the service's own records of governance decisions.",
      tag: "Events",
      auth: "caller",
      params: ContractParams,
      query: EventListQuerySchema,
      response: { status: 200, description: "The events, oldest first.", schema: EventListSchema },
      errors: [...CALLER_AUTH_ERRORS, "InvalidParameter"],
      async handler({ params, query }) {
        const headers = await durableRead(ctx.ledger);
        const lastSeqno = ctx.ledger.lastTxId()?.seqno ?? 0;
        return { body: listEvents(ctx.ledger, lastSeqno, params.contractId, query), headers };
      },
    }),
    defineRoute({
      method: "PUT",
      path: "/app/contracts/{contractId}/events",
      summary: "Append an audit event",
      description:
        "Members and users: body `{data}`; an Active member or a user is recorded as the writer. Attested clean rooms (no credentials): body `{timestamp: \"<ms since the epoch>\", attestation, platform?, sign: {signature, publicKey}, data: base64(JSON)}`, where the SEV-SNP evidence binds `sign.publicKey` and satisfies the contract's clean-room policy or its `events/writer` delegate, and `sign` is an RSA-PSS (SHA-256, salt 32) signature over the decoded `data`; the event's data is that JSON and the writer the clean room (host data, attestation mode, its timestamp). Refusals of clean rooms are audited (`contract.event.denied`). `id` defaults to the contract id and `scope` to none; the service sets the event's timestamp; the `governance` scope is reserved for the service.",
      tag: "Events",
      auth: "callerOrAttested",
      params: ContractParams,
      query: PutEventQuerySchema,
      body: PutEventBodySchema,
      response: { status: 204, description: "The event is recorded." },
      errors: [
        ...CALLER_WRITE_ERRORS,
        "ReservedEventScope",
        "ContractNotFound",
        "DataMissing",
        ...ATTESTED_REQUEST_ERRORS.filter((code) => code !== "EncryptionMissing"),
        ...SIGNED_REQUEST_ERRORS,
        "TimestampMissing",
        "TimestampTooLarge",
      ],
      async handler({ params, query, body, caller }) {
        const writer = requireActiveCaller(caller);
        const scope = writableScope(query.scope);
        if (body.data === undefined) throw new ApiError("DataMissing", "The request body has no data.");
        const { headers } = await append(params.contractId, { id: query.id, scope, data: body.data, writer: { kind: writer.kind, id: writer.id } });
        return { headers };
      },
      attested: {
        body: AttestedEventBodySchema,
        async handler({ params, query, body }) {
          const attestation = checkAttestation(body);
          const signed = checkSignedRequest(body);
          const timestamp = eventTimestamp(body.timestamp);
          const scope = writableScope(query.scope);
          const audited = { id: query.id ?? params.contractId, scope };
          return auditingRefusals(ctx, params.contractId, "contract.event.denied", audited, async () => {
            const { workload, payload } = admitSigned(ctx, params.contractId, { attestation, boundPem: signed.publicKeyPem, signed }, z.unknown(), {
              type: "events",
              id: "writer",
            });
            const { headers } = await append(params.contractId, { id: query.id, scope, data: payload, writer: { ...cleanRoomIdentity(workload), timestamp } });
            return { headers };
          });
        },
      },
    }),
  ];
}
