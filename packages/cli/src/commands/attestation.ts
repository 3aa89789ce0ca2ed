import type { Command } from "commander";
import { AttestationError, hostDataFromCcePolicy, parseSnpEvidence, parseSnpReport, virtualRootPin, type SnpReport } from "@cleanroom/attestation";
import { formatRecord, formatTable } from "../io.js";
import { jsonArgument, type CommandContext } from "../context.js";
import type { Run } from "./types.js";
import { registerVirtualPlatformCommands } from "./virtual-platform.js";

interface VerifyOptions {
  runtimeData?: string;
  hostData: string[];
  ccePolicy?: string;
  policy?: string;
  minTcb?: string;
  minUvmSvn?: string;
  at?: string;
  virtualRoot: string[];
}

/** The checks of `verifySnpAttestation`, in the order it makes them (see packages/attestation/README.md). */
const CHECKS = [
  ["evidence", "evidence shape and base64", ["MalformedEvidence"]],
  ["report", "report size, version and reserved fields", ["ReportSize", "ReportVersion", "ReportReservedNonZero"]],
  ["signer", "signed by the VCEK with ECDSA P-384, chip key not masked", ["SignatureAlgorithm", "SigningKeyNotVcek", "ChipKeyMasked"]],
  ["amd-chain", "ARK pinned (or a listed virtual root), ARK → ASK → VCEK signatures and validity", ["VcekExtension", "UnknownProduct", "ProductMismatch", "ArkNotPinned", "ChainSignature", "CertificateExpired", "CertificateNotYetValid"]],
  ["chip-and-tcb", "chip id and TCB match the VCEK", ["ChipIdMismatch", "TcbBelowVcek"]],
  ["signature", "report signature", ["ReportSignature"]],
  ["minimum-tcb", "TCB at least the configured minimum, endorsed TCB consistent", ["TcbBelowMinimum", "EndorsedTcbMismatch"]],
  ["guest-policy", "no debug, no migration agent, VMPL 0", ["DebugPolicy", "MigrationAgent", "VmplNotZero"]],
  ["uvm-endorsement", "UVM endorsement: signature, did:x509 issuer, feed, SVN, measurement (none on a virtual platform)", ["UvmMissing", "UvmMalformed", "UvmSignature", "UvmIssuer", "UvmMeasurementMismatch", "UvmFeed", "UvmSvnTooLow"]],
  ["host-data", "host data allowed", ["HostDataNotAllowed"]],
  ["report-data", "report data binds the runtime data", ["ReportDataMismatch"]],
] as const;

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** Every decoded field, as printable values. */
function reportFields(report: SnpReport): Record<string, unknown> {
  return {
    version: report.version,
    guestSvn: report.guestSvn,
    policy: `0x${report.policy.toString(16)}`,
    ...Object.fromEntries(Object.entries(report.policyDecoded).map(([name, value]) => [`policy.${name}`, value])),
    vmpl: report.vmpl,
    signatureAlgo: report.signatureAlgo,
    signingKey: report.signingKey === 0 ? "VCEK" : report.signingKey === 1 ? "VLEK" : `none (${report.signingKey})`,
    maskChipKey: report.maskChipKey,
    authorKeyEn: report.authorKeyEn,
    cpuid: report.cpuid ? `family 0x${report.cpuid.family.toString(16)} model 0x${report.cpuid.model.toString(16)} stepping ${report.cpuid.stepping}` : "absent (version 2)",
    platformInfo: `0x${report.platformInfo.toString(16)}`,
    currentTcb: report.currentTcb.toString(16).padStart(16, "0"),
    reportedTcb: report.reportedTcb.toString(16).padStart(16, "0"),
    committedTcb: report.committedTcb.toString(16).padStart(16, "0"),
    launchTcb: report.launchTcb.toString(16).padStart(16, "0"),
    measurement: hex(report.measurement),
    hostData: hex(report.hostData),
    reportData: hex(report.reportData),
    familyId: hex(report.familyId),
    imageId: hex(report.imageId),
    idKeyDigest: hex(report.idKeyDigest),
    authorKeyDigest: hex(report.authorKeyDigest),
    reportId: hex(report.reportId),
    chipId: hex(report.chipId),
  };
}

