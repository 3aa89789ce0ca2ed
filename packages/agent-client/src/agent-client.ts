import { HttpsTransport, checkStatus, jsonBody, parseJson, type TokenSource } from "@cleanroom/governance-client";
import {
  AgentInfoSchema,
  RunHistorySchema,
  RunStatusSchema,
  RunSubmittedSchema,
  TERMINAL_RUN_STATES,
  type AgentInfo,
  type RunHistory,
  type RunQueryRequest,
  type RunStatus,
  type RunSubmitted,
} from "@cleanroom/protocol";
import { z } from "zod";

export interface AgentClientOptions {
  /** `https://127.0.0.1:<port>` of the agent. */
  url: string;
  /** The agent's TLS certificate, pinned: the only trust anchor for the server. */
  serviceCertificatePem: string;
  /** A member's or certificate user's identity: the agent checks it with governance on every call (cached briefly). */
  certificatePem?: string;
  privateKeyPem?: string;
  /** A JWT user's token, sent as `Authorization: Bearer`. */
  token?: TokenSource;
  timeoutMs?: number;
}

export interface WaitOptions {
  /** Called with each status polled, e.g. for a progress display. */
  onStatus?: (status: RunStatus) => void;
  intervalMs?: number;
  timeoutMs?: number;
}

const RunAnswerSchema = z.union([RunSubmittedSchema, RunStatusSchema]);

function segment(value: string): string {
  return encodeURIComponent(value);
}

/** Typed client of the clean-room agent (`docs/openapi/agent.json`). Errors come back as ServiceError with the agent's code. */
export class AgentClient {
  readonly #transport: HttpsTransport;

  constructor(private readonly options: AgentClientOptions) {
    this.#transport = new HttpsTransport(
      options.url,
      {
        serviceCertificatePem: options.serviceCertificatePem,
        ...(options.certificatePem ? { certificatePem: options.certificatePem } : {}),
        ...(options.privateKeyPem ? { privateKeyPem: options.privateKeyPem } : {}),
      },
      options.timeoutMs,
    );
  }

  async #headers(): Promise<Record<string, string>> {
    const token = typeof this.options.token === "function" ? await this.options.token() : this.options.token;
    return token ? { authorization: `Bearer ${token.trim()}` } : {};
  }

  async #call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const response = await this.#transport.send(method, path, body === undefined ? undefined : jsonBody(body), await this.#headers());
    return schema.parse(parseJson(checkStatus(response, `${method} ${path}`)));
  }

  info(): Promise<AgentInfo> {
    return this.#call("GET", "/info", AgentInfoSchema);
  }

  /**
   * Starts a run (or, with `dryRun`, resolves it). Re-sending a runId of the same query returns that run's status
   * instead (reference §8.4); both carry `id`, the job id to poll.
   */
  run(queryId: string, request: RunQueryRequest = {}): Promise<RunSubmitted | RunStatus> {
    return this.#call("POST", `/queries/${segment(queryId)}/run`, RunAnswerSchema, request);
  }

  status(jobId: string): Promise<RunStatus> {
    return this.#call("GET", `/status/${segment(jobId)}`, RunStatusSchema);
  }

  runs(queryId: string): Promise<RunHistory> {
    return this.#call("GET", `/queries/${segment(queryId)}/runs`, RunHistorySchema);
  }

  /** Polls a run until it is COMPLETED or FAILED and returns its last status (a FAILED run is returned, not thrown). */
  async waitForRun(jobId: string, options: WaitOptions = {}): Promise<RunStatus> {
    const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
    let interval = Math.min(options.intervalMs ?? 100, 1000);
    for (;;) {
      const status = await this.status(jobId);
      options.onStatus?.(status);
      if (TERMINAL_RUN_STATES.includes(status.state)) return status;
      if (Date.now() > deadline) throw new Error(`Run ${jobId} did not finish in time (state ${status.state}).`);
      await new Promise((resolve) => setTimeout(resolve, interval));
      // Short runs finish in well under a second; long ones need not be polled ten times a second.
      interval = Math.min(interval * 1.5, options.intervalMs ?? 1000);
    }
  }

  close(): void {
    this.#transport.close();
  }
}
