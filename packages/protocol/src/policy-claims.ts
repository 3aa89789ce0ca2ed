import type { PolicyClaims, PolicyType } from "./app.js";

// The one definition of what a clean-room policy may say and how a change to one applies. The service uses it for
// delegate policies; the constitution reaches it through `cleanroom.policyClaims` for `set_clean_room_policy`, so a
// claim the verifiers never produce is refused the same way everywhere.

/**
 * Only claims the service's verifiers actually produce: a policy on any other claim could never match (a flaw of
 * the reference, which accepted names it never extracted).
 */
export const POLICY_CLAIM_NAMES: Readonly<Record<PolicyType, readonly string[]>> = {
  "snp-caci": [
    "x-ms-attestation-type",
    "x-ms-compliance-status",
    "x-ms-sevsnpvm-hostdata",
    "x-ms-sevsnpvm-launchmeasurement",
    "x-ms-sevsnpvm-is-debuggable",
    "x-ms-sevsnpvm-vmpl",
    "x-ms-sevsnpvm-guestsvn",
    "x-ms-sevsnpvm-bootloader-svn",
    "x-ms-sevsnpvm-tee-svn",
    "x-ms-sevsnpvm-snpfw-svn",
    "x-ms-sevsnpvm-microcode-svn",
    "x-ms-sevsnpvm-smt-allowed",
    "x-ms-sevsnpvm-migration-allowed",
    "x-ms-sevsnpvm-idkeydigest",
    "x-ms-sevsnpvm-familyId",
    "x-ms-sevsnpvm-imageId",
    "x-ms-sevsnpvm-chipid",
  ],
  jwt: ["oid", "appid", "tid", "sub", "iss"],
};

/** Claims the verifier renders as lowercase hex: a value of another form could never match. */
const HEX_CLAIM_LENGTHS: Readonly<Record<string, number>> = {
  "x-ms-sevsnpvm-hostdata": 64,
  "x-ms-sevsnpvm-launchmeasurement": 96,
  "x-ms-sevsnpvm-idkeydigest": 96,
  "x-ms-sevsnpvm-familyId": 32,
  "x-ms-sevsnpvm-imageId": 32,
  "x-ms-sevsnpvm-chipid": 128,
};
const MAX_VALUES = 64;
const MAX_STRING = 512;

export type PolicyClaimValue = string | boolean | number;
/** A change as proposed: per claim, one value or a list of them. */
export type PolicyClaimChanges = Record<string, PolicyClaimValue | PolicyClaimValue[]>;

/** A refused policy change; `absentValue` when a removal names a value the policy does not hold. */
export class PolicyClaimsError extends Error {
  override readonly name = "PolicyClaimsError";
  constructor(
    message: string,
    readonly absentValue = false,
  ) {
    super(message);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const same = (a: PolicyClaimValue, b: PolicyClaimValue) => JSON.stringify(a) === JSON.stringify(b);

function claimValues(claim: string, value: unknown, field: string): PolicyClaimValue[] {
  const values: unknown[] = Array.isArray(value) ? value : [value];
  if (values.length === 0 || values.length > MAX_VALUES) throw new PolicyClaimsError(`${field} must hold 1 to ${MAX_VALUES} values`);
  for (const [index, item] of values.entries()) {
    const at = Array.isArray(value) ? `${field}[${index}]` : field;
    if (typeof item === "boolean" || (typeof item === "number" && Number.isInteger(item) && item >= 0)) continue;
    if (typeof item !== "string") throw new PolicyClaimsError(`${at} must be a string`);
    if (item.length < 1 || item.length > MAX_STRING) throw new PolicyClaimsError(`${at} must have 1 to ${MAX_STRING} characters`);
    const hexLength = HEX_CLAIM_LENGTHS[claim];
    if (hexLength !== undefined && !new RegExp(`^[0-9a-f]{${hexLength}}$`).test(item)) {
      throw new PolicyClaimsError(`${at} must be ${hexLength} lowercase hex characters`);
    }
  }
  const checked = values as PolicyClaimValue[];
  if (new Set(checked.map((v) => JSON.stringify(v))).size !== checked.length) throw new PolicyClaimsError(`${field} has duplicates`);
  return checked;
}

/**
 * Checks a policy type and the claims of a change to a policy of that type; returns the type. `prefix` is how the
 * caller's fields are named in messages (`args.` in proposals).
 */
export function checkPolicyClaims(policyType: unknown, claims: unknown, prefix = ""): PolicyType {
  if (typeof policyType !== "string" || !Object.hasOwn(POLICY_CLAIM_NAMES, policyType)) {
    throw new PolicyClaimsError(`${prefix}policyType must be one of ${Object.keys(POLICY_CLAIM_NAMES).join(", ")}`);
  }
  const type = policyType as PolicyType;
  if (!isPlainObject(claims)) throw new PolicyClaimsError(`${prefix}claims must be an object`);
  const names = Object.keys(claims);
  if (names.length === 0) throw new PolicyClaimsError(`${prefix}claims must name at least one claim`);
  const known = POLICY_CLAIM_NAMES[type];
  for (const name of names) {
    if (!known.includes(name)) throw new PolicyClaimsError(`${prefix}claims.${name} is not a ${type} claim (known: ${known.join(", ")})`);
    claimValues(name, claims[name], `${prefix}claims.${name}`);
  }
  return type;
}

/**
 * The claims of `policyName` after the change: `add` unions values (booleans replace: a claim is either true or
 * false); `remove` drops values, refuses to drop one that is not there, and drops a claim left empty. The claims
 * must have passed {@link checkPolicyClaims}.
 */
export function changePolicyClaims(
  current: PolicyClaims,
  change: { type: "add" | "remove"; claims: PolicyClaimChanges },
  names: { prefix?: string; policyName: string },
): PolicyClaims {
  const policy: PolicyClaims = { ...current };
  for (const [claim, value] of Object.entries(change.claims)) {
    const values = claimValues(claim, value, `${names.prefix ?? ""}claims.${claim}`);
    const existing = policy[claim] ?? [];
    if (change.type === "add") {
      policy[claim] = values.every((v) => typeof v === "boolean") ? values : [...existing, ...values.filter((v) => !existing.some((e) => same(e, v)))];
      continue;
    }
    for (const v of values) {
      if (!existing.some((e) => same(e, v))) {
        throw new PolicyClaimsError(`claim ${claim} of ${names.policyName} has no value ${JSON.stringify(v)} to remove`, true);
      }
    }
    const left = existing.filter((e) => !values.some((v) => same(e, v)));
    if (left.length === 0) delete policy[claim];
    else policy[claim] = left;
  }
  return policy;
}
