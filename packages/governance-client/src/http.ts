import { Agent, request } from "node:https";
import { isErrorBody } from "@cleanroom/protocol";

/** An error response from a Cleanroom service, with its catalogued code. */
export class ServiceError extends Error {
  override readonly name = "ServiceError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface TlsOptions {
  /** The pinned service certificate: the only trust anchor for the server. */
  serviceCertificatePem: string;
  /** Client certificate and key, for endpoints that authenticate the caller by TLS. */
  certificatePem?: string;
  privateKeyPem?: string;
}

/** HTTPS to one service, pinning its certificate and keeping connections alive. */
export class HttpsTransport {
  private readonly agent: Agent;
  private readonly base: URL;

  constructor(
    url: string,
    tls: TlsOptions,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = new URL(url);
    if (this.base.protocol !== "https:") throw new Error(`The service URL must be https://, got ${url}.`);
    this.agent = new Agent({
      ca: tls.serviceCertificatePem,
      ...(tls.certificatePem ? { cert: tls.certificatePem } : {}),
      ...(tls.privateKeyPem ? { key: tls.privateKeyPem } : {}),
      keepAlive: true,
      maxSockets: 64,
    });
  }

  /**
   * Sends one request. `path` is resolved against the service URL (so a service's `nextLink` can be passed as is);
   * `headers` are added to the request (e.g. `authorization`).
   */
  send(method: string, path: string, body?: { contentType: string; data: Uint8Array }, headers: Record<string, string> = {}): Promise<HttpResponse> {
    const url = new URL(path, this.base);
    if (url.origin !== this.base.origin) return Promise.reject(new Error(`Refusing to follow ${url.origin}: not the service's origin ${this.base.origin}.`));
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: {
            ...headers,
            ...(body ? { "content-type": body.contentType, "content-length": String(body.data.length) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${url.pathname} timed out after ${this.timeoutMs} ms.`)));
      req.on("error", reject);
      req.end(body ? Buffer.from(body.data) : undefined);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A JSON request body. */
export function jsonBody(value: unknown): { contentType: string; data: Uint8Array } {
  return { contentType: "application/json", data: Buffer.from(JSON.stringify(value), "utf8") };
}

/** Throws a ServiceError for non-2xx responses, using the service's error body when there is one. */
export function checkStatus(response: HttpResponse, what: string): HttpResponse {
  if (response.status >= 200 && response.status < 300) return response;
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body.toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (isErrorBody(parsed)) throw new ServiceError(response.status, parsed.error.code, parsed.error.message);
  throw new ServiceError(response.status, "UnexpectedResponse", `${what} failed with HTTP ${response.status}.`);
}

export function parseJson(response: HttpResponse): unknown {
  return response.body.length === 0 ? undefined : JSON.parse(response.body.toString("utf8"));
}