async function verify(ctx: CommandContext, file: string, options: VerifyOptions): Promise<void> {
  const { verifySnpEvidence } = await import("@cleanroom/attestation");
  const evidence = jsonArgument(ctx, `@${file}`, "the evidence file");
  const allowedHostData = [...options.hostData, ...(options.ccePolicy ? [hostDataFromCcePolicy(ctx.readFile(options.ccePolicy).trim())] : [])];
  const policy = options.policy ? (jsonArgument(ctx, options.policy, "--policy") as Record<string, unknown[]>) : undefined;
  let fields: Record<string, unknown> | undefined;
  try {
    fields = reportFields(parseSnpReport(parseSnpEvidence(evidence).report));
  } catch {
    // The verifier reports why the evidence does not parse.
  }
  const checks: Array<{ check: string; what: string; result: string; detail?: string }> = [];
  let claims: Record<string, unknown> | undefined;
  let failure: AttestationError | undefined;
  let rootOfTrust: string | undefined;
  const virtualRoots = options.virtualRoot.map((file) => virtualRootPin(ctx.readFile(file)));
  if (virtualRoots.length > 0) ctx.io.stderr("WARNING: --virtual-root: reports signed by a DEVELOPMENT root of trust are accepted; such a report proves nothing about confidentiality.\n");
  try {
    const result = verifySnpEvidence(evidence, {
      allowedHostData: allowedHostData.length > 0 ? allowedHostData : "unchecked",
      reportData: options.runtimeData ? { runtimeData: ctx.readFile(options.runtimeData) } : "unchecked",
      ...(options.minTcb ? { minimumTcb: { Milan: options.minTcb, Genoa: options.minTcb, Turin: options.minTcb } } : {}),
      ...(options.at ? { now: new Date(options.at) } : {}),
      virtualRoots,
    });
    claims = result.claims as unknown as Record<string, unknown>;
    rootOfTrust = result.rootOfTrust;
    if (result.uvm) fields = { ...fields, "uvm.did": result.uvm.did, "uvm.feed": result.uvm.feed, "uvm.svn": result.uvm.svn };
  } catch (error) {
    if (!(error instanceof AttestationError)) throw error;
    failure = error;
  }
  let failedAt = failure ? CHECKS.findIndex(([, , reasons]) => (reasons as readonly string[]).includes(failure.reason)) : -1;
  if (failure && failedAt < 0) failedAt = 0;
  for (const [index, [check, what]] of CHECKS.entries()) {
    const unchecked = (check === "host-data" && allowedHostData.length === 0) || (check === "report-data" && !options.runtimeData);
    const result = failure ? (index < failedAt ? "passed" : index === failedAt ? "FAILED" : "not reached") : unchecked ? "not checked" : "passed";
    checks.push({ check, what, result, ...(failure && index === failedAt ? { detail: `${failure.reason}: ${failure.message}` } : {}) });
  }
  const policyMismatches = claims && policy ? Object.entries(policy).filter(([claim, allowed]) => !allowed.includes(claims[claim])).map(([claim]) => claim) : [];
  if (claims && policy) {
    checks.push({ check: "policy", what: "claims match the clean-room policy", result: policyMismatches.length === 0 ? "passed" : "FAILED", ...(policyMismatches.length ? { detail: `mismatched: ${policyMismatches.join(", ")}` } : {}) });
  }
  const ok = failure === undefined && policyMismatches.length === 0;
  ctx.exitCode = ok ? 0 : 1;
  const output = { ok, ...(rootOfTrust ? { rootOfTrust } : {}), checks, ...(fields ? { report: fields } : {}), ...(claims ? { claims } : {}) };
  ctx.printer.value(output, () =>
    [
      `verdict: ${ok ? "VERIFIED" : "REJECTED"}${rootOfTrust === "virtual" ? " by a VIRTUAL PLATFORM (development root of trust, not confidential)" : ""}\n`,
      formatTable(checks, [
        { header: "CHECK", value: (c) => c.check },
        { header: "RESULT", value: (c) => c.result },
        { header: "WHAT", value: (c) => c.detail ?? c.what },
      ]),
      fields ? `\nreport fields\n${formatRecord(fields)}` : "",
      claims ? `\nclaims\n${formatRecord(claims)}` : "",
    ].join(""),
  );
}

export function registerAttestationCommands(program: Command, run: Run): void {
  const attestation = program.command("attestation").description("Inspect and verify attestation evidence offline.");
  run(
    attestation
      .command("verify")
      .description("Verify SEV-SNP evidence ({evidence, endorsements, uvm_endorsements, endorsed_tcb?}) and print every decoded field and check.")
      .argument("<evidence>", "evidence JSON file")
      .option("--runtime-data <file>", "the data bound into REPORT_DATA (e.g. the workload's public key PEM)")
      .option("--host-data <hex>", "an allowed host data (repeatable)", (value: string, previous: string[]) => [...previous, value], [])
      .option("--cce-policy <file>", "allow the host data of this base64 CCE policy")
      .option("--policy <json>", "clean-room policy claims to match, e.g. {\"x-ms-sevsnpvm-hostdata\": [\"…\"]} (JSON or @file)")
      .option("--min-tcb <hex>", "minimum TCB, 16 hex digits (e.g. db18000000000004)")
      .option("--at <iso-date>", "check certificate validity at this time instead of now")
      .option("--virtual-root <cert>", "DEVELOPMENT ONLY: also accept this virtual platform root certificate (repeatable)", (value: string, previous: string[]) => [...previous, value], []),
    (ctx, file: string, options: VerifyOptions) => verify(ctx, file, options),
  );
  registerVirtualPlatformCommands(attestation, run);
}
