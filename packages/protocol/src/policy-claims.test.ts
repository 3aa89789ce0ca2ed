import { describe, expect, it } from "vitest";
import { changePolicyClaims, checkPolicyClaims, PolicyClaimsError } from "./policy-claims.js";

const HOST_A = "a".repeat(64);
const HOST_B = "b".repeat(64);
const names = { policyName: "the test policy" };

function refusal(fn: () => unknown): PolicyClaimsError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PolicyClaimsError) return error;
    throw error;
  }
  throw new Error("not refused");
}

describe("clean-room policy claims", () => {
  it("accepts only the claims each verifier produces, in their form", () => {
    expect(checkPolicyClaims("snp-caci", { "x-ms-sevsnpvm-hostdata": [HOST_A], "x-ms-sevsnpvm-is-debuggable": false, "x-ms-sevsnpvm-vmpl": 0 })).toBe("snp-caci");
    expect(checkPolicyClaims("jwt", { sub: "workload", tid: ["t1", "t2"] }, "args.")).toBe("jwt");
    const cases: Array<[unknown, unknown, string]> = [
      ["snp-cvm", { pcr0: "00" }, "args.policyType must be one of snp-caci, jwt"],
      ["constructor", { sub: "x" }, "args.policyType must be one of"],
      ["snp-caci", [], "args.claims must be an object"],
      ["snp-caci", {}, "args.claims must name at least one claim"],
      ["snp-caci", { "x-ms-sevsnpvm-reportid": "00" }, "args.claims.x-ms-sevsnpvm-reportid is not a snp-caci claim"],
      ["jwt", { "x-ms-sevsnpvm-hostdata": HOST_A }, "is not a jwt claim"],
      ["snp-caci", { "x-ms-sevsnpvm-hostdata": "ABC" }, "args.claims.x-ms-sevsnpvm-hostdata must be 64 lowercase hex characters"],
      ["snp-caci", { "x-ms-sevsnpvm-hostdata": [HOST_A, HOST_A] }, "has duplicates"],
      ["snp-caci", { "x-ms-sevsnpvm-hostdata": [] }, "must hold 1 to 64 values"],
      ["snp-caci", { "x-ms-sevsnpvm-vmpl": -1 }, "args.claims.x-ms-sevsnpvm-vmpl must be a string"],
      ["jwt", { sub: ["x", null] }, "args.claims.sub[1] must be a string"],
      ["jwt", { sub: "" }, "must have 1 to 512 characters"],
    ];
    for (const [type, claims, message] of cases) expect(refusal(() => checkPolicyClaims(type, claims, "args.")).message, message).toContain(message);
  });

  it("adds as a union (booleans replace), removes what is there and drops emptied claims", () => {
    const first = changePolicyClaims({}, { type: "add", claims: { "x-ms-sevsnpvm-hostdata": HOST_A, "x-ms-sevsnpvm-is-debuggable": false } }, names);
    expect(first).toEqual({ "x-ms-sevsnpvm-hostdata": [HOST_A], "x-ms-sevsnpvm-is-debuggable": [false] });
    const second = changePolicyClaims(first, { type: "add", claims: { "x-ms-sevsnpvm-hostdata": [HOST_A, HOST_B], "x-ms-sevsnpvm-is-debuggable": true } }, names);
    expect(second).toEqual({ "x-ms-sevsnpvm-hostdata": [HOST_A, HOST_B], "x-ms-sevsnpvm-is-debuggable": [true] });
    expect(changePolicyClaims(second, { type: "remove", claims: { "x-ms-sevsnpvm-hostdata": HOST_A, "x-ms-sevsnpvm-is-debuggable": true } }, names)).toEqual({
      "x-ms-sevsnpvm-hostdata": [HOST_B],
    });
    expect(first).toEqual({ "x-ms-sevsnpvm-hostdata": [HOST_A], "x-ms-sevsnpvm-is-debuggable": [false] });
  });

  it("refuses to remove a value the policy does not hold, saying so", () => {
    const error = refusal(() => changePolicyClaims({ "x-ms-sevsnpvm-hostdata": [HOST_A] }, { type: "remove", claims: { "x-ms-sevsnpvm-hostdata": HOST_B } }, names));
    expect(error.absentValue).toBe(true);
    expect(error.message).toBe(`claim x-ms-sevsnpvm-hostdata of the test policy has no value "${HOST_B}" to remove`);
    expect(refusal(() => changePolicyClaims({}, { type: "add", claims: { sub: [] } }, names)).absentValue).toBe(false);
  });
});
