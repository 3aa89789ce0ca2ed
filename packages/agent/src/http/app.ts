import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from "fastify";
import { z } from "zod";
import { ServiceError } from "@cleanroom/governance-client";
import {
  AgentInfoSchema,
  ApiError,
  parseOrThrow,
  renderOpenApi,
  ResourceIdSchema,
  RunHistorySchema,
  RunIdSchema,
  RunQueryRequestSchema,
  RunStatusSchema,
  RunSubmittedSchema,
  type AgentInfo,
  type CallerStatus,
  type DocumentedRoute,
  type RunQueryRequest,
} from "@cleanroom/protocol";
import type { RunManager } from "../runs/run-manager.js";
import type { CallerAuthenticator } from "./caller-auth.js";

export interface AgentAppOptions {
  readonly manager: RunManager;
  readonly authenticator: CallerAuthenticator;
  readonly info: AgentInfo;
  readonly https?: { key: string; cert: string };
  readonly logError?: (error: unknown) => void;
}

interface AgentRoute extends DocumentedRoute {
  /** Whether the caller must be an active member or user (everything but the agent's own description). */
  readonly authenticated: boolean;
  handler(input: { params: Record<string, string>; body: unknown; caller: CallerStatus | undefined }): Promise<{ status?: number; body: unknown }>;
}

const QueryParams = z.strictObject({ queryId: ResourceIdSchema });
const JobParams = z.strictObject({ jobId: RunIdSchema });

const CALLER_ERRORS = ["InvalidAuthenticationInfo", "GovernanceUnavailable", "AttestationUnavailable"] as const;
const RUN_CHECK_ERRORS = [
  "QueryNotFound",
  "QueryNotAccepted",
  "QueryMissingApprovalsFromDatasetOwners",
  "DatasetMissing",
  "DatasinkMissing",
  "QueryBindingStale",
  "ContractNotAccepted",
  "ContractDisabled",
  "UserDocumentNotAccepted",
  "UserDocumentRejected",
  "UserDocumentRuntimeOptionDisabled",
] as const;

function routes(options: AgentAppOptions): AgentRoute[] {
  const { manager } = options;
  return [
    {
      method: "GET",
      path: "/info",
      summary: "Who the agent is",
      description: "The contract it serves, its engine, how it is attested and its host data (what the contract's clean-room policy must admit). No authentication.",
      authenticated: false,
      response: { status: 200, schema: AgentInfoSchema },
      errors: [],
      handler: () => Promise.resolve({ body: options.info }),
    },
    {
      method: "POST",
      path: "/queries/{queryId}/run",
      summary: "Run an accepted query",
      description:
        "Reference §3.3: checks the dates (both or neither, `YYYY-MM-DD`, start ≤ end), then that the query is Accepted, that the owner of every input and of the sink approved this version, and that execution consent is enabled on the contract, the query, every input and the sink — each denial with the reference's code and message, and audited. Then records the run, audits its start and executes it in the background; poll `GET /status/{id}`. `runId` is optional and idempotent: re-sending a runId of the same query returns that run's status (200) instead of starting another; a runId of another query is 409 RunIdInUse. `dryRun` resolves everything (documents, consent, credentials, keys, the objects a run would read) and returns the plan with `id: \"none\"` without running.",
      authenticated: true,
      params: QueryParams,
      body: RunQueryRequestSchema,
      response: { status: 200, description: "The submitted run (`id` is the job id), a dry run's plan, or the existing run's status for a repeated runId.", schema: z.union([RunSubmittedSchema, RunStatusSchema]) },
      errors: [...CALLER_ERRORS, "InvalidParameter", "InvalidInput", "MalformedJson", "InvalidDateRange", "InvalidDateFormat", "RunIdInUse", ...RUN_CHECK_ERRORS],
      async handler({ params, body, caller }) {
        const answer = await manager.submit(params.queryId!, body as RunQueryRequest, caller as CallerStatus);
        return { body: answer.body };
      },
    },
    {
      method: "GET",
      path: "/status/{jobId}",
      summary: "A run's status and events",
      description:
        "State (SUBMITTED, RUNNING, COMPLETED, FAILED), timings, the error of a failed run, statistics (rows read and written, duration), where the output was committed, and every operational, audit and statistics event of the run in order (reference §5 catalogue: ids 1001–1012, 2001, 3001–3006).",
      authenticated: true,
      params: JobParams,
      response: { status: 200, schema: RunStatusSchema },
      errors: [...CALLER_ERRORS, "InvalidParameter", "RunNotFound"],
      handler: ({ params }) => Promise.resolve({ body: manager.status(params.jobId!) }),
    },
    {
      method: "GET",
      path: "/queries/{queryId}/runs",
      summary: "A query's run history",
      description:
        "The latest 20 finished runs, newest first, and a summary over all of them. Recorded by the agent when each run ends, whether or not anybody polled its status. A query that never ran has an empty history.",
      authenticated: true,
      params: QueryParams,
      response: { status: 200, schema: RunHistorySchema },
      errors: [...CALLER_ERRORS, "InvalidParameter"],
      handler: ({ params }) => Promise.resolve({ body: manager.history(params.queryId!) }),
    },
  ];
}

