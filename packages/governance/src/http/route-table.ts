import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiError, type ErrorCode, type Identity } from "@cleanroom/protocol";
import type { z } from "zod";
import type { VerifiedToken } from "../auth/jwt-issuers.js";

/**
 * How an endpoint authenticates its caller:
 * - `signed`: the body is a COSE_Sign1 governance message (verified by the handler, which knows the message type);
 * - `caller`: a registered member or user, by TLS client certificate, or a JWT user by bearer token;
 * - `callerOrAttested`: like `caller` when credentials are presented; without any, an anonymous attested workload
 *   (the handler verifies the attestation in the body);
 * - `bearer`: a bearer token of a trusted issuer only, whose `oid` need not be registered (invitees);
 * - `none`: anonymous.
 */
export type AuthMode = "signed" | "caller" | "bearer" | "callerOrAttested" | "none";

type AnyObject = z.ZodObject;

export interface HandlerInput<P extends AnyObject, Q extends AnyObject, B> {
  params: z.infer<P>;
  query: z.infer<Q>;
  body: B;
  caller: Identity | undefined;
  /** `bearer` routes: the verified token. */
  token: VerifiedToken | undefined;
  request: FastifyRequest;
}

export interface HandlerOutput {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  contentType?: string;
}

/**
 * One HTTP endpoint: the single source for routing, input validation and the OpenAPI document. Paths use OpenAPI
 * syntax (`{param}`); CCF's `:verb` suffixes are literal.
 */
export interface RouteDefinition<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B = unknown> {
  method: "GET" | "POST" | "PUT";
  path: string;
  summary: string;
  description?: string;
  tag: string;
  auth: AuthMode;
  params?: P;
  query?: Q;
  /** `cose` for signed governance messages (raw bytes reach the handler), or a JSON schema. */
  body?: "cose" | z.ZodType<B>;
  response: { status: number; description: string; schema?: z.ZodType; contentType?: string };
  errors: readonly ErrorCode[];
  handler(input: HandlerInput<P, Q, B>): Promise<HandlerOutput> | HandlerOutput;
}

/** Infers the handler's parameter, query and body types from the route's schemas. */
export function defineRoute<P extends AnyObject, Q extends AnyObject, B = unknown>(
  route: RouteDefinition<P, Q, B>,
): RouteDefinition {
  return route;
}

/** Converts an OpenAPI path to find-my-way syntax: params become `:name`, literal colons are escaped. */
export function toRouterPath(path: string): string {
  return path.replace(/\{(\w+)\}(:?)|:/g, (match, name: string | undefined, colon: string | undefined) => {
    if (name === undefined) return "::";
    // A parameter followed by a literal `:verb` needs a regex so the router knows where the parameter ends.
    return colon ? `:${name}(^[^/:]+)::` : `:${name}`;
  });
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid";
  return `${issue.path.length > 0 ? issue.path.join(".") : "value"}: ${issue.message}`;
}

export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, code: "InvalidInput" | "InvalidParameter"): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ApiError(code, `Invalid ${code === "InvalidInput" ? "request body" : "parameter"}: ${firstIssue(result.error)}.`);
  return result.data;
}

/** Sends a handler's output; JSON unless the route says otherwise. */
export function send(reply: FastifyReply, route: RouteDefinition, output: HandlerOutput): FastifyReply {
  reply.code(output.status ?? route.response.status);
  for (const [name, value] of Object.entries(output.headers ?? {})) reply.header(name, value);
  const contentType = output.contentType ?? route.response.contentType;
  if (contentType) reply.type(contentType);
  return output.body === undefined ? reply.send() : reply.send(output.body);
}
