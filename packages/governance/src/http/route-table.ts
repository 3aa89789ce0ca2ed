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

/** What the attested branch of a `callerOrAttested` route gets: no caller, the anonymous workload's body. */
export interface AttestedHandlerInput<P extends AnyObject, Q extends AnyObject, A> {
  params: z.infer<P>;
  query: z.infer<Q>;
  body: A;
  request: FastifyRequest;
}

/**
 * The anonymous branch of a `callerOrAttested` route whose attested callers send another body than members and
 * users do: each branch keeps its own strict schema and handler.
 */
export interface AttestedBranch<P extends AnyObject, Q extends AnyObject, A> {
  body: z.ZodType<A>;
  handler(input: AttestedHandlerInput<P, Q, A>): Promise<HandlerOutput> | HandlerOutput;
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
export interface RouteDefinition<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B = unknown, A = unknown> {
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
  /** `callerOrAttested` routes only: how anonymous attested callers are served (else `handler` serves them too). */
  attested?: AttestedBranch<P, Q, A>;
  handler(input: HandlerInput<P, Q, B>): Promise<HandlerOutput> | HandlerOutput;
}

/** Infers the handlers' parameter, query and body types from the route's schemas. */
export function defineRoute<P extends AnyObject, Q extends AnyObject, B = unknown, A = unknown>(
  route: RouteDefinition<P, Q, B, A>,
): RouteDefinition {
  if (route.attested && route.auth !== "callerOrAttested") throw new Error(`${route.method} ${route.path}: an attested branch needs auth callerOrAttested.`);
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

/** Nesting beyond this is refused: no governance document needs it, and deep values overflow the stack later. */
export const MAX_JSON_DEPTH = 64;

/** Depth of a parsed JSON value, without recursion (the value may be deeper than the stack allows). */
function jsonDepth(value: unknown): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 1]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop() as [unknown, number];
    if (typeof item !== "object" || item === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Array.isArray(item) ? item : Object.values(item)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/** InvalidInput for JSON (a body, or signed data) nested deeper than MAX_JSON_DEPTH. */
export function checkJsonDepth(value: unknown, what: string): void {
  if (jsonDepth(value) > MAX_JSON_DEPTH) throw new ApiError("InvalidInput", `The ${what} is nested deeper than ${MAX_JSON_DEPTH} levels.`);
}

/** Sends a handler's output; JSON unless the route says otherwise. */
export function send(reply: FastifyReply, route: RouteDefinition, output: HandlerOutput): FastifyReply {
  reply.code(output.status ?? route.response.status);
  for (const [name, value] of Object.entries(output.headers ?? {})) reply.header(name, value);
  const contentType = output.contentType ?? route.response.contentType;
  if (contentType) reply.type(contentType);
  return output.body === undefined ? reply.send() : reply.send(output.body);
}
