// Shared fixtures for the sandbox tests: a Map-backed SandboxKv test double and helpers to capture SandboxErrors.
import { expect } from "vitest";
import { SandboxError, type SandboxErrorKind, type SandboxKv } from "./sandbox-types.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A SandboxKv over nested Maps; `readOnly` lists maps whose writes throw, like the service's read-only stages. */
export class MemoryKv implements SandboxKv {
  readonly maps = new Map<string, Map<string, Uint8Array>>();
  /** Versions keyed `map\0key`, set by tests that exercise cleanroom.kv.version. */
  readonly versions = new Map<string, string>();

  constructor(private readonly readOnly: readonly string[] = []) {}

  private map(name: string): Map<string, Uint8Array> {
    const existing = this.maps.get(name);
    if (existing !== undefined) return existing;
    const created = new Map<string, Uint8Array>();
    this.maps.set(name, created);
    return created;
  }

  private writable(name: string): Map<string, Uint8Array> {
    if (this.readOnly.includes(name)) throw new Error(`map ${name} is read-only in resolve`);
    return this.map(name);
  }

  get(map: string, key: string): Uint8Array | undefined {
    return this.map(map).get(key);
  }
  has(map: string, key: string): boolean {
    return this.map(map).has(key);
  }
  set(map: string, key: string, value: Uint8Array): void {
    this.writable(map).set(key, Uint8Array.from(value));
  }
  delete(map: string, key: string): void {
    this.writable(map).delete(key);
  }
  version(map: string, key: string): string | undefined {
    return this.versions.get(`${map}\0${key}`);
  }
  forEach(map: string, visit: (key: string, value: Uint8Array) => void): void {
    // Ascending key order, like the ledger.
    for (const [key, value] of [...this.map(map)].sort(([a], [b]) => (a < b ? -1 : 1))) visit(key, value);
  }
  size(map: string): number {
    return this.map(map).size;
  }

  setText(map: string, key: string, value: string): void {
    this.map(map).set(key, encoder.encode(value));
  }
  getText(map: string, key: string): string | undefined {
    const value = this.map(map).get(key);
    return value === undefined ? undefined : decoder.decode(value);
  }
}

/** Runs `action`, expects a SandboxError of `kind`, and returns it for further checks. */
export function expectSandboxError(action: () => unknown, kind: SandboxErrorKind): SandboxError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SandboxError);
  const error = caught as SandboxError;
  expect({ kind: error.kind, message: error.message }).toMatchObject({ kind });
  return error;
}
