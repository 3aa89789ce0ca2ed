// Fuzzing the verifier (issue 4, item 9): 10,000 mutated reports and evidence documents derived from a genuine one.
// A mutation must never crash the verifier (only AttestationError may come out), and must never pass unless it left
// the evidence meaning exactly the same thing (identical claims: e.g. a change in a COSE unprotected header).
import { describe, expect, it } from "vitest";
import { AttestationError } from "./errors.js";
import { ALLOWALL, TEST_NOW, vectorJson, vectorText } from "./test-support.case.js";
import { verifySnpEvidence, type VerifySnpOptions } from "./verify-snp.js";
import { createAmdChainCache } from "./vcek.js";
import { mutate, prng, type Evidence } from "./evidence-mutations.case.js";

const genuine = vectorJson<Evidence>(ALLOWALL, "evidence.json");
const options: VerifySnpOptions = {
  allowedHostData: ["73973b78d70cc68353426de188db5dfc57e5b766e399935fb73a61127ea26d20"],
  reportData: { runtimeData: vectorText(ALLOWALL, "runtime_data.pem") },
  now: TEST_NOW,
  chainCache: createAmdChainCache(),
};

const SEED = Number(process.env.CLEANROOM_FUZZ_SEED ?? 20261124);
const ROUNDS = Number(process.env.CLEANROOM_FUZZ_ROUNDS ?? 10_000);

describe("verifier fuzzing", () => {
  it(`never crashes and never accepts a changed meaning over ${ROUNDS} mutated evidence documents (seed ${SEED})`, () => {
    const reference = JSON.stringify(verifySnpEvidence(genuine, options).claims);
    const random = prng(SEED);
    const reasons = new Map<string, number>();
    let neutral = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const input = mutate(random, genuine);
      try {
        const result = verifySnpEvidence(input, options);
        // Passing is allowed only if nothing that matters changed.
        expect(JSON.stringify(result.claims), `round ${round} passed with different claims`).toBe(reference);
        neutral++;
      } catch (error) {
        if (!(error instanceof AttestationError)) throw new Error(`round ${round}: not an AttestationError: ${String(error)}`, { cause: error });
        expect(error.reason, `round ${round}: ${error.message} ${String((error.cause as Error | undefined)?.stack ?? "")}`).not.toBe("InternalError");
        reasons.set(error.reason, (reasons.get(error.reason) ?? 0) + 1);
      }
    }
    // The mutations must reach deep checks, not only the parser.
    for (const reason of ["MalformedEvidence", "ReportSignature", "ChainSignature", "UvmMalformed", "UvmSignature"]) {
      expect(reasons.get(reason) ?? 0, `${reason} in ${JSON.stringify(Object.fromEntries(reasons))}`).toBeGreaterThan(0);
    }
    expect(neutral).toBeLessThan(ROUNDS / 10);
  }, 180_000); // 10,000 full verifications take ~15 s alone, several times that beside other test files on 2 cores
});
