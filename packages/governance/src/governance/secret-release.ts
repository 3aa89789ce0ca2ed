import { createPublicKey, type KeyObject } from "node:crypto";
import { AttestationError, verifySnpEvidence, type AmdChainCache, type SnpClaims, type UvmEndorsementCache } from "@cleanroom/attestation";
import { wrapToRsaKey } from "@cleanroom/crypto";
import type { StateReader } from "@cleanroom/ledger";
import { ApiError, type AttestationMode, type CleanRoomIdentity, type PolicyClaims } from "@cleanroom/protocol";
import { getCleanRoomPolicies } from "../state/contracts.js";
import { delegateClaims, type DelegateRef } from "./delegates.js";
import { isContractSubject } from "./oidc-issuer.js";
import { openSecret, type SecretsKey } from "./secrets.js";

/**
 * Report data of genuine reports whose bound private key is public (the replayable test vector of the reference's
 * "insecure-virtual" mode): anyone can unwrap what is released to them, so the service accepts them only when it
 * runs with the explicit insecure flag, and marks every release.
 */
const PUBLISHED_TEST_KEY_DIGESTS = new Set(["2097b3fdd5aba9a1812c0c3adf575d4ff385ea5e08efb002a75b5c3f5bd2b787"]);

export interface AttestationSettings {
  /** Accept releases bound to published test keys (development only). */
  insecureVirtualAttestation: boolean;
  /**
   * Development roots of trust of virtual platforms (ARK SPKI SHA-256), accepted besides AMD's. Only ever non-empty
   * together with `insecureVirtualAttestation` (the service refuses to start otherwise).
   */
  virtualRoots: readonly string[];
  chainCache: AmdChainCache;
  uvmCache: UvmEndorsementCache;
  clock: () => number;
}

export interface ReleaseRequest {
  attestation?: unknown;
  encrypt?: { publicKey?: string | undefined } | undefined;
  platform?: string | undefined;
}

/** What was verified about the caller: the key to wrap to and the attested claims. */
export interface VerifiedWorkload {
  publicKey: KeyObject;
  claims: SnpClaims;
  attestationMode: AttestationMode;
  /** Which policy admitted it: the contract's, or the delegate policy of the resource asked for. */
  admittedBy: "contract" | "delegate";
}

function failed(message: string): ApiError {
  return new ApiError("VerifySnpAttestationFailed", message);
}

/** Worded for whoever sends an anonymous request: a workload, or a member or user who forgot their credentials. */
export function attestationMissing(): ApiError {
  return new ApiError(
    "AttestationMissing",
    "The request carries no attestation: anonymous requests must come from an attested workload (members and users present a certificate or token).",
  );
}

/** The attestation of a request, which must be SEV-SNP (`snp-caci`): AttestationMissing / UnsupportedPlatform. */
export function checkAttestation(request: Pick<ReleaseRequest, "attestation" | "platform"> | undefined): unknown {
  if (request?.attestation === undefined || request.attestation === null) throw attestationMissing();
  if (request.platform !== undefined && request.platform !== "snp-caci") {
    throw new ApiError("UnsupportedPlatform", `The attestation platform '${request.platform}' is not supported; use snp-caci.`);
  }
  return request.attestation;
}

/** Request shape checks (reference codes); malformed requests are refused before any attestation work. */
export function checkReleaseRequest(request: ReleaseRequest): { attestation: unknown; publicKeyPem: string } {
  const attestation = checkAttestation(request);
  const encoded = request.encrypt?.publicKey;
  if (!encoded) throw new ApiError("EncryptionMissing", "The request carries no encrypt.publicKey: the key its attestation binds, to which anything released is wrapped.");
  const publicKeyPem = Buffer.from(encoded, "base64").toString("utf8");
  return { attestation, publicKeyPem };
}

/** The first claim of the policy whose value is not one of its allowed values (reference §4.1), described. */
function policyMismatch(policy: PolicyClaims, claims: SnpClaims): string | undefined {
  for (const [claim, allowed] of Object.entries(policy)) {
    const value = (claims as unknown as Record<string, unknown>)[claim];
    if (!allowed.some((candidate) => candidate === value)) return `${claim} is ${JSON.stringify(value ?? null)}`;
  }
  return undefined;
}

/**
 * Which policy admits the claims: the contract's, else (for endpoints that consult one) the delegate policy of the
 * resource asked for. An empty delegate admits nobody, like an empty contract policy.
 */
function admission(state: StateReader, contractId: string, policy: PolicyClaims, claims: SnpClaims, delegate: DelegateRef | undefined): VerifiedWorkload["admittedBy"] {
  const mismatch = policyMismatch(policy, claims);
  if (mismatch === undefined) return "contract";
  if (delegate === undefined) throw failed(`Attestation claims do not match the contract policy: ${mismatch}.`);
  const delegated = delegateClaims(state, contractId, delegate);
  if (Object.keys(delegated).length > 0 && policyMismatch(delegated, claims) === undefined) return "delegate";
  throw failed(`Attestation claims do not match the contract policy, or the delegated policies: ${mismatch}.`);
}

/** An RSA public key PEM of at least 2048 bits, the form of every key a workload binds into its report. */
export function parseWorkloadKey(pem: string): KeyObject | undefined {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === "rsa" && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verifies that the caller is a workload the contract's clean-room policy (or, given `delegate`, that delegate's
 * policy) admits, with its key bound into the report: the evidence (report, AMD chain, UVM endorsement), the report
 * data binding to `publicKeyPem`, then the claims. Throws VerifySnpAttestationFailed, ReportDataMismatch or
 * EncryptionMissing.
 */
