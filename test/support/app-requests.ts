import { request } from "node:https";
import { TX_ID_HEADER } from "@cleanroom/protocol";

/** How a test request authenticates: a TLS client certificate, a bearer token, both, or nothing. */
export interface RequestIdentity {
  certificatePem?: string;
  keys?: { privateKeyPem: string };
  token?: string;
}

export interface AppResponse {
  status: number;
  body: unknown;
  transactionId: string | undefined;
}

/**
 * A raw JSON request to the governance service. Tests use it where they need the exact status and body (error
 * cells of the authorization matrix, malformed input) rather than the typed client's behaviour.
 */
export function appRequest(
  service: { url: string; serviceCertificatePem: string },
  identity: RequestIdentity | undefined,
  method: string,
  path: string,
  body?: unknown,
  options: { rawBody?: string | Buffer; contentType?: string } = {},
): Promise<AppResponse> {
  const payload = options.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, service.url),
      {
        method,
        ca: service.serviceCertificatePem,
        ...(identity?.certificatePem ? { cert: identity.certificatePem } : {}),
        ...(identity?.keys ? { key: identity.keys.privateKeyPem } : {}),
        // A fresh connection per request: TLS identities must never leak between cells of a test table.
        agent: false,
        headers: {
          ...(payload !== undefined ? { "content-type": options.contentType ?? "application/json", "content-length": String(Buffer.byteLength(payload)) } : {}),
          ...(identity?.token ? { authorization: `Bearer ${identity.token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            // Keep the text: a non-JSON body is itself a finding for the test to report.
          }
          const txId = res.headers[TX_ID_HEADER];
          resolve({ status: res.statusCode ?? 0, body: parsed, transactionId: Array.isArray(txId) ? txId[0] : txId });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** The error code of an error response, or undefined. */
export function errorCode(response: AppResponse): string | undefined {
  const error = (response.body as { error?: { code?: unknown } } | undefined)?.error;
  return typeof error?.code === "string" ? error.code : undefined;
}
