import {
  ApiError,
  EventListQuerySchema,
  EventListSchema,
  PutEventBodySchema,
  PutEventQuerySchema,
  RESERVED_EVENT_SCOPES,
  ResourceIdSchema,
  type EventList,
  type EventListQuery,
} from "@cleanroom/protocol";
import type { StateReader } from "@cleanroom/ledger";
import { z } from "zod";
import { CALLER_AUTH_ERRORS } from "../../auth/client-certificates.js";
import { contractExists } from "../../state/contracts.js";
import { appendEvent, readEvents } from "../../state/events.js";
import { requireActiveCaller } from "../authorization.js";
import { durableRead, durableWrite, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";

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

export function eventRoutes(ctx: ServiceContext): RouteDefinition[] {
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
        "Body `{data}`; `id` defaults to the contract id and `scope` to none. The service sets the timestamp and records the writer (an Active member or a user); the `governance` scope is reserved for the service.",
      tag: "Events",
      auth: "caller",
      params: ContractParams,
      query: PutEventQuerySchema,
      body: PutEventBodySchema,
      response: { status: 204, description: "The event is recorded." },
      errors: [
        ...CALLER_AUTH_ERRORS,
        "MemberNotActive",
        "InvalidParameter",
        "InvalidInput",
        "MalformedJson",
        "RequestTooLarge",
        "ReservedEventScope",
        "ContractNotFound",
        "DataMissing",
      ],
      async handler({ params, query, body, caller }) {
        const writer = requireActiveCaller(caller);
        const scope = query.scope ?? "";
        if ((RESERVED_EVENT_SCOPES as readonly string[]).includes(scope)) {
          throw new ApiError("ReservedEventScope", `The scope '${scope}' is written only by the service.`);
        }
        if (body.data === undefined) throw new ApiError("DataMissing", "The request body has no data.");
        const { headers } = await durableWrite(ctx.ledger, (tx) => {
          if (!contractExists(tx, params.contractId)) throw new ApiError("ContractNotFound", `Contract ${params.contractId} does not exist.`);
          appendEvent(tx, params.contractId, {
            id: query.id ?? params.contractId,
            scope,
            timestamp: ctx.lifecycle.clock(),
            data: body.data,
            writer: { kind: writer.kind, id: writer.id },
          });
        });
        return { headers };
      },
    }),
  ];
}
