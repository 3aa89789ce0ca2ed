import type { IncomingMessage } from "node:http";
import type { StateReader } from "@cleanroom/ledger";
import { ApiError, type Identity } from "@cleanroom/protocol";
import { describe, expect, it } from "vitest";
import { authenticateBearer, authenticateCaller, bearerToken, type BearerTokenAuthenticator, type BearerTokenVerifier } from "./client-certificates.js";

// No member or user is registered in this state: every certificate is unknown (the registered case is covered by
// the end-to-end tests, which use real TLS).
const emptyState: StateReader = {
  get: () => undefined,
  has: () => false,
  version: () => undefined,
  forEach: () => undefined,
  size: () => 0,
};

const jwtUser: Identity = { kind: "user", id: "oid-1", data: { tenantId: "t" }, authenticatedBy: "jwt", tenantId: "t" };
const tokens: BearerTokenAuthenticator & { seen: string[] } = {
  seen: [],
  authenticate(token) {
    this.seen.push(token);
    return Promise.resolve(jwtUser);
  },
};

function fakeRequest(options: { certificateDer?: Buffer; authorization?: string }): IncomingMessage {
  const socket = { getPeerCertificate: () => (options.certificateDer ? { raw: options.certificateDer } : {}) };
  return { socket, headers: options.authorization !== undefined ? { authorization: options.authorization } : {} } as unknown as IncomingMessage;
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe("bearerToken", () => {
  it("takes the token of a Bearer header, whatever the scheme's case", () => {
    expect(bearerToken("Bearer abc.def.ghi")).toBe("abc.def.ghi");
    expect(bearerToken("bearer abc.def-_~+/=")).toBe("abc.def-_~+/=");
  });

  it("refuses other schemes and malformed headers", () => {
    for (const header of ["Basic YWxpY2U6cHc=", "Bearer", "Bearer ", "Bearer a b", "Token abc", "abc"]) {
      expect(() => bearerToken(header), header).toThrow(ApiError);
    }
  });
});

describe("authenticateCaller", () => {
  it("uses the bearer token when no registered certificate is presented, with or without a certificate", async () => {
    await expect(authenticateCaller(emptyState, tokens, fakeRequest({ authorization: "Bearer t1" }))).resolves.toEqual(jwtUser);
    await expect(authenticateCaller(emptyState, tokens, fakeRequest({ authorization: "Bearer t2", certificateDer: Buffer.from("x") }))).resolves.toEqual(jwtUser);
    expect(tokens.seen).toEqual(["t1", "t2"]);
  });

  it("refuses callers with neither a registered certificate nor a token, naming an unknown certificate", async () => {
    const unknown = await rejection(authenticateCaller(emptyState, tokens, fakeRequest({ certificateDer: Buffer.from("x") })));
    expect(unknown.code).toBe("InvalidAuthenticationInfo");
    expect(unknown.message).toMatch(/is not registered as a member or user/);
    const anonymous = await rejection(authenticateCaller(emptyState, tokens, fakeRequest({})));
    expect(anonymous.code).toBe("InvalidAuthenticationInfo");
    expect(anonymous.message).toMatch(/or an 'Authorization: Bearer <JWT>' header/);
  });

  it("refuses an Authorization header of another scheme", async () => {
    const error = await rejection(authenticateCaller(emptyState, tokens, fakeRequest({ authorization: "Basic YWxpY2U6cHc=" })));
    expect(error.code).toBe("InvalidAuthenticationInfo");
  });
});

describe("authenticateBearer", () => {
  const verifier: BearerTokenVerifier & { seen: string[] } = {
    seen: [],
    verifyToken(token) {
      this.seen.push(token);
      return Promise.resolve({ issuer: "https://issuer.example", claims: { oid: "oid-invitee" } });
    },
  };

  it("verifies the bearer token, whatever certificate comes with it", async () => {
    await expect(authenticateBearer(emptyState, verifier, fakeRequest({ authorization: "Bearer t1", certificateDer: Buffer.from("x") }))).resolves.toEqual({
      issuer: "https://issuer.example",
      claims: { oid: "oid-invitee" },
    });
    expect(verifier.seen).toEqual(["t1"]);
  });

  it("refuses requests without a Bearer header, with or without a certificate", async () => {
    for (const request of [fakeRequest({}), fakeRequest({ certificateDer: Buffer.from("x") }), fakeRequest({ authorization: "Basic YWxpY2U6cHc=" })]) {
      expect((await rejection(authenticateBearer(emptyState, verifier, request))).code).toBe("InvalidAuthenticationInfo");
    }
    expect(verifier.seen).toEqual(["t1"]);
  });
});
