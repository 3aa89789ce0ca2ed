import { createHash } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPORT_FIELDS, SNP_REPORT_SIZE, checkReportSigner, parseSnpReport } from "./report.js";
import { formatTcb } from "./tcb.js";
import { ALL_REPORT_VECTORS, VECTORS_DIR, expected, vectorFile, vectorText, reasonOf } from "./test-support.case.js";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

describe("test vectors", () => {
  it("are all present and unchanged (SHA256SUMS)", () => {
    const lines = vectorText("SHA256SUMS").trim().split("\n");
    const listed = new Set<string>();
    for (const line of lines) {
      const [digest, path] = line.split(/\s+\*?/);
      expect(path, line).toBeDefined();
      listed.add(path!.replace(/^\.\//, ""));
      expect(createHash("sha256").update(vectorFile(path!)).digest("hex"), path).toBe(digest);
    }
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const full = join(dir, name);
        return statSync(full).isDirectory() ? walk(full) : [relative(VECTORS_DIR, full)];
      });
    const present = walk(VECTORS_DIR).filter((path) => path !== "SHA256SUMS" && path !== "README.md");
    expect(new Set(present)).toEqual(listed);
  });
});

describe("REPORT_FIELDS", () => {
  it("covers the 1184 bytes in order without gaps", () => {
    let offset = 0;
    for (const field of REPORT_FIELDS) {
      expect(field.offset, field.name).toBe(offset);
      offset += field.size;
    }
    expect(offset).toBe(SNP_REPORT_SIZE);
  });
});

