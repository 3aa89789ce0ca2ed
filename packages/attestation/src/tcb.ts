import { AttestationError, check } from "./errors.js";

/** AMD EPYC generations whose SEV-SNP key hierarchy and TCB layout this package knows. */
export const SNP_PRODUCTS = ["Milan", "Genoa", "Turin"] as const;
export type SnpProduct = (typeof SNP_PRODUCTS)[number];

/**
 * The security version numbers packed into a TCB_VERSION. `fmc` exists only on Turin. Reserved bytes are not part
 * of the comparison.
 */
export interface TcbComponents {
  bootLoader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc?: number;
}

const TCB_COMPONENT_NAMES = ["fmc", "bootLoader", "tee", "snp", "microcode"] as const;

function byteOf(tcb: bigint, index: number): number {
  return Number((tcb >> BigInt(index * 8)) & 0xffn);
}

/** Splits a TCB_VERSION (little-endian u64 as read from the report) into components, per product layout. */
export function tcbComponents(tcb: bigint, product: SnpProduct): TcbComponents {
  if (product === "Turin") {
    // b0 FMC, b1 BOOT_LOADER, b2 TEE, b3 SNP, b4-b6 reserved, b7 MICROCODE
    return { fmc: byteOf(tcb, 0), bootLoader: byteOf(tcb, 1), tee: byteOf(tcb, 2), snp: byteOf(tcb, 3), microcode: byteOf(tcb, 7) };
  }
  // Milan and Genoa: b0 BOOT_LOADER, b1 TEE, b2-b5 reserved, b6 SNP, b7 MICROCODE
  return { bootLoader: byteOf(tcb, 0), tee: byteOf(tcb, 1), snp: byteOf(tcb, 6), microcode: byteOf(tcb, 7) };
}

/** The string form used by THIM `tcbm`, SKR `endorsed_tcb` and CCF: the u64 as 16 lowercase hex digits. */
export function formatTcb(tcb: bigint): string {
  return tcb.toString(16).padStart(16, "0");
}

/** Parses the 16-hex-digit form (case-insensitive). Throws MalformedEvidence on anything else. */
export function parseTcbHex(text: string): bigint {
  check(
    typeof text === "string" && /^[0-9a-fA-F]{16}$/.test(text),
    "MalformedEvidence",
    "A TCB version is 16 hex digits.",
  );
  return BigInt(`0x${text}`);
}

/**
 * Component-wise `actual >= required` (never a numeric comparison of the u64). Returns the first component that is
 * lower, or undefined when every component is at least the required one.
 */
export function firstTcbComponentBelow(actual: TcbComponents, required: TcbComponents): string | undefined {
  for (const name of TCB_COMPONENT_NAMES) {
    const need = required[name];
    if (need === undefined) continue;
    const have = actual[name];
    if (have === undefined || have < need) return name;
  }
  return undefined;
}

/** Human-readable form for error messages. */
export function describeTcb(components: TcbComponents): string {
  return TCB_COMPONENT_NAMES.filter((name) => components[name] !== undefined)
    .map((name) => `${name}=${components[name]}`)
    .join(" ");
}

/**
 * The product a report claims through its CPUID fields (report version 3+). Unknown family/model combinations are
 * rejected (UnknownProduct) rather than guessed.
 */
export function productFromCpuid(cpuid: { family: number; model: number }): SnpProduct {
  const { family, model } = cpuid;
  if (family === 0x19 && model <= 0x0f) return "Milan";
  if (family === 0x19 && ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf))) return "Genoa";
  if (family === 0x1a && model <= 0x1f) return "Turin";
  throw new AttestationError(
    "UnknownProduct",
    `CPUID family 0x${family.toString(16)} model 0x${model.toString(16)} is not a known SEV-SNP product.`,
  );
}

/** The product named by a VCEK productName extension ("Milan-B0", "Genoa-B1", "Turin-B0"; a bare name is accepted). */
export function productFromName(name: string): SnpProduct {
  const base = name.split("-")[0];
  const product = SNP_PRODUCTS.find((candidate) => candidate === base);
  if (product === undefined) throw new AttestationError("UnknownProduct", `VCEK product name "${name}" is not known.`);
  return product;
}
