import type { AddressInfo } from "node:net";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import { z } from "zod";
import { ServiceError } from "@cleanroom/governance-client";
import {
  ApiError,
  parseOrThrow,
  renderOpenApi,
  type DocumentedRoute,
  SidecarConsentResponseSchema,
  SidecarEventRequestSchema,
  SidecarInfoSchema,
  SidecarSecretResponseSchema,
  SidecarTokenRequestSchema,
  SidecarTokenResponseSchema,
} from "@cleanroom/protocol";
import type { AttestationSource } from "./attestation-sources.js";
import type { GovernanceLink } from "./governance-link.js";
import type { WorkloadKey } from "./workload-key.js";

export interface RuntimeSidecarOptions {
  link: GovernanceLink;
  key: WorkloadKey;
  source: AttestationSource & { hostData?: string };
  /** Loopback only: the sidecar answers with the workload's secrets to anyone who can reach it. */
  host?: "127.0.0.1" | "::1";
  port?: number;
  /** Receives unexpected (500) errors; the response never carries their details. */
  logError?: (error: unknown) => void;
}

export interface RuntimeSidecar {
  url: string;
  port: number;
  close(): Promise<void>;
}

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/, "1-256 letters, digits, '.', '_', ':', '-'");
const SecretParams = z.strictObject({ secretId: Name });
const OptionParams = z.strictObject({ option: z.enum(["execution", "logging", "telemetry"]) });
const DocumentParams = z.strictObject({ documentId: Name });
const DocumentOptionParams = z.strictObject({ documentId: Name, option: z.enum(["execution", "telemetry"]) });

interface SidecarRoute extends DocumentedRoute {
  handler(input: { params: Record<string, string>; body: unknown }): Promise<unknown>;
}

/** Errors any forwarding route can give besides the governance service's own, which are passed through unchanged. */
const FORWARDING_ERRORS = ["AttestationUnavailable", "GovernanceUnavailable", "UnwrapFailed", "InvalidParameter"] as const;

function routes(options: RuntimeSidecarOptions): SidecarRoute[] {
  const { link, key, source } = options;
  return [
    {
      method: "GET",
      path: "/attestation",
      summary: "Who this workload is: attestation mode, host data (when known) and the public key bound into its report.",
      response: { status: 200, schema: SidecarInfoSchema },
      errors: [],
      handler: () =>
        Promise.resolve({
          contractId: link.contractId,
          attestationMode: source.mode,
          source: source.description,
          ...(source.hostData ? { hostData: source.hostData } : {}),
          publicKey: key.publicKeyPem,
        }),
    },
    {
      method: "POST",
      path: "/secrets/{secretId}",
      summary: "Release a secret of the contract to this workload and return it unwrapped.",
      params: SecretParams,
      response: { status: 200, schema: SidecarSecretResponseSchema },
      errors: FORWARDING_ERRORS,
      handler: ({ params }) => link.releaseSecret(params.secretId!),
    },
    {
      method: "POST",
      path: "/oauth/token",
      summary: "An ID token of the consortium's OIDC issuer for this workload (`sub` defaults to the contract id).",
      body: SidecarTokenRequestSchema,
      response: { status: 200, schema: SidecarTokenResponseSchema },
      errors: [...FORWARDING_ERRORS, "InvalidInput"],
      handler: ({ body }) => {
        const request = body as z.infer<typeof SidecarTokenRequestSchema>;
        return link.issueToken({ sub: request.sub ?? link.contractId, aud: request.aud, ...(request.lifetime !== undefined ? { lifetime: request.lifetime } : {}) });
      },
    },
    {
      method: "PUT",
      path: "/events",
      summary: "Append an event to the contract's log, signed with the workload key.",
      body: SidecarEventRequestSchema,
      response: { status: 204 },
      errors: [...FORWARDING_ERRORS, "InvalidInput"],
      handler: async ({ body }) => {
        await link.putEvent(body as z.infer<typeof SidecarEventRequestSchema>);
        return undefined;
      },
    },
    {
      method: "POST",
      path: "/consent/{option}",
      summary: "Whether the contract's runtime option (execution, logging, telemetry) is enabled.",
      params: OptionParams,
      response: { status: 200, schema: SidecarConsentResponseSchema },
      errors: FORWARDING_ERRORS,
      handler: ({ params }) => link.contractConsent(params.option!),
    },
    {
      method: "POST",
      path: "/documents/{documentId}/consent/{option}",
      summary: "Whether a user document's runtime option (execution, telemetry) is enabled.",
      params: DocumentOptionParams,
      response: { status: 200, schema: SidecarConsentResponseSchema },
      errors: FORWARDING_ERRORS,
      handler: ({ params }) => link.documentConsent(params.documentId!, params.option!),
    },
    {
      method: "GET",
      path: "/documents/{documentId}",
      summary: "An accepted user document of the contract (dataset, sink, query), fetched wrapped and unwrapped here.",
      params: DocumentParams,
      response: { status: 200 },
      errors: FORWARDING_ERRORS,
      handler: ({ params }) => link.acceptedDocument(params.documentId!),
    },
  ];
}