describe("parseSnpReport", () => {
  it.each(ALL_REPORT_VECTORS)("decodes every field of %s as expected.json says", (vector) => {
    const want = expected(vector);
    const report = parseSnpReport(vectorFile(vector, "report.bin"));
    expect(report.version).toBe(want.version);
    expect(report.guestSvn).toBe(want.guest_svn);
    expect(`0x${report.policy.toString(16).padStart(16, "0")}`).toBe(want.policy);
    expect(report.policyDecoded).toMatchObject({
      abiMinor: want.policy_decoded.abi_minor,
      abiMajor: want.policy_decoded.abi_major,
      smt: want.policy_decoded.smt,
      migrateMa: want.policy_decoded.migrate_ma,
      debug: want.policy_decoded.debug,
      singleSocket: want.policy_decoded.single_socket,
    });
    expect(hex(report.familyId)).toBe(want.family_id);
    expect(hex(report.imageId)).toBe(want.image_id);
    expect(report.vmpl).toBe(want.vmpl);
    expect(report.signatureAlgo).toBe(want.signature_algo);
    expect(formatTcb(report.currentTcb)).toBe(want.current_tcb.u64_hex);
    expect(`0x${report.platformInfo.toString(16)}`).toBe(want.platform_info);
    expect(report.authorKeyEn).toBe(want.signer_info.author_key_en === 1);
    expect(report.maskChipKey).toBe(want.signer_info.mask_chip_key === 1);
    expect(report.signingKey).toBe(want.signer_info.signing_key);
    expect(hex(report.reportData)).toBe(want.report_data);
    expect(hex(report.measurement)).toBe(want.measurement);
    expect(hex(report.hostData)).toBe(want.host_data);
    expect(hex(report.idKeyDigest)).toBe(want.id_key_digest);
    expect(hex(report.authorKeyDigest)).toBe(want.author_key_digest);
    expect(hex(report.reportId)).toBe(want.report_id);
    expect(hex(report.reportIdMa)).toBe(want.report_id_ma);
    expect(formatTcb(report.reportedTcb)).toBe(want.reported_tcb.u64_hex);
    const [family, model, stepping] = want.cpuid_fam_mod_step_v3;
    expect(report.cpuid).toEqual(want.version >= 3 ? { family, model, stepping } : undefined);
    expect(hex(report.chipId)).toBe(want.chip_id);
    expect(formatTcb(report.committedTcb)).toBe(want.committed_tcb.u64_hex);
    const [build, minor, major] = want.current_build_minor_major;
    expect(report.currentVersion).toEqual({ build, minor, major });
    const [cBuild, cMinor, cMajor] = want.committed_build_minor_major;
    expect(report.committedVersion).toEqual({ build: cBuild, minor: cMinor, major: cMajor });
    expect(formatTcb(report.launchTcb)).toBe(want.launch_tcb.u64_hex);
    expect(report.launchMitVector).toBeUndefined();
    expect(hex(report.signatureR)).toBe(want.sig_r_le);
    expect(hex(report.signatureS)).toBe(want.sig_s_le);
    expect(report.signedBytes.length).toBe(0x2a0);
    expect(() => checkReportSigner(report)).not.toThrow();
  });

  it("rejects truncated, extended and empty reports with ReportSize", () => {
    const report = vectorFile("caci-milan-v3-allowall", "report.bin");
    expect(reasonOf(() => parseSnpReport(report.subarray(0, 1183)))).toBe("ReportSize");
    expect(reasonOf(() => parseSnpReport(Buffer.concat([report, Buffer.alloc(1)])))).toBe("ReportSize");
    expect(reasonOf(() => parseSnpReport(new Uint8Array(0)))).toBe("ReportSize");
  });

  it("rejects unknown versions with ReportVersion", () => {
    for (const version of [0, 1, 4, 6, 0x100]) {
      const report = Buffer.from(vectorFile("caci-milan-v3-allowall", "report.bin"));
      report.writeUInt32LE(version, 0);
      expect(reasonOf(() => parseSnpReport(report)), `version ${version}`).toBe("ReportVersion");
    }
  });

  it("rejects non-zero reserved fields, policy bits and CPUID in v2 with ReportReservedNonZero", () => {
    const mutations: [string, (report: Buffer) => void][] = [
      ["reserved 0x04c", (r) => (r[0x04c] = 1)],
      ["reserved 0x18b", (r) => (r[0x19f] = 0x80)],
      ["reserved 0x1eb", (r) => (r[0x1eb] = 1)],
      ["reserved 0x1ef", (r) => (r[0x1ef] = 1)],
      ["reserved 0x208", (r) => (r[0x29f] = 1)],
      ["mitigation vector before v5", (r) => (r[0x1f8] = 1)],
      ["policy bit 63", (r) => (r[0x00f] = 0x80)],
      ["policy bit 26", (r) => (r[0x00b] = 0x04)],
      ["policy bit 17 clear", (r) => (r[0x00a] = r[0x00a]! & ~0x02)],
      ["signer info bit 5", (r) => (r[0x048] = 0x20)],
    ];
    for (const [name, mutate] of mutations) {
      const report = Buffer.from(vectorFile("caci-milan-v3-allowall", "report.bin"));
      mutate(report);
      expect(reasonOf(() => parseSnpReport(report)), name).toBe("ReportReservedNonZero");
    }
    const v2 = Buffer.from(vectorFile("sidecar-milan-v2", "report.bin"));
    v2[0x188] = 0x19;
    expect(reasonOf(() => parseSnpReport(v2))).toBe("ReportReservedNonZero");
  });

  it("accepts the layout of a version 5 report and exposes the mitigation vectors", () => {
    const report = Buffer.from(vectorFile("caci-milan-v3-allowall", "report.bin"));
    report.writeUInt32LE(5, 0);
    report[0x1f8] = 3;
    report[0x200] = 1;
    const parsed = parseSnpReport(report);
    expect(parsed.launchMitVector).toBe(3n);
    expect(parsed.currentMitVector).toBe(1n);
  });

  it("checkReportSigner rejects masked chip keys, non-VCEK signers and other signature algorithms", () => {
    const base = vectorFile("caci-milan-v3-allowall", "report.bin");
    const mutated = (mutate: (report: Buffer) => void) => {
      const report = Buffer.from(base);
      mutate(report);
      return parseSnpReport(report);
    };
    expect(reasonOf(() => checkReportSigner(mutated((r) => (r[0x048] = 0b010))))).toBe("ChipKeyMasked");
    expect(reasonOf(() => checkReportSigner(mutated((r) => r.fill(0, 0x1a0, 0x1e0))))).toBe("ChipKeyMasked");
    expect(reasonOf(() => checkReportSigner(mutated((r) => (r[0x048] = 1 << 2))))).toBe("SigningKeyNotVcek");
    expect(reasonOf(() => checkReportSigner(mutated((r) => (r[0x048] = 7 << 2))))).toBe("SigningKeyNotVcek");
    expect(reasonOf(() => checkReportSigner(mutated((r) => (r[0x034] = 2))))).toBe("SignatureAlgorithm");
  });
});