export function verifyWorkload(
  state: StateReader,
  settings: AttestationSettings,
  contractId: string,
  attestation: unknown,
  publicKeyPem: string,
  delegate?: DelegateRef,
): VerifiedWorkload {
  const publicKey = parseWorkloadKey(publicKeyPem);
  if (publicKey === undefined) throw new ApiError("EncryptionMissing", "encrypt.publicKey is not base64 of an RSA public key PEM of at least 2048 bits.");
  return { ...verifyAdmitted(state, settings, contractId, attestation, publicKeyPem, delegate), publicKey };
}

/**
 * Verifies the evidence and matches it against the contract's policy, or `delegate`'s. With `boundPem`, the report
 * data must bind it; without (consent checks, whose answer is not secret), the report data is not checked — as in
 * the reference. A contract without a policy admits nobody, whatever its delegates say.
 */
export function verifyAdmitted(
  state: StateReader,
  settings: AttestationSettings,
  contractId: string,
  attestation: unknown,
  boundPem: string | undefined,
  delegate?: DelegateRef,
): Omit<VerifiedWorkload, "publicKey"> {
  const policy = getCleanRoomPolicies(state, contractId)["snp-caci"];
  if (!policy || Object.keys(policy).length === 0) throw failed("The clean room policy is missing. Please propose a new clean room policy.");
  let claims: SnpClaims;
  let virtual: boolean;
  try {
    const result = verifySnpEvidence(attestation, {
      allowedHostData: "unchecked",
      reportData: boundPem === undefined ? "unchecked" : { runtimeData: boundPem },
      now: new Date(settings.clock()),
      chainCache: settings.chainCache,
      uvmCache: settings.uvmCache,
      virtualRoots: settings.insecureVirtualAttestation ? settings.virtualRoots : [],
    });
    claims = result.claims;
    virtual = result.rootOfTrust === "virtual";
  } catch (error) {
    if (!(error instanceof AttestationError)) throw error;
    if (error.reason === "ReportDataMismatch") throw new ApiError("ReportDataMismatch", "Attestation report_data value did not match calculated value.");
    throw failed(`The attestation does not verify (${error.reason}): ${error.message}`);
  }
  // Judged by the report itself, bound key or not: its report data names a key whose private half is public.
  const replayed = PUBLISHED_TEST_KEY_DIGESTS.has(claims["x-ms-sevsnpvm-reportdata"].slice(0, 64));
  if (replayed && !settings.insecureVirtualAttestation) {
    throw failed("The attestation is a replay of a published test vector (its key is public); the service accepts it only when started with --insecure-virtual-attestation.");
  }
  const admittedBy = admission(state, contractId, policy, claims, delegate);
  return { claims, attestationMode: virtual ? "virtual-platform" : replayed ? "replayed-test-vector" : "sevsnp", admittedBy };
}

/** The verified workload as the writer or actor the audit log records. */
export function cleanRoomIdentity(workload: Pick<VerifiedWorkload, "claims" | "attestationMode">): CleanRoomIdentity {
  const hostData = workload.claims["x-ms-sevsnpvm-hostdata"];
  return { kind: "cleanroom", id: hostData, hostData, attestationMode: workload.attestationMode };
}

/** `value` wrapped (CKM_RSA_AES_KEY_WRAP) to the verified workload's key, base64. */
export function wrapFor(workload: VerifiedWorkload, value: Uint8Array): string {
  try {
    return wrapToRsaKey(workload.publicKey, value).toString("base64");
  } catch (error) {
    throw new ApiError("EncryptionMissing", `encrypt.publicKey cannot receive the value: ${(error as Error).message}`);
  }
}

/** The secret wrapped to the verified workload's key. */
export function wrapSecretFor(state: StateReader, key: SecretsKey, contractId: string, secretId: string, workload: VerifiedWorkload): string {
  const value = openSecret(state, key, contractId, secretId);
  if (value === undefined) throw new ApiError("SecretNotFound", `Contract ${contractId} has no secret ${secretId}.`);
  return wrapFor(workload, Buffer.from(value, "utf8"));
}

/** Default and longest lifetimes of tokens issued to attested workloads. */
export const DEFAULT_WORKLOAD_TOKEN_SECONDS = 300;

/** The subject a workload of `contractId` asks for, which must be one of the contract's (see isContractSubject). */
export function checkTokenSubject(contractId: string, sub: string | undefined): string {
  if (sub === undefined) throw new ApiError("InvalidInput", "The token request needs a 'sub' query parameter.");
  if (!isContractSubject(contractId, sub)) {
    throw new ApiError("InvalidInput", `A workload of contract ${contractId} may only ask for the subject '${contractId}' or '${contractId}/<name>', not '${sub}'.`);
  }
  return sub;
}

/**
 * The anonymous branch of a runtime-option status check: the caller must be a workload the contract's policy
 * admits (reference §2.1: consent checks by the clean room). The report is bound to `encrypt.publicKey` when given.
 */
export function verifyConsentChecker(state: StateReader, settings: AttestationSettings, contractId: string, request: ReleaseRequest | undefined): void {
  const attestation = checkAttestation(request);
  const encoded = request?.encrypt?.publicKey;
  verifyAdmitted(state, settings, contractId, attestation, encoded ? Buffer.from(encoded, "base64").toString("utf8") : undefined);
}
