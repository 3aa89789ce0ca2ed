import { describe, expect, it } from "vitest";
import { AMD_ROOTS } from "./amd-roots.js";
import { type SnpClaims } from "./claims.js";
import { AttestationError } from "./errors.js";
import { type SnpEvidence, parseSnpEvidence } from "./evidence.js";
import { hostDataFromCcePolicy } from "./host-data.js";
import { REPORT_FIELDS, SNP_SIGNED_REGION_END } from "./report.js";
import { expectedReportData } from "./report-data.js";
import { ALLOWALL, DEBUG, POLICY2, POSITIVE_VECTORS, SIDECAR, TEST_NOW, expected, vectorFile, vectorJson, vectorText, reasonOf } from "./test-support.case.js";
import { DEFAULT_UVM_ROOTS } from "./uvm-endorsement.js";
import { type VerifySnpOptions, verifySnpAttestation, verifySnpEvidence } from "./verify-snp.js";
import { createAmdChainCache } from "./vcek.js";

const SIDECAR_ROOTS = [{ ...DEFAULT_UVM_ROOTS[0]!, minimumSvn: 22 }];

/** Options that accept `vector` exactly as deployed (its policy, its bound key when published). */
function optionsFor(vector: string, overrides: Partial<VerifySnpOptions> = {}): VerifySnpOptions {
  return {
    allowedHostData: [hostDataFromCcePolicy(vectorText(vector, "security-policy-base64"))],
    reportData: vector === SIDECAR ? "unchecked" : { runtimeData: vectorText(vector, "runtime_data.pem") },
    ...(vector === SIDECAR ? { uvm: { roots: SIDECAR_ROOTS } } : {}),
    now: TEST_NOW,
    ...overrides,
  };
}

function evidenceOf(vector: string): SnpEvidence {
  const evidence: SnpEvidence = {
    report: vectorFile(vector, "report.bin"),
    endorsementsPem: vectorText(vector, "endorsements.pem"),
  };
  if (vector !== DEBUG) evidence.uvmEndorsements = vectorFile(vector, "uvm_endorsements.cose");
  return evidence;
}

function claimsFromExpected(vector: string): SnpClaims {
  const want = expected(vector);
  const tcb = want.reported_tcb.milan_genoa_layout;
  return {
    "x-ms-attestation-type": "sevsnpvm",
    "x-ms-compliance-status": "azure-compliant-uvm",
    "x-ms-sevsnpvm-hostdata": want.host_data,
    "x-ms-sevsnpvm-launchmeasurement": want.measurement,
    "x-ms-sevsnpvm-reportdata": want.report_data,
    "x-ms-sevsnpvm-is-debuggable": want.policy_decoded.debug,
    "x-ms-sevsnpvm-vmpl": want.vmpl,
    "x-ms-sevsnpvm-guestsvn": want.guest_svn,
    "x-ms-sevsnpvm-bootloader-svn": tcb.boot_loader,
    "x-ms-sevsnpvm-tee-svn": tcb.tee,
    "x-ms-sevsnpvm-snpfw-svn": tcb.snp,
    "x-ms-sevsnpvm-microcode-svn": tcb.microcode,
    "x-ms-sevsnpvm-smt-allowed": want.policy_decoded.smt,
    "x-ms-sevsnpvm-migration-allowed": want.policy_decoded.migrate_ma,
    "x-ms-sevsnpvm-idkeydigest": want.id_key_digest,
    "x-ms-sevsnpvm-authorkeydigest": want.author_key_digest,
    "x-ms-sevsnpvm-familyId": want.family_id,
    "x-ms-sevsnpvm-imageId": want.image_id,
    "x-ms-sevsnpvm-reportid": want.report_id,
    "x-ms-sevsnpvm-chipid": want.chip_id,
  };
}

function mutatedReport(vector: string, mutate: (report: Buffer) => void): SnpEvidence {
  const evidence = evidenceOf(vector);
  const report = Buffer.from(evidence.report);
  mutate(report);
  return { ...evidence, report };
}

