import type { z } from "zod";
import { ERROR_CATALOGUE, type ErrorCode } from "./errors.js";
import { toJsonSchema } from "./validation.js";

/** What an OpenAPI document needs of one route; services keep this beside the handler, so the document cannot drift. */
export interface DocumentedRoute {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** OpenAPI style: `/queries/{queryId}/run`. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly params?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly response: { readonly status: number; readonly description?: string; readonly schema?: z.ZodType };
  readonly errors: readonly ErrorCode[];
}

/**
 * An OpenAPI 3.1 document for a small service (the runtime sidecar, the agent): each route's schemas rendered from
 * its zod types, its error codes grouped by their catalogued status.
 */
export function renderOpenApi(
  info: { title: string; version: string; description: string },
  routes: readonly DocumentedRoute[],
  options: { defaultResponse?: string; security?: Record<string, unknown> } = {},
): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const errors = Object.fromEntries(
      [...new Set(route.errors.map((code) => ERROR_CATALOGUE[code].status))].map((status) => [
        String(status),
        { description: `Error codes: ${route.errors.filter((code) => ERROR_CATALOGUE[code].status === status).join(", ")}.` },
      ]),
    );
    paths[route.path] = {
      ...paths[route.path],
      [route.method.toLowerCase()]: {
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        ...(route.params ? { parameters: Object.keys(route.params.shape).map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })) } : {}),
        ...(route.body ? { requestBody: { required: true, content: { "application/json": { schema: toJsonSchema(route.body) } } } } : {}),
        responses: {
          [String(route.response.status)]: {
            description: route.response.description ?? "Success.",
            ...(route.response.schema ? { content: { "application/json": { schema: toJsonSchema(route.response.schema) } } } : {}),
          },
          ...errors,
          ...(options.defaultResponse ? { default: { description: options.defaultResponse } } : {}),
        },
      },
    };
  }
  return { openapi: "3.1.0", info, ...(options.security ? { components: { securitySchemes: options.security } } : {}), paths };
}
