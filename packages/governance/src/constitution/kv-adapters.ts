import type { StateReader, WriteTx } from "@cleanroom/ledger";
import { readVersion } from "../state/json-state.js";
import { isConstitutionWritableMap } from "../state/maps.js";
import type { SandboxKv } from "./sandbox-types.js";

/** Read-only state for validate, resolve, ballots and requiredVoters: writes throw inside the VM. */
export function readOnlyKv(state: StateReader, stage: string): SandboxKv {
  const refuse = (map: string): never => {
    throw new Error(`The constitution may not write '${map}' during ${stage}; only apply() changes state.`);
  };
  return {
    get: (map, key) => state.get(map, key),
    has: (map, key) => state.has(map, key),
    forEach: (map, visit) => state.forEach(map, visit),
    size: (map) => state.size(map),
    version: (map, key) => readVersion(state, map, key),
    set: (map) => refuse(map),
    delete: (map) => refuse(map),
  };
}

/**
 * State for apply(): writes are staged and reach the transaction only through `commit()`, so that an apply that
 * throws half-way leaves nothing behind (the proposal is recorded as Failed instead).
 */
export class StagedKv implements SandboxKv {
  private readonly staged = new Map<string, Map<string, Uint8Array | null>>();

  constructor(private readonly tx: WriteTx) {}

  private stagedValue(map: string, key: string): Uint8Array | null | undefined {
    return this.staged.get(map)?.get(key);
  }

  private stage(map: string, key: string, value: Uint8Array | null): void {
    if (!isConstitutionWritableMap(map)) {
      throw new Error(`The constitution may not write '${map}': apply() may write public:ccf.gov.* maps the service does not own.`);
    }
    let entries = this.staged.get(map);
    if (!entries) this.staged.set(map, (entries = new Map<string, Uint8Array | null>()));
    entries.set(key, value);
  }

  get(map: string, key: string): Uint8Array | undefined {
    const value = this.stagedValue(map, key);
    return value === undefined ? this.tx.get(map, key) : (value ?? undefined);
  }

  has(map: string, key: string): boolean {
    return this.get(map, key) !== undefined;
  }

  set(map: string, key: string, value: Uint8Array): void {
    this.stage(map, key, Uint8Array.from(value));
  }

  delete(map: string, key: string): void {
    this.stage(map, key, null);
  }

  forEach(map: string, visit: (key: string, value: Uint8Array) => void): void {
    const entries = this.staged.get(map);
    if (!entries) {
      this.tx.forEach(map, visit);
      return;
    }
    const merged = new Map<string, Uint8Array>();
    this.tx.forEach(map, (key, value) => merged.set(key, value));
    for (const [key, value] of entries) {
      if (value === null) merged.delete(key);
      else merged.set(key, value);
    }
    for (const key of [...merged.keys()].sort()) visit(key, merged.get(key) as Uint8Array);
  }

  version(map: string, key: string): string | undefined {
    return readVersion(this.tx, map, key);
  }

  size(map: string): number {
    let count = 0;
    this.forEach(map, () => count++);
    return count;
  }

  /** Copies the staged writes into the transaction. */
  commit(): void {
    for (const [map, entries] of this.staged) {
      for (const [key, value] of entries) {
        if (value === null) {
          if (this.tx.has(map, key)) this.tx.delete(map, key);
        } else {
          this.tx.set(map, key, value);
        }
      }
    }
    this.staged.clear();
  }
}
