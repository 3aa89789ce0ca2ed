import type { Ledger } from "@cleanroom/ledger";
import { ApiError, type Identity } from "@cleanroom/protocol";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from "jose";
import { getJwtIssuer, getJwtSigningKeys, getUserIdentity, type StoredJwtIssuer } from "../state/user-identities.js";
import { JWT_ALGORITHMS, type PublicJwk } from "./jwks.js";
import { JwtKeyRefresher, KeyRefreshError, type JwtKeyRefresherOptions } from "./jwt-key-refresh.js";

/** Tokens are checked against the service clock with this much leeway for issuers' clocks, as CCF does. */
export const CLOCK_TOLERANCE_SECONDS = 30;
/** Far above any real access token, and below what a header can carry anyway; checked before any parsing. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export interface JwtAuthenticatorOptions extends JwtKeyRefresherOptions {
  /** Replaces the refresher built from the other options (tests). */
  refresher?: JwtKeyRefresher;
}

/** The constitution's rules for issuer URLs and user identity ids: anything else can never have been registered. */
const ISSUER_PATTERN = /^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/;
export const USER_IDENTITY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_ISSUER_LENGTH = 2048;

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * Claims are attacker-chosen strings used as ledger keys: refuse what the constitution could never have written
 * (and what the ledger would reject, such as NUL or lone surrogates) before looking anything up.
 */
function isPlausibleIssuer(value: string): boolean {
  return (
    value.length <= MAX_ISSUER_LENGTH &&
    ISSUER_PATTERN.test(value) &&
    !hasControlCharacter(value) &&
    Buffer.from(value, "utf8").toString("utf8") === value
  );
}

function unauthenticated(reason: string): ApiError {
  return new ApiError("InvalidAuthenticationInfo", `The bearer token was not accepted: ${reason}.`);
}

/** Names why jose refused a token, in terms a caller can act on. */
function verificationFailure(error: unknown, issuer: string, kid: string): ApiError {
  if (error instanceof errors.JWTExpired) return unauthenticated("the token has expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "aud":
        return unauthenticated(`its audience is not one of those accepted for issuer ${issuer}`);
      case "exp":
        return unauthenticated("the token has no valid 'exp' (expiry) claim");
      case "nbf":
        return unauthenticated("the token is not valid yet ('nbf' is in the future)");
      case "iat":
        return unauthenticated("the token's 'iat' claim is invalid");
      case "iss":
        return unauthenticated(`its issuer is not ${issuer}`);
    }
    return unauthenticated(`claim '${error.claim}' is invalid: ${error.reason}`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return unauthenticated(`its signature does not verify with key '${kid}' of issuer ${issuer}`);
  if (error instanceof errors.JOSEAlgNotAllowed) return unauthenticated(`its algorithm is not one of ${JWT_ALGORITHMS.join(", ")}`);
  if (error instanceof errors.JWKSNoMatchingKey) return unauthenticated(`issuer ${issuer} has no key '${kid}' usable with the token's algorithm`);
  if (error instanceof errors.JWKSMultipleMatchingKeys) return unauthenticated(`issuer ${issuer} has several keys '${kid}' for the token's algorithm`);
  if (error instanceof errors.JOSEError) return unauthenticated(`it is malformed (${error.message})`);
  throw error;
}

/** The unverified claims and header fields needed to pick the issuer and the key. */
function inspect(token: string): { payload: JWTPayload; kid: string; alg: string } {
  if (token.length > MAX_TOKEN_LENGTH) throw unauthenticated(`it is longer than ${MAX_TOKEN_LENGTH} characters`);
  let payload: JWTPayload;
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
    payload = decodeJwt(token);
  } catch {
    throw unauthenticated("it is not a signed JWT");
  }
  if (typeof header.alg !== "string" || !(JWT_ALGORITHMS as readonly string[]).includes(header.alg)) {
    throw unauthenticated(`its algorithm '${String(header.alg)}' is not one of ${JWT_ALGORITHMS.join(", ")}`);
  }
  // Keys are selected by kid, as in CCF; without one the issuer's key would have to be guessed.
  if (typeof header.kid !== "string" || header.kid.length === 0) throw unauthenticated("its header has no 'kid'");
  return { payload, kid: header.kid, alg: header.alg };
}

/** A bearer token that verified: signed by a key of a trusted issuer, unexpired, for an accepted audience. */
export interface VerifiedToken {
  issuer: string;
  claims: JWTPayload;
}

