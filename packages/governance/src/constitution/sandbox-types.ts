/**
 * Contract of the constitution sandbox: JavaScript modules (constitution, ballots) evaluated in QuickJS with a
 * CCF-style key-value API, a memory limit, a stack limit and a time limit.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface SandboxLimits {
  /** QuickJS heap limit for one runtime. */
  memoryBytes: number;
  /** Wall-clock limit for one module evaluation or one call. */
  timeoutMs: number;
  /** QuickJS stack limit. */
  stackBytes: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  memoryBytes: 64 * 1024 * 1024,
  timeoutMs: 1000,
  stackBytes: 256 * 1024,
};

/**
 * Host-side key-value access handed to one call. Keys are strings, values bytes. Any method may throw (for example
 * `set` during a read-only call, or on a map the constitution may not write); the sandbox surfaces that as a
 * JavaScript exception inside the VM with the same message.
 */
export interface SandboxKv {
  get(map: string, key: string): Uint8Array | undefined;
  has(map: string, key: string): boolean;
  set(map: string, key: string, value: Uint8Array): void;
  delete(map: string, key: string): void;
  forEach(map: string, visit: (key: string, value: Uint8Array) => void): void;
  size(map: string): number;
  /** `view.seqno` of the transaction that last wrote the key (before the current call's own writes), if any. */
  version(map: string, key: string): string | undefined;
}

export type SandboxErrorKind =
  | "compile" // the module does not parse or its top level throws
  | "runtime" // the called function threw
  | "timeout" // the time limit was hit
  | "memory" // the memory or stack limit was hit
  | "missing-export" // the requested export does not exist or is not a function
  | "invalid-result"; // the result is not JSON-compatible (or not what the caller required)

/** Every failure of sandboxed code, classified, with the JS error message (and stack when available). */
export class SandboxError extends Error {
  override readonly name = "SandboxError";
  constructor(
    readonly kind: SandboxErrorKind,
    message: string,
    readonly jsStack?: string,
  ) {
    super(message);
  }
}
