import { request } from "node:https";

/** Limits of one outgoing request for an issuer's metadata. */
export interface FetchJsonOptions {
  /**
   * PEM bundle that replaces the default trust store for this request. Absent: the well-known public CAs, as an
   * issuer on the internet would be served with.
   */
  ca?: string;
  /** Whole request, from connecting to the last body byte. */
  timeoutMs: number;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
}

/** Fetches a JSON document; injectable so tests can stand in for an issuer. */
export type FetchJson = (url: string, options: FetchJsonOptions) => Promise<unknown>;

export const DEFAULT_FETCH_TIMEOUT_MS = 5_000;
export const DEFAULT_FETCH_MAX_BYTES = 1024 * 1024;

/** Parses `url` and refuses anything but https, so that keys are never fetched over a channel an attacker can alter. */
export function httpsUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`'${url}' is not a URL`);
  }
  if (parsed.protocol !== "https:") throw new Error(`'${url}' is not an https URL`);
  if (parsed.username !== "" || parsed.password !== "") throw new Error(`'${url}' must not carry credentials`);
  return parsed;
}

/**
 * GETs a JSON document over HTTPS: certificate checked against `ca` alone when given, no redirects followed (a
 * redirect could leave the trust the proposal set up), a hard timeout for the whole exchange and a size limit
 * enforced while reading. Rejects with an Error whose message says what went wrong.
 */
export const fetchJson: FetchJson = (url, options) => {
  return new Promise((resolve, reject) => {
    // Inside the executor, so a bad URL rejects like every other failure instead of throwing.
    const target = httpsUrl(url);
    let settled = false;
    let req: ReturnType<typeof request> | undefined;
    const finish = (error: Error | undefined, value?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        req?.destroy();
        reject(error);
      } else {
        resolve(value);
      }
    };
    const timer = setTimeout(() => finish(new Error(`GET ${url} timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
    try {
      req = request(
        target,
        {
          method: "GET",
          // A fresh connection per fetch: a pooled one could have been verified against another issuer's CA bundle.
          agent: false,
          rejectUnauthorized: true,
          ...(options.ca !== undefined ? { ca: options.ca } : {}),
          headers: { accept: "application/json" },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status !== 200) {
            res.resume();
            finish(new Error(`GET ${url} answered HTTP ${status}`));
            return;
          }
          const declared = Number(res.headers["content-length"] ?? "0");
          if (declared > options.maxBytes) {
            finish(new Error(`GET ${url} returned ${declared} bytes, more than the limit of ${options.maxBytes}`));
            return;
          }
          const chunks: Buffer[] = [];
          let received = 0;
          res.on("data", (chunk: Buffer) => {
            received += chunk.length;
            if (received > options.maxBytes) {
              finish(new Error(`GET ${url} returned more than the limit of ${options.maxBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on("end", () => {
            try {
              finish(undefined, JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown);
            } catch {
              finish(new Error(`GET ${url} did not return JSON`));
            }
          });
          res.on("error", (error) => finish(new Error(`GET ${url} failed: ${error.message}`)));
        },
      );
    } catch (error) {
      // Options are checked synchronously (e.g. an unparsable CA bundle).
      finish(new Error(`GET ${url} failed: ${(error as Error).message}`));
      return;
    }
    req.on("error", (error) => finish(new Error(`GET ${url} failed: ${error.message}`)));
    req.end();
  });
};
