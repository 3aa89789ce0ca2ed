import type { Ledger, TxId } from "@cleanroom/ledger";
import { durableWrite } from "../http/context.js";
import { getCurrentJwtRefresh, getJwtIssuer, issuerUnchangedSince, writeRefreshedJwtKeys } from "../state/user-identities.js";
import { DEFAULT_FETCH_MAX_BYTES, DEFAULT_FETCH_TIMEOUT_MS, fetchJson, httpsUrl, type FetchJson } from "./https-fetch.js";
import { MAX_USABLE_KEYS, parsePublicJwks, type PublicJwk } from "./jwks.js";

export interface JwtKeyRefresherOptions {
  /** Service time, ms since the epoch. */
  clock: () => number;
  /** At most one fetch per issuer in this interval, successful or not. Default 30 s. */
  minIntervalMs?: number;
  timeoutMs?: number;
  maxBytes?: number;
  fetchJson?: FetchJson;
}

export const DEFAULT_MIN_REFRESH_INTERVAL_MS = 30_000;

/** Why a refresh did not produce keys; the message is meant for the caller whose token could not be checked. */
export class KeyRefreshError extends Error {
  override readonly name = "KeyRefreshError";
}

interface Attempt {
  at: number;
  /** The issuer configuration the attempt was made for: a new proposal may be retried at once. */
  configVersion: TxId | undefined;
}

function sameVersion(a: TxId | undefined, b: TxId | undefined): boolean {
  return a?.view === b?.view && a?.seqno === b?.seqno;
}

/**
 * Fetches the signing keys of `auto_refresh` issuers through OpenID discovery and stores them in the ledger, so every
 * replica (and every later audit) sees the keys tokens were checked with. Refreshes are demand-driven (a token whose
 * kid is unknown), which is also how an attacker could try to make the service hammer an issuer: hence at most one
 * fetch per issuer per interval, and concurrent demands share the fetch in flight.
 */
export class JwtKeyRefresher {
  private readonly attempts = new Map<string, Attempt>();
  private readonly inFlight = new Map<string, Promise<PublicJwk[]>>();
  private readonly minIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly fetch: FetchJson;

  constructor(
    private readonly ledger: Ledger,
    private readonly options: JwtKeyRefresherOptions,
  ) {
    this.minIntervalMs = options.minIntervalMs ?? DEFAULT_MIN_REFRESH_INTERVAL_MS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    this.maxBytes = options.maxBytes ?? DEFAULT_FETCH_MAX_BYTES;
    this.fetch = options.fetchJson ?? fetchJson;
  }

  /**
   * Refreshes the issuer's keys and returns the usable ones as stored. Rejects with KeyRefreshError when the issuer
   * is not (or no longer) an auto_refresh issuer, when it was tried too recently, or when discovery, the fetch or
   * the key set fails validation.
   */
  refresh(issuer: string): Promise<PublicJwk[]> {
    const pending = this.inFlight.get(issuer);
    if (pending) return pending;
    const found = getJwtIssuer(this.ledger, issuer);
    if (!found?.config.auto_refresh) return Promise.reject(new KeyRefreshError(`issuer ${issuer} does not have auto_refresh enabled`));
    const now = this.options.clock();
    const wait = this.waitBeforeNextAttempt(issuer, found.version, now);
    if (wait > 0) {
      return Promise.reject(
        new KeyRefreshError(`the keys of issuer ${issuer} were refreshed less than ${this.minIntervalMs / 1000} s ago; retry in ${Math.ceil(wait / 1000)} s`),
      );
    }
    this.attempts.set(issuer, { at: now, configVersion: found.version });
    const run = this.fetchAndStore(issuer, found.config.ca_cert_bundle, found.version).finally(() => this.inFlight.delete(issuer));
    this.inFlight.set(issuer, run);
    return run;
  }

  private waitBeforeNextAttempt(issuer: string, configVersion: TxId | undefined, now: number): number {
    const attempt = this.attempts.get(issuer);
    let last = attempt && sameVersion(attempt.configVersion, configVersion) ? attempt.at : undefined;
    // The ledger remembers successful refreshes across restarts.
    const stored = getCurrentJwtRefresh(this.ledger, issuer);
    const storedAt = stored ? Date.parse(stored.refreshedAt) : NaN;
    if (Number.isFinite(storedAt) && (last === undefined || storedAt > last)) last = storedAt;
    return last === undefined ? 0 : Math.max(0, last + this.minIntervalMs - now);
  }

  private async fetchAndStore(issuer: string, ca: string | undefined, configVersion: TxId | undefined): Promise<PublicJwk[]> {
    const limits = { timeoutMs: this.timeoutMs, maxBytes: this.maxBytes, ...(ca !== undefined ? { ca } : {}) };
    const discoveryUrl = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
    let keys: PublicJwk[];
    let jwksUri: string;
    try {
      httpsUrl(issuer);
      const discovery = await this.fetch(discoveryUrl, limits);
      if (typeof discovery !== "object" || discovery === null) throw new Error(`${discoveryUrl} is not an OpenID configuration document`);
      const document = discovery as Record<string, unknown>;
      // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for, or it is not its.
      if (document.issuer !== issuer) throw new Error(`${discoveryUrl} names issuer '${String(document.issuer)}', not '${issuer}'`);
      if (typeof document.jwks_uri !== "string") throw new Error(`${discoveryUrl} has no jwks_uri`);
      jwksUri = httpsUrl(document.jwks_uri).href;
      keys = parsePublicJwks(await this.fetch(jwksUri, limits));
    } catch (error) {
      throw new KeyRefreshError(`could not refresh the keys of issuer ${issuer}: ${(error as Error).message}`);
    }
    if (keys.length === 0) throw new KeyRefreshError(`issuer ${issuer} publishes no key usable to verify tokens (${jwksUri})`);
    if (keys.length > MAX_USABLE_KEYS) throw new KeyRefreshError(`issuer ${issuer} publishes ${keys.length} usable keys, more than ${MAX_USABLE_KEYS}`);
    const refreshedAt = new Date(this.options.clock()).toISOString();
    const { result: stored } = await durableWrite(this.ledger, (tx) => {
      // A proposal may have removed the issuer or changed its trust (CA bundle) while we were fetching: keys fetched
      // under the old configuration are not trusted under the new one.
      if (!issuerUnchangedSince(tx, issuer, configVersion)) return false;
      writeRefreshedJwtKeys(tx, issuer, keys, { refreshedAt, jwksUri });
      return true;
    });
    if (!stored) throw new KeyRefreshError(`the configuration of issuer ${issuer} changed while its keys were being fetched; retry`);
    return keys;
  }
}