/** The OpenAPI 3.1 document of the sidecar, from the same route list that serves the requests. */
function openApi(list: readonly SidecarRoute[]): unknown {
  return renderOpenApi(
    {
      title: "Cleanroom runtime sidecar",
      version: "0.1.0",
      description: "The localhost API of a confidential workload: secrets, ID tokens, consent, documents and signed events, through the governance service's attested endpoints.",
    },
    list,
    { defaultResponse: "Errors of the governance service, passed through with their status and code: `{error: {code, message}}`." },
  );
}

const toRouterPath = (path: string): string => path.replace(/\{(\w+)\}/g, ":$1");

function buildSidecarApp(options: RuntimeSidecarOptions): FastifyInstance {
  const app = Fastify({ bodyLimit: 1024 * 1024 });
  const list = routes(options);
  const document = openApi(list);
  app.get("/openapi.json", () => document);
  app.get("/health", () => ({ status: "ok" }));
  for (const route of list) {
    app.route({
      method: route.method,
      url: toRouterPath(route.path),
      handler: async (request, reply) => {
        const params = route.params ? parseOrThrow(route.params, request.params, "InvalidParameter") : {};
        const body = route.body ? parseOrThrow(route.body, request.body ?? {}, "InvalidInput") : undefined;
        const result = await route.handler({ params: params as Record<string, string>, body });
        reply.code(route.response.status);
        return result === undefined ? reply.send() : reply.send(result);
      },
    });
  }
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: { code: "ResourceNotFound", message: `No endpoint ${request.method} ${request.url}.` } }));
  app.setErrorHandler((error: FastifyError | ApiError | ServiceError, _request, reply) => {
    if (error instanceof ApiError) return reply.code(error.status).send(error.toBody());
    // The governance service's refusal (e.g. VerifySnpAttestationFailed) is the workload's answer, unchanged.
    if (error instanceof ServiceError) return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
    const fastifyError = error;
    if (fastifyError.code === "FST_ERR_CTP_BODY_TOO_LARGE") return reply.code(413).send({ error: { code: "RequestTooLarge", message: "The request body is too large." } });
    if (fastifyError.statusCode === 400 || fastifyError.statusCode === 415) {
      return reply.code(400).send({ error: { code: "MalformedJson", message: "The request body is not valid JSON." } });
    }
    (options.logError ?? ((e) => process.stderr.write(`runtime sidecar: ${String((e as Error).stack ?? e)}\n`)))(error);
    return reply.code(500).send({ error: { code: "InternalError", message: "Unexpected failure; see the sidecar's log." } });
  });
  return app;
}

/**
 * Starts the runtime sidecar on the loopback interface. It holds no state of its own: every call is forwarded to
 * the governance service with the workload's attestation, so policy and consent changes apply immediately.
 */
export async function startRuntimeSidecar(options: RuntimeSidecarOptions): Promise<RuntimeSidecar> {
  const app = buildSidecarApp(options);
  const host = options.host ?? "127.0.0.1";
  await app.listen({ host, port: options.port ?? 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://${host === "::1" ? "[::1]" : host}:${port}`,
    port,
    close: async () => {
      await app.close();
      options.link.close();
    },
  };
}
