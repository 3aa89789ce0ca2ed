import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { ApiError, parseOrThrow, type ErrorBody } from "@cleanroom/protocol";
import type { TLSSocket } from "node:tls";
import { authenticateBearer, authenticateCaller, peerCertificateId } from "../auth/client-certificates.js";
import type { ServiceContext } from "./context.js";
import { buildOpenApi } from "./openapi.js";
import { callerRoutes } from "./routes/callers.js";
import { contractRoutes } from "./routes/contracts.js";
import { delegateRoutes } from "./routes/delegates.js";
import { eventRoutes } from "./routes/events.js";
import { memberRoutes } from "./routes/members.js";
import { proposalRoutes } from "./routes/proposals.js";
import { oidcIssuerRoutes } from "./routes/oidc-issuer.js";
import { secretRoutes } from "./routes/secrets.js";
import { serviceRoutes } from "./routes/service.js";
import { userDocumentRoutes } from "./routes/user-documents.js";
import { userInvitationRoutes } from "./routes/user-invitations.js";
import { userRoutes } from "./routes/users.js";
import { parseAttestedBody } from "./attested-requests.js";
import { checkJsonDepth, send, toRouterPath, type RouteDefinition } from "./route-table.js";

export interface AppOptions {
  https: { key: string; cert: string };
  bodyLimitBytes: number;
  version: string;
  /** Receives unexpected (500) errors; the response never carries their details. */
  logError: (error: unknown, request: FastifyRequest) => void;
}

function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/** Maps anything thrown to the error catalogue; only truly unexpected failures become 500. */
function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  const fastifyError = error as Partial<FastifyError>;
  switch (fastifyError.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError("RequestTooLarge", "The request body exceeds the service's size limit.");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new ApiError("UnsupportedContentType", fastifyError.message ?? "Unsupported Content-Type.");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new ApiError("MalformedJson", "The request body is not valid JSON.");
  }
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) return new ApiError("MalformedJson", "The request body is not valid JSON.");
  if ((error as { code?: string }).code === "LEDGER_FAILED") {
    return new ApiError("ServiceUnavailable", "The ledger stopped after a storage failure; the service must be restarted.");
  }
  return undefined;
}

/** JSON endpoints take JSON only (Fastify would also hand them text/plain or COSE bodies), and not too deep. */
function checkJsonBody(request: FastifyRequest): void {
  const mediaType = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (request.body !== undefined && mediaType !== "application/json") {
    throw new ApiError("UnsupportedContentType", "This endpoint takes application/json.");
  }
  checkJsonDepth(request.body, "request body");
}

/** Whether the request carries a client certificate or an Authorization header (else it may be an attested workload). */
function presentsCredentials(request: FastifyRequest): boolean {
  return peerCertificateId(request.raw.socket as TLSSocket) !== null || request.headers.authorization !== undefined;
}

/** Builds the governance service's HTTPS application from the route table. */
export function buildApp(ctx: ServiceContext, options: AppOptions): { app: FastifyInstance; routes: RouteDefinition[] } {
  const app = Fastify({
    https: { key: options.https.key, cert: options.https.cert, requestCert: true, rejectUnauthorized: false, minVersion: "TLSv1.2" },
    bodyLimit: options.bodyLimitBytes,
    logger: false,
    // Identity decisions use the TLS certificate, never forwarded headers.
    trustProxy: false,
    return503OnClosing: true,
    // Ids are at most 128 characters; longer path parameters still reach the schema and get InvalidParameter.
    maxParamLength: 1024,
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      const apiError =
        error.code === "FST_ERR_MAX_PARAM_LENGTH"
          ? new ApiError("InvalidParameter", "A path parameter is longer than 1024 characters.")
          : new ApiError("InvalidParameter", "The request URL is malformed.");
      void reply.code(apiError.status).send(apiError.toBody());
    },
  });

  app.addContentTypeParser("application/cose", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

  const routes: RouteDefinition[] = [];
  let openApiDocument: unknown;
  const openApi = () =>
    (openApiDocument ??= buildOpenApi(
      { title: "Cleanroom governance service", version: options.version, description: "Consortium governance with CCF-compatible signed requests and receipts." },
      routes,
    ));
  routes.push(
    ...proposalRoutes(ctx),
    ...memberRoutes(ctx),
    ...userRoutes(ctx),
    ...callerRoutes(ctx),
    ...userInvitationRoutes(ctx),
    ...contractRoutes(ctx),
    ...delegateRoutes(ctx),
    ...userDocumentRoutes(ctx),
    ...eventRoutes(ctx),
    ...secretRoutes(ctx),
    ...oidcIssuerRoutes(ctx),
    ...serviceRoutes(ctx, openApi),
  );

  for (const route of routes) {
    app.route({
      method: route.method,
      url: toRouterPath(route.path),
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        if (route.body === "cose" && !Buffer.isBuffer(request.body)) {
          throw new ApiError("UnsupportedContentType", "Signed governance requests must be sent as application/cose.");
        }
        if (route.body && route.body !== "cose") checkJsonBody(request);
        const caller =
          route.auth === "caller" || (route.auth === "callerOrAttested" && presentsCredentials(request))
            ? await authenticateCaller(ctx.ledger, ctx.jwtAuthenticator, request.raw)
            : undefined;
        const token = route.auth === "bearer" ? await authenticateBearer(ctx.ledger, ctx.jwtAuthenticator, request.raw) : undefined;
        const params = route.params ? parseOrThrow(route.params, request.params, "InvalidParameter") : {};
        const query = route.query ? parseOrThrow(route.query, request.query, "InvalidParameter") : {};
        if (route.attested && !caller) {
          const attestedBody = parseAttestedBody(route.attested.body, request.body);
          return send(reply, route, await route.attested.handler({ params, query, body: attestedBody, request }));
        }
        const body = route.body && route.body !== "cose" ? parseOrThrow(route.body, request.body, "InvalidInput") : request.body;
        const output = await route.handler({ params, query, body, caller, token, request });
        return send(reply, route, output);
      },
    });
  }

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody("ResourceNotFound", `No endpoint ${request.method} ${request.url.split("?")[0] ?? ""}.`));
  });
  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error);
    if (apiError) return reply.code(apiError.status).send(apiError.toBody());
    options.logError(error, request);
    return reply.code(500).send(errorBody("InternalError", "An unexpected error occurred; the request had no effect."));
  });
  return { app, routes };
}
