// Shared by the tests: loads the in-repo copy of the SEV-SNP test vectors (testdata/snp, see its README).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AttestationError } from "./errors.js";

export const VECTORS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "testdata", "snp");

if (!existsSync(VECTORS_DIR)) {
  throw new Error(
    `SEV-SNP test vectors not found at ${VECTORS_DIR}. They are part of the repository ` +
      "(packages/attestation/testdata/snp); restore them from shared/testvectors/snp if they were removed.",
  );
}

export function vectorFile(...path: string[]): Buffer {
  const file = join(VECTORS_DIR, ...path);
  if (!existsSync(file)) throw new Error(`Test vector file missing: ${file}`);
  return readFileSync(file);
}

export function vectorText(...path: string[]): string {
  return vectorFile(...path).toString("utf8");
}

export function vectorJson<T = Record<string, unknown>>(...path: string[]): T {
  return JSON.parse(vectorText(...path)) as T;
}

export const ALLOWALL = "caci-milan-v3-allowall";
export const POLICY2 = "caci-milan-v3-policy2";
export const SIDECAR = "sidecar-milan-v2";
export const DEBUG = "gsg-milan-v2-debug";
export const POSITIVE_VECTORS = [ALLOWALL, POLICY2, SIDECAR] as const;
export const ALL_REPORT_VECTORS = [ALLOWALL, POLICY2, SIDECAR, DEBUG] as const;

/** A fixed clock inside every AMD certificate's validity but after vector 1's UVM leaf expired (2026-05-15). */
export const TEST_NOW = new Date("2026-06-01T00:00:00Z");

/** The subset of expected.json the tests read. */
export interface TcbExpectation {
  u64_hex: string;
  milan_genoa_layout: { boot_loader: number; tee: number; snp: number; microcode: number };
}
export interface ExpectedVector {
  version: number;
  guest_svn: number;
  policy: string;
  policy_decoded: { abi_minor: number; abi_major: number; smt: boolean; migrate_ma: boolean; debug: boolean; single_socket: boolean };
  family_id: string;
  image_id: string;
  vmpl: number;
  signature_algo: number;
  current_tcb: TcbExpectation;
  platform_info: string;
  signer_info: { author_key_en: number; mask_chip_key: number; signing_key: number };
  report_data: string;
  measurement: string;
  host_data: string;
  id_key_digest: string;
  author_key_digest: string;
  report_id: string;
  report_id_ma: string;
  reported_tcb: TcbExpectation;
  cpuid_fam_mod_step_v3: [number, number, number];
  chip_id: string;
  committed_tcb: TcbExpectation;
  current_build_minor_major: [number, number, number];
  committed_build_minor_major: [number, number, number];
  launch_tcb: TcbExpectation;
  sig_r_le: string;
  sig_s_le: string;
  vcek_extensions: Record<string, number | string>;
  vcek_validity: [string, string];
  uvm_endorsements?: {
    iss_did: string;
    feed: string;
    x5chain_sha256_b64url: string[];
    leaf_not_after: string;
    payload: Record<string, string | number>;
  };
}

export function expected(vector: string): ExpectedVector {
  return vectorJson<ExpectedVector>(vector, "expected.json");
}

/** The AttestationError reason `fn` fails with, or "accepted"; any other exception propagates. */
export function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof AttestationError) return error.reason;
    throw error;
  }
  return "accepted";
}
