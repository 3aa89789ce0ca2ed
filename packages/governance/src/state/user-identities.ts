import type { StateReader, TxId, WriteTx } from "@cleanroom/ledger";
import type { JwtIssuer, UserIdentity } from "@cleanroom/protocol";
import { z } from "zod";
import { storedPublicKeys, type PublicJwk } from "../auth/jwks.js";
import { readJson, readParsed, writeJson } from "./json-state.js";
import { Maps } from "./maps.js";

// The constitution validates what it writes, but a consortium can replace the constitution: every stored value is
// parsed again on the way out, and one that does not fit is treated as absent so it can never authenticate anybody.

const StoredUserIdentitySchema = z.object({
  accountType: z.string(),
  invitationId: z.string().optional(),
  data: z.looseObject({ tenantId: z.string(), identifier: z.string().optional() }),
});

const StoredJwtIssuerSchema = z.object({
  auto_refresh: z.boolean(),
  ca_cert_bundle: z.string().optional(),
  audiences: z.array(z.string()).min(1).optional(),
});
/** `public:ccf.gov.jwt.issuers` values, in CCF's format. */
export type StoredJwtIssuer = z.infer<typeof StoredJwtIssuerSchema>;

const StoredJwtRefreshSchema = z.object({ refreshedAt: z.string(), jwksUri: z.string() });
/** `public:cleanroom.gov.jwt_refresh` values: the service's record of its last key refresh for an issuer. */
export type StoredJwtRefresh = z.infer<typeof StoredJwtRefreshSchema>;

function sameTx(a: TxId | undefined, b: TxId | undefined): boolean {
  return a !== undefined && b !== undefined && a.view === b.view && a.seqno === b.seqno;
}

/** A JWT user registered by `set_user_identity`, by its `oid`; undefined when absent (or unreadable). */
export function getUserIdentity(state: StateReader, id: string): UserIdentity | undefined {
  const stored = readParsed(StoredUserIdentitySchema, state, Maps.userIdentities, id);
  if (!stored) return undefined;
  const { tenantId, identifier } = stored.data;
  return {
    id,
    accountType: stored.accountType,
    ...(stored.invitationId !== undefined ? { invitationId: stored.invitationId } : {}),
    data: { tenantId, ...(identifier !== undefined ? { identifier } : {}) },
  };
}

/** Every registered JWT user, in id order. */
export function listUserIdentities(state: StateReader): UserIdentity[] {
  const identities: UserIdentity[] = [];
  state.forEach(Maps.userIdentities, (id) => {
    const identity = getUserIdentity(state, id);
    if (identity) identities.push(identity);
  });
  return identities;
}

/** A trusted issuer's configuration and the transaction that last wrote it (to detect changes during a refresh). */
export function getJwtIssuer(state: StateReader, issuer: string): { config: StoredJwtIssuer; version: TxId | undefined } | undefined {
  const config = readParsed(StoredJwtIssuerSchema, state, Maps.jwtIssuers, issuer);
  return config ? { config, version: state.version(Maps.jwtIssuers, issuer) } : undefined;
}

/** True when the issuer's configuration was last written by transaction `version`. */
export function issuerUnchangedSince(state: StateReader, issuer: string, version: TxId | undefined): boolean {
  return sameTx(state.version(Maps.jwtIssuers, issuer), version);
}

/** The issuer's keys that can verify tokens; empty when it has none stored. */
export function getJwtSigningKeys(state: StateReader, issuer: string): PublicJwk[] {
  let value: unknown;
  try {
    value = readJson<unknown>(state, Maps.jwtPublicSigningKeys, issuer);
  } catch {
    return [];
  }
  return value === undefined ? [] : storedPublicKeys(value);
}

/**
 * The service's last refresh of the issuer's keys, only while the stored keys are still the ones it fetched: a
 * proposal that replaced or removed them since makes the record stale. Both are written in one transaction, so the
 * test is that the two keys were last written by the same transaction.
 */
export function getCurrentJwtRefresh(state: StateReader, issuer: string): StoredJwtRefresh | undefined {
  if (!sameTx(state.version(Maps.jwtRefresh, issuer), state.version(Maps.jwtPublicSigningKeys, issuer))) return undefined;
  if (!state.has(Maps.jwtPublicSigningKeys, issuer)) return undefined;
  return readParsed(StoredJwtRefreshSchema, state, Maps.jwtRefresh, issuer);
}

/** Stores keys fetched from an auto_refresh issuer together with the record of the refresh. */
export function writeRefreshedJwtKeys(tx: WriteTx, issuer: string, keys: PublicJwk[], refresh: StoredJwtRefresh): void {
  writeJson(tx, Maps.jwtPublicSigningKeys, issuer, { keys });
  writeJson(tx, Maps.jwtRefresh, issuer, refresh);
}

/** Every trusted issuer as the API shows it, in issuer order. */
export function listJwtIssuers(state: StateReader): JwtIssuer[] {
  const issuers: JwtIssuer[] = [];
  state.forEach(Maps.jwtIssuers, (issuer) => {
    const found = getJwtIssuer(state, issuer);
    if (!found) return;
    const refresh = found.config.auto_refresh ? getCurrentJwtRefresh(state, issuer) : undefined;
    issuers.push({
      issuer,
      autoRefresh: found.config.auto_refresh,
      ...(found.config.audiences ? { audiences: found.config.audiences } : {}),
      keyIds: getJwtSigningKeys(state, issuer).map((key) => key.kid),
      ...(refresh ? { refreshedAt: refresh.refreshedAt } : {}),
    });
  });
  return issuers;
}