describe("verifySnpAttestation: positive vectors", () => {
  it.each(POSITIVE_VECTORS)("accepts %s and yields exactly the expected claims", (vector) => {
    const want = expected(vector);
    const result = verifySnpAttestation(evidenceOf(vector), optionsFor(vector));
    expect(result.claims).toEqual(claimsFromExpected(vector));
    expect(result.product).toBe("Milan");
    expect(result.reportedTcb.hex).toBe(want.reported_tcb.u64_hex);
    expect(Buffer.from(result.vcek.hwId).toString("hex")).toBe(want.chip_id);
    expect(result.uvm).toEqual({
      did: want.uvm_endorsements!.iss_did,
      feed: want.uvm_endorsements!.feed,
      svn: Number(want.uvm_endorsements!.payload["x-ms-sevsnpvm-guestsvn"]),
      launchMeasurement: want.measurement,
    });
  });

  it.each(POSITIVE_VECTORS)("accepts the evidence.json of %s (the SKR /attest/combined shape, endorsed_tcb included)", (vector) => {
    const json = vectorJson(vector, "evidence.json");
    expect(json["endorsed_tcb"]).toBe(expected(vector).reported_tcb.u64_hex);
    expect(verifySnpEvidence(json, optionsFor(vector)).claims).toEqual(claimsFromExpected(vector));
  });

  it("accepts the VCEK alone, completing the chain with the pinned ASK and ARK", () => {
    const evidence = evidenceOf(ALLOWALL);
    const vcekOnly = { ...evidence, endorsementsPem: vectorText(ALLOWALL, "vcek.pem") };
    expect(verifySnpAttestation(vcekOnly, optionsFor(ALLOWALL)).product).toBe("Milan");
  });

  it("omits the compliance claim when the UVM endorsement is optional and absent", () => {
    const { uvmEndorsements: _omitted, ...evidence } = evidenceOf(ALLOWALL);
    expect(reasonOf(() => verifySnpAttestation(evidence, optionsFor(ALLOWALL)))).toBe("UvmMissing");
    const result = verifySnpAttestation(evidence, optionsFor(ALLOWALL, { uvm: { required: false } }));
    expect(result.claims["x-ms-compliance-status"]).toBeUndefined();
    expect(result.uvm).toBeUndefined();
  });

  it("reuses cached chains without caching verdicts", () => {
    const chainCache = createAmdChainCache();
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(ALLOWALL), optionsFor(ALLOWALL, { chainCache })))).toBe("accepted");
    const flipped = mutatedReport(ALLOWALL, (r) => (r[0x090]! ^= 1));
    expect(reasonOf(() => verifySnpAttestation(flipped, optionsFor(ALLOWALL, { chainCache })))).toBe("ReportSignature");
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(ALLOWALL), optionsFor(ALLOWALL, { chainCache, now: new Date("2050-01-01") })))).toBe(
      "CertificateExpired",
    );
  });
});

