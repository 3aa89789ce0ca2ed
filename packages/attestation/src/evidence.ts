import { check } from "./errors.js";
import { decodeBase64Strict } from "./base64.js";

/**
 * SEV-SNP evidence as the SKR sidecar's `/attest/combined` returns it and CCF / azure-cleanroom accept it, decoded.
 */
export interface SnpEvidence {
  /** The raw ATTESTATION_REPORT. */
  report: Uint8Array;
  /** PEM: VCEK, then ASK and ARK (or the VCEK alone; the pinned ASK/ARK are then used). */
  endorsementsPem: string;
  /** The UVM endorsement COSE_Sign1, when given. */
  uvmEndorsements?: Uint8Array;
  /** The TCB the host claims the VCEK is for (16 hex digits); only checked for consistency with the report. */
  endorsedTcb?: string;
}

/**
 * Parses `{evidence, endorsements, uvm_endorsements?, endorsed_tcb?}` (the first three base64, endorsed_tcb 16 hex
 * digits). Unknown members are ignored. Any shape problem is MalformedEvidence.
 */
export function parseSnpEvidence(input: unknown): SnpEvidence {
  check(typeof input === "object" && input !== null && !Array.isArray(input), "MalformedEvidence", "Evidence must be a JSON object.");
  const fields = input as Record<string, unknown>;
  const { evidence, endorsements, uvm_endorsements: uvm, endorsed_tcb: endorsedTcb } = fields;
  check(typeof evidence === "string" && evidence !== "", "MalformedEvidence", "evidence must be a base64 string.");
  check(typeof endorsements === "string" && endorsements !== "", "MalformedEvidence", "endorsements must be a base64 string.");
  const result: SnpEvidence = {
    report: decodeBase64Strict(evidence, "evidence"),
    endorsementsPem: decodeBase64Strict(endorsements, "endorsements").toString("utf8"),
  };
  if (uvm !== undefined && uvm !== null && uvm !== "") {
    check(typeof uvm === "string", "MalformedEvidence", "uvm_endorsements must be a base64 string.");
    result.uvmEndorsements = decodeBase64Strict(uvm, "uvm_endorsements");
  }
  if (endorsedTcb !== undefined && endorsedTcb !== null && endorsedTcb !== "") {
    check(
      typeof endorsedTcb === "string" && /^[0-9a-fA-F]{16}$/.test(endorsedTcb),
      "MalformedEvidence",
      "endorsed_tcb must be 16 hex digits.",
    );
    result.endorsedTcb = endorsedTcb.toLowerCase();
  }
  return result;
}