function openApi(list: readonly AgentRoute[]): unknown {
  return renderOpenApi(
    {
      title: "Cleanroom agent",
      version: "0.1.0",
      description:
        "The clean-room agent: runs accepted queries over the collaborators' datasets inside a TEE, after checking approvals and consent with the governance service. Callers authenticate as consortium members or users: TLS client certificate or `Authorization: Bearer <JWT>`.",
    },
    list,
    { defaultResponse: "Errors of the governance service, passed through with their status and code: `{error: {code, message}}`." },
  );
}

const toRouterPath = (path: string): string => path.replace(/\{(\w+)\}/g, ":$1");

/** The agent's HTTP interface. Every error is `{error: {code, message}}`; unexpected ones are logged, never shown. */
export function buildAgentApp(options: AgentAppOptions): FastifyInstance {
  const app = Fastify({
    bodyLimit: 64 * 1024,
    // Client certificates are requested but not verified by TLS: members' certificates are self-signed, and
    // governance, not a CA, decides who is a member (CallerAuthenticator).
    ...(options.https ? { https: { ...options.https, requestCert: true, rejectUnauthorized: false, minVersion: "TLSv1.2" as const } } : {}),
  });
  const list = routes(options);
  const document = openApi(list);
  app.get("/openapi.json", () => document);
  app.get("/ready", () => ({ status: "up" }));
  for (const route of list) {
    app.route({
      method: route.method,
      url: toRouterPath(route.path),
      handler: async (request: FastifyRequest, reply) => {
        const caller = route.authenticated ? await options.authenticator.authenticate(request) : undefined;
        const params = route.params ? parseOrThrow(route.params, request.params, "InvalidParameter") : {};
        const body = route.body ? parseOrThrow(route.body, request.body ?? {}, "InvalidInput") : undefined;
        const result = await route.handler({ params: params as Record<string, string>, body, caller });
        return reply.code(result.status ?? route.response.status).send(result.body);
      },
    });
  }
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: { code: "ResourceNotFound", message: `No endpoint ${request.method} ${request.url}.` } }));
  app.setErrorHandler((error: FastifyError | ApiError | ServiceError, _request, reply) => {
    if (error instanceof ApiError) return reply.code(error.status).send(error.toBody());
    // Governance's refusals (an unknown token, a policy that no longer admits the agent) keep their code.
    if (error instanceof ServiceError) return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
    if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") return reply.code(413).send({ error: { code: "RequestTooLarge", message: "The request body is too large." } });
    if (error.statusCode === 400 || error.statusCode === 415) {
      return reply.code(400).send({ error: { code: "MalformedJson", message: "The request body is not valid JSON." } });
    }
    (options.logError ?? ((e) => process.stderr.write(`cleanroom agent: ${String((e as Error).stack ?? e)}\n`)))(error);
    return reply.code(500).send({ error: { code: "InternalError", message: "Unexpected failure; see the agent's log." } });
  });
  return app;
}