/**
 * Authenticates JWT users: a bearer token from an issuer the consortium trusts (`set_jwt_issuer`), naming in its
 * `oid` a user the consortium registered (`set_user_identity`) from the tenant (`tid`) it was registered with
 * (reference §1.1, §1.3). Keys come from the ledger; for auto_refresh issuers, a token signed with a key not
 * stored yet triggers a (rate-limited) refresh from the issuer.
 */
export class JwtAuthenticator {
  private readonly refresher: JwtKeyRefresher;

  constructor(
    private readonly ledger: Ledger,
    private readonly options: JwtAuthenticatorOptions,
  ) {
    this.refresher = options.refresher ?? new JwtKeyRefresher(ledger, options);
  }

  /**
   * The identity of the bearer of `token`. Throws ApiError: InvalidAuthenticationInfo (401) when the token is not
   * a valid token of a trusted issuer, CallerNotAuthorized (403) when its oid is not registered,
   * CallerTenantNotAuthorized (403) when its tid is not the registered tenant.
   */
  async authenticate(token: string): Promise<Identity> {
    const { claims } = await this.verifyToken(token);
    return this.identityOf(claims);
  }

  /**
   * Verifies `token` as `authenticate` does, but does not require its `oid` to be a registered user: for invitees,
   * who accept an invitation before the consortium registers them. Throws ApiError InvalidAuthenticationInfo (401)
   * when the token is not a valid token of a trusted issuer.
   */
  async verifyToken(token: string): Promise<VerifiedToken> {
    const { payload, kid } = inspect(token);
    if (typeof payload.iss !== "string") throw unauthenticated("it has no 'iss' (issuer) claim");
    const issuer = payload.iss;
    const found = isPlausibleIssuer(issuer) ? getJwtIssuer(this.ledger, issuer) : undefined;
    if (!found) throw unauthenticated(`issuer ${issuer} is not trusted (no set_jwt_issuer proposal was accepted for it)`);
    const keys = await this.keysFor(issuer, found.config, kid);
    const claims = await this.verify(token, issuer, found.config, keys, kid);
    return { issuer, claims };
  }

  /** The issuer's keys, refreshed first when an auto_refresh issuer does not have the token's key stored. */
  private async keysFor(issuer: string, config: StoredJwtIssuer, kid: string): Promise<PublicJwk[]> {
    const stored = getJwtSigningKeys(this.ledger, issuer);
    if (stored.some((key) => key.kid === kid)) return stored;
    if (!config.auto_refresh) {
      throw unauthenticated(`issuer ${issuer} has no key '${kid}' (its keys were given in the proposal and are not refreshed)`);
    }
    try {
      const refreshed = await this.refresher.refresh(issuer);
      if (!refreshed.some((key) => key.kid === kid)) throw unauthenticated(`issuer ${issuer} does not publish a usable key '${kid}'`);
      return refreshed;
    } catch (error) {
      if (error instanceof KeyRefreshError) throw unauthenticated(`key '${kid}' is not known and ${error.message}`);
      throw error;
    }
  }

  private async verify(token: string, issuer: string, config: StoredJwtIssuer, keys: PublicJwk[], kid: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet({ keys }), {
        issuer,
        ...(config.audiences ? { audience: config.audiences } : {}),
        algorithms: [...JWT_ALGORITHMS],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ["exp"],
        currentDate: new Date(this.options.clock()),
      });
      return payload;
    } catch (error) {
      throw verificationFailure(error, issuer, kid);
    }
  }

  private identityOf(claims: JWTPayload): Identity {
    const oid = claims.oid;
    if (typeof oid !== "string" || oid.length === 0) throw unauthenticated("token has no oid claim");
    const identity = USER_IDENTITY_ID_PATTERN.test(oid) ? getUserIdentity(this.ledger, oid) : undefined;
    if (!identity) throw new ApiError("CallerNotAuthorized", `The token's oid ${oid} is not a registered user identity.`);
    const tid = claims.tid;
    if (typeof tid !== "string" || tid !== identity.data.tenantId) {
      throw new ApiError(
        "CallerTenantNotAuthorized",
        `The token's tid ${typeof tid === "string" ? tid : "(absent)"} is not the tenant user identity ${oid} was registered with.`,
      );
    }
    return { kind: "user", id: oid, data: identity.data, authenticatedBy: "jwt", tenantId: tid };
  }
}
