import { ERROR_CATALOGUE, toJsonSchema as jsonSchema } from "@cleanroom/protocol";
import { z } from "zod";
import type { RouteDefinition } from "./route-table.js";

const ErrorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

function parameters(route: RouteDefinition): unknown[] {
  const list: unknown[] = [];
  for (const [location, schema] of [
    ["path", route.params],
    ["query", route.query],
  ] as const) {
    if (!schema) continue;
    for (const [name, field] of Object.entries(schema.shape)) {
      list.push({ name, in: location, required: location === "path" || !(field as z.ZodType).safeParse(undefined).success, schema: jsonSchema(field as z.ZodType) });
    }
  }
  return list;
}

const AUTH_TEXT = {
  signed: "Body is a COSE_Sign1 (ES384) signed by an Active member, as produced by CCF's ccf_cose_sign1.",
  caller: "Caller presents the TLS client certificate of a registered member or user, or an 'Authorization: Bearer <JWT>' of a registered user from a trusted issuer.",
  callerOrAttested:
    "A registered member or user (certificate or bearer token) — or, presenting no credentials at all, an attested workload whose SEV-SNP evidence in the body satisfies the contract's clean-room policy.",
  bearer: "Caller presents an 'Authorization: Bearer <JWT>' of a trusted issuer; its oid need not be a registered user identity. Client certificates are not accepted.",
  none: "No authentication.",
} as const;

/** Builds the OpenAPI 3.1 document of a service from its route table. */
export function buildOpenApi(info: { title: string; version: string; description: string }, routes: readonly RouteDefinition[]): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const responses: Record<string, unknown> = {
      [String(route.response.status)]: {
        description: route.response.description,
        ...(route.response.schema
          ? { content: { [route.response.contentType ?? "application/json"]: { schema: jsonSchema(route.response.schema) } } }
          : {}),
      },
    };
    const byStatus = new Map<number, string[]>();
    for (const code of route.errors) {
      const status = ERROR_CATALOGUE[code].status;
      byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    }
    for (const [status, codes] of byStatus) {
      responses[String(status)] = {
        description: `Error codes: ${codes.join(", ")}.`,
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
    }
    // Routes with an attested branch take the member or user body, or the attested workload's: one of the two.
    const jsonBody = route.body && route.body !== "cose" ? jsonSchema(route.body) : undefined;
    const body =
      route.body === "cose"
        ? { required: true, content: { "application/cose": { schema: { type: "string", format: "binary" } } } }
        : jsonBody
          ? { required: true, content: { "application/json": { schema: route.attested ? { anyOf: [jsonBody, jsonSchema(route.attested.body)] } : jsonBody } } }
          : undefined;
    (paths[route.path] ??= {})[route.method.toLowerCase()] = {
      summary: route.summary,
      description: [route.description, AUTH_TEXT[route.auth]].filter(Boolean).join("\n\n"),
      tags: [route.tag],
      "x-cleanroom-auth": route.auth,
      parameters: parameters(route),
      ...(body ? { requestBody: body } : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info,
    paths,
    components: { schemas: { Error: jsonSchema(ErrorBodySchema) } },
  };
}