describe("verifySnpAttestation: negative vectors", () => {
  it("rejects vector 4 (genuine, debug policy) with DebugPolicy, and only accepts it when debug is allowed", () => {
    const options: VerifySnpOptions = { allowedHostData: "unchecked", reportData: "unchecked", now: TEST_NOW };
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(DEBUG), options))).toBe("DebugPolicy");
    const result = verifySnpAttestation(evidenceOf(DEBUG), { ...options, allowDebug: true, uvm: { required: false } });
    expect(result.claims["x-ms-sevsnpvm-is-debuggable"]).toBe(true);
    expect(result.claims["x-ms-sevsnpvm-reportdata"]).toBe(expected(DEBUG).report_data);
  });

  it("rejects vector 3's UVM svn 22 with the default minimum and accepts it when the minimum is lowered", () => {
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(SIDECAR), optionsFor(SIDECAR, { uvm: {} })))).toBe("UvmSvnTooLow");
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(SIDECAR), optionsFor(SIDECAR, { uvm: { roots: SIDECAR_ROOTS } })))).toBe("accepted");
  });

  it("rejects vector 1's report with vector 3's UVM endorsement (measurement mismatch)", () => {
    const evidence = { ...evidenceOf(ALLOWALL), uvmEndorsements: vectorFile(SIDECAR, "uvm_endorsements.cose") };
    expect(reasonOf(() => verifySnpAttestation(evidence, optionsFor(ALLOWALL)))).toBe("UvmMeasurementMismatch");
  });

  it("rejects vector 2's host data against vector 1's allowed policy", () => {
    const options = optionsFor(POLICY2, { allowedHostData: [hostDataFromCcePolicy(vectorText(ALLOWALL, "security-policy-base64"))] });
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(POLICY2), options))).toBe("HostDataNotAllowed");
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(POLICY2), optionsFor(POLICY2, { allowedHostData: [] })))).toBe("HostDataNotAllowed");
    const upper = optionsFor(POLICY2, { allowedHostData: [expected(POLICY2).host_data.toUpperCase()] });
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(POLICY2), upper))).toBe("accepted");
  });

  it("rejects the Genoa or Turin roots presented with a Milan report", () => {
    for (const product of ["Genoa", "Turin"] as const) {
      const roots = AMD_ROOTS[product];
      const evidence = { ...evidenceOf(ALLOWALL), endorsementsPem: vectorText(ALLOWALL, "vcek.pem") + roots.askPem + roots.arkPem };
      expect(reasonOf(() => verifySnpAttestation(evidence, optionsFor(ALLOWALL))), product).toBe("ArkNotPinned");
    }
  });

  it("rejects swapped VCEKs (vector 2's or vector 3's with vector 1's report)", () => {
    for (const other of [POLICY2, SIDECAR]) {
      const evidence = { ...evidenceOf(ALLOWALL), endorsementsPem: vectorText(other, "endorsements.pem") };
      expect(reasonOf(() => verifySnpAttestation(evidence, optionsFor(ALLOWALL))), other).toBe("ChipIdMismatch");
    }
  });

  it("rejects reordered or incomplete endorsements", () => {
    const blocks = vectorText(ALLOWALL, "endorsements.pem").match(/-----BEGIN[\s\S]+?-----END CERTIFICATE-----\n?/g);
    const [vcek, ask, ark] = blocks as [string, string, string];
    const cases: [string, string][] = [
      [ask + vcek + ark, "VcekExtension"],
      [vcek + ark + ask, "ArkNotPinned"],
      [vcek + ask, "MalformedEvidence"],
      [vcek + ask + ark + ark, "MalformedEvidence"],
      ["", "MalformedEvidence"],
      [`${vcek}junk\n${ask}${ark}`, "MalformedEvidence"],
      [vcek.replace("MII", "MIX"), "MalformedEvidence"],
    ];
    for (const [endorsementsPem, reason] of cases) {
      expect(reasonOf(() => verifySnpAttestation({ ...evidenceOf(ALLOWALL), endorsementsPem }, optionsFor(ALLOWALL)))).toBe(reason);
    }
  });

  it("rejects a report whose CPUID names another product than the VCEK", () => {
    expect(reasonOf(() => verifySnpAttestation(mutatedReport(ALLOWALL, (r) => (r[0x189] = 0x11)), optionsFor(ALLOWALL)))).toBe("ProductMismatch");
    const turin = mutatedReport(ALLOWALL, (r) => ((r[0x188] = 0x1a), (r[0x189] = 0x02)));
    expect(reasonOf(() => verifySnpAttestation(turin, optionsFor(ALLOWALL)))).toBe("ProductMismatch");
    expect(reasonOf(() => verifySnpAttestation(mutatedReport(ALLOWALL, (r) => (r[0x188] = 0x17)), optionsFor(ALLOWALL)))).toBe("UnknownProduct");
  });

  it("rejects truncated and extended reports with ReportSize", () => {
    const report = vectorFile(ALLOWALL, "report.bin");
    for (const bytes of [report.subarray(0, 1183), Buffer.concat([report, Buffer.alloc(1)]), report.subarray(0, 0x2a0)]) {
      expect(reasonOf(() => verifySnpAttestation({ ...evidenceOf(ALLOWALL), report: bytes }, optionsFor(ALLOWALL)))).toBe("ReportSize");
    }
  });

  // Where a flipped bit is caught by a check that runs before the signature, the more specific reason is allowed.
  const EARLIER_REASONS: Readonly<Record<string, readonly string[]>> = {
    version: ["ReportVersion", "ReportReservedNonZero", "UnknownProduct"],
    policy: ["ReportReservedNonZero"],
    signature_algo: ["SignatureAlgorithm"],
    signer_info: ["ChipKeyMasked", "SigningKeyNotVcek", "ReportReservedNonZero"],
    reported_tcb: ["TcbBelowVcek"],
    // In a version 2 report the CPUID bytes are reserved.
    cpuid_fam_id: ["UnknownProduct", "ReportReservedNonZero"],
    cpuid_mod_id: ["UnknownProduct", "ProductMismatch", "ReportReservedNonZero"],
    cpuid_step: ["ReportReservedNonZero"],
    chip_id: ["ChipIdMismatch"],
    launch_mit_vector: ["ReportReservedNonZero"],
    current_mit_vector: ["ReportReservedNonZero"],
  };

  for (const vector of [ALLOWALL, SIDECAR]) {
    it(`rejects a flipped bit in every field of the signed region of ${vector}`, () => {
      const chainCache = createAmdChainCache();
      const seen = new Set<string>();
      for (const field of REPORT_FIELDS.filter((f) => f.offset < SNP_SIGNED_REGION_END)) {
        const allowed = ["ReportSignature", ...(field.reserved ? ["ReportReservedNonZero"] : []), ...(EARLIER_REASONS[field.name] ?? [])];
        const positions = [field.offset * 8, (field.offset + field.size) * 8 - 1, field.offset * 8 + 3];
        for (const bit of positions) {
          const evidence = mutatedReport(vector, (r) => (r[bit >> 3]! ^= 1 << (bit & 7)));
          const reason = reasonOf(() => verifySnpAttestation(evidence, optionsFor(vector, { chainCache })));
          expect(allowed, `${field.name} bit ${bit - field.offset * 8}: ${reason}`).toContain(reason);
          seen.add(reason);
        }
      }
      expect(seen).toContain("ReportSignature");
    });
  }

  it("rejects flipped R or S, non-zero high bytes of R/S and a non-zero signature tail with ReportSignature", () => {
    for (const offset of [0x2a0, 0x2a0 + 47, 0x2e8, 0x2e8 + 47, 0x2a0 + 48, 0x2e8 + 71, 0x330, 0x49f]) {
      const evidence = mutatedReport(ALLOWALL, (r) => (r[offset]! ^= 0x01));
      expect(reasonOf(() => verifySnpAttestation(evidence, optionsFor(ALLOWALL))), offset.toString(16)).toBe("ReportSignature");
    }
    const swapped = mutatedReport(ALLOWALL, (r) => {
      const rPart = Buffer.from(r.subarray(0x2a0, 0x2e8));
      r.copy(r, 0x2a0, 0x2e8, 0x330);
      rPart.copy(r, 0x2e8);
    });
    expect(reasonOf(() => verifySnpAttestation(swapped, optionsFor(ALLOWALL)))).toBe("ReportSignature");
  });

  it("rejects mask_chip_key and signing keys other than the VCEK", () => {
    expect(reasonOf(() => verifySnpAttestation(mutatedReport(ALLOWALL, (r) => (r[0x048] = 0b10)), optionsFor(ALLOWALL)))).toBe("ChipKeyMasked");
    for (const key of [1, 2, 7]) {
      const evidence = mutatedReport(ALLOWALL, (r) => (r[0x048] = key << 2));
      expect(reasonOf(() => verifySnpAttestation(evidence, optionsFor(ALLOWALL))), String(key)).toBe("SigningKeyNotVcek");
    }
  });

  it("rejects an endorsed_tcb that differs from REPORTED_TCB", () => {
    const json = vectorJson(ALLOWALL, "evidence.json");
    expect(reasonOf(() => verifySnpEvidence({ ...json, endorsed_tcb: "db18000000000005" }, optionsFor(ALLOWALL)))).toBe("EndorsedTcbMismatch");
    expect(reasonOf(() => verifySnpEvidence({ ...json, endorsed_tcb: "DB18000000000004" }, optionsFor(ALLOWALL)))).toBe("accepted");
    expect(reasonOf(() => verifySnpEvidence({ ...json, endorsed_tcb: "db1800000000004" }, optionsFor(ALLOWALL)))).toBe("MalformedEvidence");
  });

  it("checks the report_data binding: runtime_data.pem passes, another key fails", () => {
    expect(expectedReportData(vectorText(ALLOWALL, "runtime_data.pem")).toString("hex")).toBe(expected(ALLOWALL).report_data);
    const other = optionsFor(ALLOWALL, { reportData: { runtimeData: vectorText(POLICY2, "runtime_data.pem") } });
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(ALLOWALL), other))).toBe("ReportDataMismatch");
    const trailingNewline = optionsFor(ALLOWALL, { reportData: { runtimeData: `${vectorText(ALLOWALL, "runtime_data.pem")}\n` } });
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(ALLOWALL), trailingNewline))).toBe("ReportDataMismatch");
    const asBytes = optionsFor(ALLOWALL, { reportData: { runtimeData: vectorFile(ALLOWALL, "runtime_data.pem") } });
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(ALLOWALL), asBytes))).toBe("accepted");
  });

  it("computes host data as SHA-256 of the base64-decoded CCE policy", () => {
    for (const vector of POSITIVE_VECTORS) {
      expect(hostDataFromCcePolicy(vectorText(vector, "security-policy-base64")), vector).toBe(expected(vector).host_data);
    }
    expect(hostDataFromCcePolicy(vectorText("security-context-sample", "security-policy-base64"))).toBe(
      "4f4448c67f3c8dfc8de8a5e37125d807dadcc41f06cf23f615dbd52eec777d10",
    );
    expect(() => hostDataFromCcePolicy("not base64!")).toThrow(AttestationError);
  });

  it("enforces a configured minimum TCB component-wise", () => {
    const cases: [string, string][] = [
      ["db18000000000004", "accepted"],
      ["7308000000000003", "accepted"],
      ["db18000000000005", "TcbBelowMinimum"],
      ["db19000000000004", "TcbBelowMinimum"],
      ["dc18000000000004", "TcbBelowMinimum"],
      ["0000000000000100", "TcbBelowMinimum"],
    ];
    for (const [minimum, reason] of cases) {
      const options = optionsFor(ALLOWALL, { minimumTcb: { Milan: minimum } });
      expect(reasonOf(() => verifySnpAttestation(evidenceOf(ALLOWALL), options)), minimum).toBe(reason);
    }
    const otherProduct = optionsFor(ALLOWALL, { minimumTcb: { Genoa: "ffffffffffffffff" } });
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(ALLOWALL), otherProduct))).toBe("accepted");
  });

  it("checks AMD certificate validity with the injected clock while ignoring the expired UVM leaf", () => {
    const uvmLeafNotAfter = new Date(expected(ALLOWALL).uvm_endorsements!.leaf_not_after);
    expect(TEST_NOW.getTime()).toBeGreaterThan(uvmLeafNotAfter.getTime());
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(ALLOWALL), optionsFor(ALLOWALL)))).toBe("accepted");
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(ALLOWALL), optionsFor(ALLOWALL, { now: new Date("2050-01-01T00:00:00Z") })))).toBe(
      "CertificateExpired",
    );
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(ALLOWALL), optionsFor(ALLOWALL, { now: new Date("2020-01-01T00:00:00Z") })))).toBe(
      "CertificateNotYetValid",
    );
  });

  it("fails closed: an exception from a misbehaving option is InternalError, never a pass", () => {
    const hostile = {
      some: () => {
        throw new Error("boom");
      },
    } as unknown as string[];
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(ALLOWALL), optionsFor(ALLOWALL, { allowedHostData: hostile })))).toBe("InternalError");
    expect(reasonOf(() => verifySnpAttestation(evidenceOf(ALLOWALL), optionsFor(ALLOWALL, { now: new Date(Number.NaN) })))).toBe("InternalError");
  });
});

