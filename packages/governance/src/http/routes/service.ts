import {
  ApiError,
  IdentitySchema,
  ReceiptSchema,
  ServiceInfoSchema,
  TransactionStatusResponseSchema,
  TxIdStringSchema,
  formatTxId,
  parseTxId,
  type ParsedTxId,
} from "@cleanroom/protocol";
import { z } from "zod";
import { constitutionDigest } from "../../constitution/engine.js";
import { readText } from "../../state/json-state.js";
import { Maps, SINGLE_KEY } from "../../state/maps.js";
import { durableRead, type ServiceContext } from "../context.js";
import { defineRoute, type RouteDefinition } from "../route-table.js";

const TxQuery = z.object({ transaction_id: TxIdStringSchema });
const TxParams = z.object({ transactionId: TxIdStringSchema });

function txId(value: string): ParsedTxId {
  const parsed = parseTxId(value);
  if (!parsed) throw new ApiError("InvalidTransactionId", `'${value}' is not a transaction id of the form <view>.<seqno>.`);
  return parsed;
}

function constitution(ctx: ServiceContext): string {
  return readText(ctx.ledger, Maps.constitution, SINGLE_KEY) ?? "";
}

export function serviceRoutes(ctx: ServiceContext, openApi: () => unknown): RouteDefinition[] {
  const status = (id: string) => ({ transactionId: id, status: ctx.ledger.txStatus(txId(id)) });
  return [
    defineRoute({
      method: "GET",
      path: "/gov/service/constitution",
      summary: "Show the constitution",
      tag: "Service",
      auth: "caller",
      response: { status: 200, description: "The constitution's JavaScript source.", schema: z.string(), contentType: "text/javascript" },
      errors: ["InvalidAuthenticationInfo"],
      async handler() {
        return { body: constitution(ctx), headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/gov/service/info",
      summary: "Show the service's status and identity",
      tag: "Service",
      auth: "caller",
      response: { status: 200, description: "Service information.", schema: ServiceInfoSchema },
      errors: ["InvalidAuthenticationInfo"],
      async handler() {
        const headers = await durableRead(ctx.ledger);
        const last = ctx.ledger.lastTxId();
        return {
          body: {
            serviceStatus: "Open",
            serviceCertificate: ctx.identity.serviceCertificatePem,
            serviceId: ctx.identity.nodeId,
            constitutionDigest: constitutionDigest(constitution(ctx)),
            ...(last ? { lastTransactionId: formatTxId(last) } : {}),
          },
          headers,
        };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/gov/service/transactions/{transactionId}",
      summary: "Show a transaction's status",
      description: "Committed (durable), Pending, Invalid (can never commit) or Unknown.",
      tag: "Service",
      auth: "caller",
      params: TxParams,
      response: { status: 200, description: "The status.", schema: TransactionStatusResponseSchema },
      errors: ["InvalidAuthenticationInfo", "InvalidParameter"],
      async handler({ params }) {
        return { body: status(params.transactionId), headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/app/tx",
      summary: "Show a transaction's status (CCF path)",
      tag: "Service",
      auth: "caller",
      query: TxQuery,
      response: { status: 200, description: "The status.", schema: TransactionStatusResponseSchema },
      errors: ["InvalidAuthenticationInfo", "InvalidParameter"],
      async handler({ query }) {
        return { body: status(query.transaction_id), headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/app/receipt",
      summary: "Get a transaction's receipt",
      description:
        "A receipt in CCF's format: the transaction's leaf components, a Merkle proof to a root signed by the node, and the node certificate endorsed by the service certificate. Verifiable offline with `cleanroom receipt verify` or CCF's `ccf.receipt` Python functions. If no signature covers the transaction yet, one is made before answering.",
      tag: "Service",
      auth: "caller",
      query: TxQuery,
      response: { status: 200, description: "The receipt.", schema: ReceiptSchema },
      errors: ["InvalidAuthenticationInfo", "InvalidParameter", "TransactionNotFound", "TransactionInvalid"],
      async handler({ query }) {
        const id = txId(query.transaction_id);
        const txStatus = ctx.ledger.txStatus(id);
        if (txStatus === "Invalid") throw new ApiError("TransactionInvalid", `Transaction ${query.transaction_id} can never be committed.`);
        if (txStatus === "Unknown") throw new ApiError("TransactionNotFound", `Transaction ${query.transaction_id} does not exist.`);
        return { body: await ctx.ledger.receipt(id), headers: await durableRead(ctx.ledger) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/app/identity",
      summary: "Show who the caller is",
      description: "The member or user the presented client certificate authenticates as.",
      tag: "Service",
      auth: "caller",
      response: { status: 200, description: "The caller's identity.", schema: IdentitySchema },
      errors: ["InvalidAuthenticationInfo"],
      handler({ caller }) {
        return { body: caller };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/node/network",
      summary: "Show the service certificate (CCF path)",
      description: "Anonymous, so a client can compare the certificate with the one it pins.",
      tag: "Service",
      auth: "none",
      response: {
        status: 200,
        description: "The service certificate and current view.",
        schema: z.object({ service_certificate: z.string(), service_status: z.string(), current_view: z.number() }),
      },
      errors: [],
      handler() {
        return { body: { service_certificate: ctx.identity.serviceCertificatePem, service_status: "Open", current_view: ctx.ledger.view } };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/openapi.json",
      summary: "This service's OpenAPI document",
      tag: "Service",
      auth: "none",
      response: { status: 200, description: "OpenAPI 3.1.", schema: z.record(z.string(), z.unknown()) },
      errors: [],
      handler() {
        return { body: openApi() };
      },
    }),
  ];
}
