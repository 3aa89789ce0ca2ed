import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ApiError, ERROR_CATALOGUE, isErrorBody, type ErrorCode } from "./errors.js";

const doc = readFileSync(new URL("../../../docs/errors.md", import.meta.url), "utf8");
const documented = new Map(
  [...doc.matchAll(/^\| `(\w+)` \| (\d{3}) \|/gm)].map((match) => [match[1] as string, Number(match[2])]),
);

describe("error catalogue", () => {
  it("documents every code with its status, and documents no code that does not exist", () => {
    const catalogue = new Map(Object.entries(ERROR_CATALOGUE).map(([code, entry]) => [code, entry.status]));
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(catalogue));
  });

  it("uses client-error statuses for everything a request can get wrong", () => {
    // Failures of the service itself or of what it depends on (the runtime sidecar's platform and upstream) are 5xx.
    const serverSide = new Set(["InternalError", "ServiceUnavailable", "AttestationUnavailable", "GovernanceUnavailable", "UnwrapFailed", "StorageUnreachable"]);
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      if (serverSide.has(code)) {
        expect(entry.status, code).toBeGreaterThanOrEqual(500);
        continue;
      }
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.status, code).toBeLessThan(500);
    }
  });

  it("ApiError carries the catalogued status and serialises to the wire body", () => {
    const error = new ApiError("VoteAlreadyExists" satisfies ErrorCode, "already voted");
    expect(error.status).toBe(409);
    expect(error.toBody()).toEqual({ error: { code: "VoteAlreadyExists", message: "already voted" } });
    expect(isErrorBody(error.toBody())).toBe(true);
    expect(isErrorBody({ error: { code: 1 } })).toBe(false);
  });
});
