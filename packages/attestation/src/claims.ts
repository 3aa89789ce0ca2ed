import type { SnpReport } from "./report.js";
import type { TcbComponents } from "./tcb.js";

/**
 * Normalized claims of a verified SEV-SNP report, with the names Microsoft Azure Attestation uses (so release
 * policies written for AKV/MAA read the same here). Byte values are lowercase hex. `x-ms-sevsnpvm-chipid` is ours.
 * The `-svn` claims come from REPORTED_TCB, the TCB the VCEK was issued for.
 */
export interface SnpClaims {
  "x-ms-attestation-type": "sevsnpvm";
  /** Present only when a UVM endorsement was verified against the report. */
  "x-ms-compliance-status"?: "azure-compliant-uvm";
  "x-ms-sevsnpvm-hostdata": string;
  "x-ms-sevsnpvm-launchmeasurement": string;
  "x-ms-sevsnpvm-reportdata": string;
  "x-ms-sevsnpvm-is-debuggable": boolean;
  "x-ms-sevsnpvm-vmpl": number;
  "x-ms-sevsnpvm-guestsvn": number;
  "x-ms-sevsnpvm-bootloader-svn": number;
  "x-ms-sevsnpvm-tee-svn": number;
  "x-ms-sevsnpvm-snpfw-svn": number;
  "x-ms-sevsnpvm-microcode-svn": number;
  "x-ms-sevsnpvm-smt-allowed": boolean;
  "x-ms-sevsnpvm-migration-allowed": boolean;
  "x-ms-sevsnpvm-idkeydigest": string;
  "x-ms-sevsnpvm-authorkeydigest": string;
  "x-ms-sevsnpvm-familyId": string;
  "x-ms-sevsnpvm-imageId": string;
  "x-ms-sevsnpvm-reportid": string;
  "x-ms-sevsnpvm-chipid": string;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** Builds the claims of a report that has passed verification. */
export function snpClaims(report: SnpReport, reportedTcb: TcbComponents, uvmEndorsed: boolean): SnpClaims {
  return {
    "x-ms-attestation-type": "sevsnpvm",
    ...(uvmEndorsed ? { "x-ms-compliance-status": "azure-compliant-uvm" as const } : {}),
    "x-ms-sevsnpvm-hostdata": hex(report.hostData),
    "x-ms-sevsnpvm-launchmeasurement": hex(report.measurement),
    "x-ms-sevsnpvm-reportdata": hex(report.reportData),
    "x-ms-sevsnpvm-is-debuggable": report.policyDecoded.debug,
    "x-ms-sevsnpvm-vmpl": report.vmpl,
    "x-ms-sevsnpvm-guestsvn": report.guestSvn,
    "x-ms-sevsnpvm-bootloader-svn": reportedTcb.bootLoader,
    "x-ms-sevsnpvm-tee-svn": reportedTcb.tee,
    "x-ms-sevsnpvm-snpfw-svn": reportedTcb.snp,
    "x-ms-sevsnpvm-microcode-svn": reportedTcb.microcode,
    "x-ms-sevsnpvm-smt-allowed": report.policyDecoded.smt,
    "x-ms-sevsnpvm-migration-allowed": report.policyDecoded.migrateMa,
    "x-ms-sevsnpvm-idkeydigest": hex(report.idKeyDigest),
    "x-ms-sevsnpvm-authorkeydigest": hex(report.authorKeyDigest),
    "x-ms-sevsnpvm-familyId": hex(report.familyId),
    "x-ms-sevsnpvm-imageId": hex(report.imageId),
    "x-ms-sevsnpvm-reportid": hex(report.reportId),
    "x-ms-sevsnpvm-chipid": hex(report.chipId),
  };
}
