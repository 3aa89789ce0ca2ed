import { createHash, X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { FastifyRequest } from "fastify";
import { ApiError, type CallerStatus } from "@cleanroom/protocol";
import type { GovernancePort } from "../governance-port.js";

export interface CallerAuthOptions {
  /** How long a positive answer of governance is reused; a removed member keeps access at most this long. */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Authenticates the agent's callers with their consortium identity, as governance would: a bearer JWT (forwarded to
 * governance's caller check, reference `users/isactive`) or a TLS client certificate (checked by governance through
 * the agent's attested link). Only active members and users pass. Positive answers are cached briefly so that
 * status polling does not cost a governance round trip each time (the reference caches them for 15 minutes).
 */
export class CallerAuthenticator {
  readonly #cache = new Map<string, { status: CallerStatus; until: number }>();
  readonly #cacheMs: number;
  readonly #now: () => number;

  constructor(
    private readonly port: GovernancePort,
    options: CallerAuthOptions = {},
  ) {
    this.#cacheMs = options.cacheMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  async #cached(key: string, check: () => Promise<CallerStatus>): Promise<CallerStatus> {
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit && hit.until > now) return hit.status;
    const status = await check();
    if (!status.active) throw new ApiError("InvalidAuthenticationInfo", "The caller is not an active member or user of the consortium.");
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(key, { status, until: now + this.#cacheMs });
    return status;
  }

  async authenticate(request: FastifyRequest): Promise<CallerStatus> {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const token = BEARER.exec(authorization)?.[1];
      if (token === undefined) throw new ApiError("InvalidAuthenticationInfo", "The Authorization header must be `Bearer <token>`.");
      return this.#cached(`jwt:${createHash("sha256").update(token).digest("hex")}`, () => this.port.tokenCallerStatus(token));
    }
    const socket = request.raw.socket as TLSSocket;
    const der = typeof socket.getPeerCertificate === "function" ? socket.getPeerCertificate(false).raw : undefined;
    if (der === undefined || der.length === 0) {
      throw new ApiError("InvalidAuthenticationInfo", "Present a member or user certificate (TLS client certificate) or a bearer token.");
    }
    // Rendered as PEM only on a cache miss: every authenticated request comes through here.
    return this.#cached(`cert:${createHash("sha256").update(der).digest("hex")}`, () => this.port.certificateCallerStatus(new X509Certificate(der).toString()));
  }
}