describe("parseSnpEvidence", () => {
  it("rejects malformed evidence with MalformedEvidence", () => {
    const json = vectorJson(ALLOWALL, "evidence.json");
    const cases: unknown[] = [
      null,
      [],
      "x",
      {},
      { ...json, evidence: undefined },
      { ...json, evidence: 42 },
      { ...json, evidence: "@@@@" },
      { ...json, endorsements: "" },
      { ...json, uvm_endorsements: 7 },
      { ...json, uvm_endorsements: "a" },
      { ...json, endorsed_tcb: 5 },
    ];
    for (const input of cases) {
      expect(reasonOf(() => parseSnpEvidence(input)), JSON.stringify(input)?.slice(0, 60)).toBe("MalformedEvidence");
      expect(reasonOf(() => verifySnpEvidence(input, optionsFor(ALLOWALL)))).toBe("MalformedEvidence");
    }
  });

  it("decodes the SKR shape", () => {
    const parsed = parseSnpEvidence(vectorJson(ALLOWALL, "evidence.json"));
    expect(Buffer.from(parsed.report).equals(vectorFile(ALLOWALL, "report.bin"))).toBe(true);
    expect(parsed.endorsementsPem).toBe(vectorText(ALLOWALL, "endorsements.pem"));
    expect(Buffer.from(parsed.uvmEndorsements!).equals(vectorFile(ALLOWALL, "uvm_endorsements.cose"))).toBe(true);
    expect(parsed.endorsedTcb).toBe("db18000000000004");
  });
});
