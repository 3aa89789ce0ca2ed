import { describe, expect, it } from "vitest";
import { AttestationError } from "./errors.js";
import {
  firstTcbComponentBelow,
  formatTcb,
  parseTcbHex,
  productFromCpuid,
  productFromName,
  tcbComponents,
} from "./tcb.js";
import { ALL_REPORT_VECTORS, expected } from "./test-support.case.js";

describe("TCB", () => {
  it.each(ALL_REPORT_VECTORS)("splits the reported TCB of %s per the Milan/Genoa layout", (vector) => {
    const want = expected(vector).reported_tcb;
    const tcb = parseTcbHex(want.u64_hex);
    expect(formatTcb(tcb)).toBe(want.u64_hex);
    const { boot_loader, tee, snp, microcode } = want.milan_genoa_layout;
    expect(tcbComponents(tcb, "Milan")).toEqual({ bootLoader: boot_loader, tee, snp, microcode });
    expect(tcbComponents(tcb, "Genoa")).toEqual({ bootLoader: boot_loader, tee, snp, microcode });
  });

  it("uses the Turin layout (FMC, boot loader, TEE, SNP in the low bytes)", () => {
    // LE bytes b0..b7 = 01 02 03 04 00 00 00 05
    const tcb = parseTcbHex("0500000004030201");
    expect(tcbComponents(tcb, "Turin")).toEqual({ fmc: 1, bootLoader: 2, tee: 3, snp: 4, microcode: 5 });
  });

  it("compares component-wise, not as a number", () => {
    const milan = (text: string) => tcbComponents(parseTcbHex(text), "Milan");
    expect(firstTcbComponentBelow(milan("db18000000000004"), milan("db18000000000004"))).toBeUndefined();
    expect(firstTcbComponentBelow(milan("db18000000000004"), milan("7308000000000003"))).toBeUndefined();
    // Numerically larger (microcode 0xdc) but the boot loader is lower.
    expect(firstTcbComponentBelow(milan("dc18000000000003"), milan("db18000000000004"))).toBe("bootLoader");
    expect(firstTcbComponentBelow(milan("db17000000000004"), milan("db18000000000004"))).toBe("snp");
    // Reserved bytes are ignored.
    expect(firstTcbComponentBelow(milan("db18000000000004"), milan("db18ffffffff0004"))).toBeUndefined();
    expect(firstTcbComponentBelow({ bootLoader: 1, tee: 1, snp: 1, microcode: 1 }, { bootLoader: 1, tee: 1, snp: 1, microcode: 1, fmc: 1 })).toBe("fmc");
  });

  it("rejects malformed TCB strings", () => {
    for (const text of ["", "db1800000000000", "db18000000000004a", "xb18000000000004", " db1800000000004"]) {
      expect(() => parseTcbHex(text), text).toThrow(AttestationError);
    }
  });

  it("detects products from CPUID and VCEK names, rejecting unknown ones", () => {
    expect(productFromCpuid({ family: 0x19, model: 0x01 })).toBe("Milan");
    expect(productFromCpuid({ family: 0x19, model: 0x11 })).toBe("Genoa");
    expect(productFromCpuid({ family: 0x19, model: 0xa0 })).toBe("Genoa");
    expect(productFromCpuid({ family: 0x1a, model: 0x02 })).toBe("Turin");
    for (const cpuid of [{ family: 0x17, model: 0x31 }, { family: 0x19, model: 0x50 }, { family: 0, model: 0 }]) {
      expect(() => productFromCpuid(cpuid)).toThrow(expect.objectContaining({ reason: "UnknownProduct" }));
    }
    expect(productFromName("Milan-B0")).toBe("Milan");
    expect(productFromName("Genoa-B1")).toBe("Genoa");
    expect(productFromName("Turin-B0")).toBe("Turin");
    expect(() => productFromName("Rome-B0")).toThrow(expect.objectContaining({ reason: "UnknownProduct" }));
  });
});
