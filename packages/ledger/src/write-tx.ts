import { assertStorableString, compareKeys } from "./bytes.js";
import { sortWrites, type Write } from "./entry-codec.js";
import { ReservedMapError } from "./errors.js";
import { INTERNAL_MAP_PREFIX } from "./signature-records.js";
import type { StateStore } from "./store.js";
import type { TxId, WriteTx } from "./types.js";

/** What a finished transaction function produced. */
export interface BufferedWrites {
  writes: Write[];
  claimsDigest: Uint8Array | undefined;
}

function copy(value: Uint8Array): Buffer {
  return Buffer.from(value);
}

/**
 * A write transaction that buffers its writes over the store's current state until the transaction function
 * returns. Deleting a key that does not exist is not a write.
 */
export class BufferedWriteTx implements WriteTx {
  readonly #store: StateStore;
  readonly #writes = new Map<string, Map<string, Buffer | null>>();
  #claimsDigest: Uint8Array | undefined;
  #finished = false;

  constructor(store: StateStore) {
    this.#store = store;
  }

  get(map: string, key: string): Uint8Array | undefined {
    this.#checkRead(map, key);
    const buffered = this.#writes.get(map)?.get(key);
    if (buffered !== undefined) return buffered === null ? undefined : copy(buffered);
    return this.#store.get(map, key);
  }

  has(map: string, key: string): boolean {
    this.#checkRead(map, key);
    const buffered = this.#writes.get(map)?.get(key);
    if (buffered !== undefined) return buffered !== null;
    return this.#store.has(map, key);
  }

  /** The id of the last committed or pending write before this transaction (its own writes have no id yet). */
  version(map: string, key: string): TxId | undefined {
    this.#checkRead(map, key);
    return this.#store.version(map, key);
  }

  forEach(map: string, visit: (key: string, value: Uint8Array) => void): void {
    this.#checkRead(map, "");
    const buffered = [...(this.#writes.get(map) ?? new Map<string, Buffer | null>())].sort(([a], [b]) => compareKeys(a, b));
    let next = 0;
    for (const [key, value] of this.#store.entries(map)) {
      for (; next < buffered.length && compareKeys((buffered[next] as [string, Buffer | null])[0], key) < 0; next++) {
        const [bufferedKey, bufferedValue] = buffered[next] as [string, Buffer | null];
        if (bufferedValue) visit(bufferedKey, copy(bufferedValue));
      }
      const pending = buffered[next];
      if (pending?.[0] === key) {
        next++;
        if (pending[1]) visit(key, copy(pending[1]));
        continue;
      }
      visit(key, value);
    }
    for (; next < buffered.length; next++) {
      const [bufferedKey, bufferedValue] = buffered[next] as [string, Buffer | null];
      if (bufferedValue) visit(bufferedKey, copy(bufferedValue));
    }
  }

  size(map: string): number {
    this.#checkRead(map, "");
    let size = this.#store.count(map);
    for (const [key, value] of this.#writes.get(map) ?? []) {
      // A buffered deletion exists only for a stored key (see delete); a buffered set adds a key when not stored.
      if (value === null) size--;
      else if (!this.#store.has(map, key)) size++;
    }
    return size;
  }

  set(map: string, key: string, value: Uint8Array): void {
    this.#checkWrite(map, key);
    if (!(value instanceof Uint8Array)) throw new TypeError("A value must be a Uint8Array.");
    this.#mapWrites(map).set(key, copy(value));
  }

  delete(map: string, key: string): void {
    this.#checkWrite(map, key);
    if (this.#store.has(map, key)) this.#mapWrites(map).set(key, null);
    else this.#writes.get(map)?.delete(key);
  }

  setClaimsDigest(digest: Uint8Array): void {
    this.#checkOpen();
    if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new TypeError("A claims digest must be 32 bytes.");
    this.#claimsDigest = Uint8Array.from(digest);
  }

  /** Ends the transaction: later calls on it throw, since it may have escaped the transaction function. */
  finish(): BufferedWrites {
    this.#finished = true;
    const writes: Write[] = [];
    for (const [map, keys] of this.#writes) {
      for (const [key, value] of keys) writes.push({ map, key, value });
    }
    return { writes: sortWrites(writes), claimsDigest: this.#claimsDigest };
  }

  #mapWrites(map: string): Map<string, Buffer | null> {
    let keys = this.#writes.get(map);
    if (!keys) {
      keys = new Map();
      this.#writes.set(map, keys);
    }
    return keys;
  }

  #checkOpen(): void {
    if (this.#finished) throw new Error("This transaction has finished: use it only inside its transaction function.");
  }

  #checkRead(map: string, key: string): void {
    this.#checkOpen();
    assertStorableString(map, "map name");
    assertStorableString(key, "key");
  }

  #checkWrite(map: string, key: string): void {
    this.#checkRead(map, key);
    if (map.length === 0) throw new TypeError("A map name must not be empty.");
    if (map.startsWith(INTERNAL_MAP_PREFIX)) throw new ReservedMapError(map);
  }
}
