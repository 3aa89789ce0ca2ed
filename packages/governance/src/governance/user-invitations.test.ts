import { ApiError } from "@cleanroom/protocol";
import type { JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import type { VerifiedToken } from "../auth/jwt-issuers.js";
import { checkInvitationClaims, classifyIssuer, tokenClaimName } from "./user-invitations.js";

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const ENTRA_V1 = `https://sts.windows.net/${TENANT}/`;
const ENTRA_V2 = `https://login.microsoftonline.com/${TENANT}/v2.0`;
const GENERIC = "https://idp.example.com";

function token(issuer: string, claims: JWTPayload): VerifiedToken {
  return { issuer, claims };
}

function refusal(invitationClaims: Record<string, string[]>, verified: VerifiedToken): { code: string; message: string } | undefined {
  try {
    checkInvitationClaims("inv", invitationClaims, verified);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return { code: (error as ApiError).code, message: (error as ApiError).message };
  }
}

describe("issuer classification (reference §1.3)", () => {
  it("knows Microsoft personal accounts, Entra ID tenants, and everything else", () => {
    expect(classifyIssuer("https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0")).toBe("MsPersonal");
    expect(classifyIssuer("https://login.microsoftonline.com/consumers/v2.0")).toBe("MsPersonal");
    for (const issuer of [ENTRA_V1, ENTRA_V2, "https://login.microsoftonline.com/organizations/v2.0", "https://login.microsoftonline.com/common/v2.0"]) {
      expect(classifyIssuer(issuer), issuer).toBe("EntraID");
    }
    for (const issuer of [
      GENERIC,
      "https://sts.windows.net/not-a-guid/",
      `https://sts.windows.net/${TENANT}`,
      `https://login.microsoftonline.com/${TENANT}/v2.0/extra`,
      `https://login.microsoftonline.com.evil.example/${TENANT}/v2.0`,
      `https://evil.example/https://sts.windows.net/${TENANT}/`,
    ]) {
      expect(classifyIssuer(issuer), issuer).toBe("GenericOpenID");
    }
  });
});

describe("matching a token's claims against an invitation", () => {
  it("accepts a token carrying every claim with an allowed value", () => {
    expect(refusal({ preferred_username: ["a@x", "b@x"], tid: ["t"] }, token(GENERIC, { preferred_username: "b@x", tid: "t" }))).toBeUndefined();
  });

  it("names a missing claim (403 TokenClaimMissing) and a value not allowed (403 TokenClaimMismatch)", () => {
    expect(refusal({ email: ["a@x"] }, token(GENERIC, { tid: "t" }))).toEqual({ code: "TokenClaimMissing", message: expect.stringMatching(/no 'email' claim/) as unknown });
    expect(refusal({ email: ["a@x"] }, token(GENERIC, { email: "A@x" }))).toEqual({ code: "TokenClaimMismatch", message: expect.stringMatching(/'email' claim "A@x"/) as unknown });
    // Not a string: never a match (a list is not "one of the values").
    expect(refusal({ email: ["a@x"] }, token(GENERIC, { email: ["a@x"] }))?.code).toBe("TokenClaimMismatch");
    expect(refusal({ email: ["a@x"] }, token(GENERIC, { email: null }))?.code).toBe("TokenClaimMissing");
  });

  it("does not reveal the allowed values, and cuts long token values in messages", () => {
    const message = refusal({ email: ["secret-invitee@x"] }, token(GENERIC, { email: "z".repeat(500) }))?.message ?? "";
    expect(message).not.toMatch(/secret-invitee/);
    expect(message.length).toBeLessThan(300);
  });

  it("reads upn for preferred_username in Entra ID v1.0 tokens only", () => {
    expect(tokenClaimName("preferred_username", token(ENTRA_V1, { ver: "1.0" }))).toBe("upn");
    expect(tokenClaimName("preferred_username", token(ENTRA_V2, { ver: "2.0" }))).toBe("preferred_username");
    expect(tokenClaimName("preferred_username", token(GENERIC, { ver: "1.0" }))).toBe("preferred_username");
    expect(tokenClaimName("email", token(ENTRA_V1, { ver: "1.0" }))).toBe("email");

    const invitation = { preferred_username: ["a@contoso.example"] };
    expect(refusal(invitation, token(ENTRA_V1, { ver: "1.0", upn: "a@contoso.example" }))).toBeUndefined();
    expect(refusal(invitation, token(ENTRA_V1, { ver: "1.0", preferred_username: "a@contoso.example" }))?.message).toMatch(/no 'upn' \(read for 'preferred_username'/);
    expect(refusal(invitation, token(GENERIC, { ver: "1.0", preferred_username: "a@contoso.example" }))).toBeUndefined();
  });
});
