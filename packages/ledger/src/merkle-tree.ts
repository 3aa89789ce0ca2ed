import { sha256, toHex } from "./bytes.js";

/** One step of an inclusion proof, in CCF's receipt format: the sibling's hash and which side it sits on. */
export type ProofStep = { left: string } | { right: string };

const HASH = 32;
// Hashes per chunk: large enough that a million leaves need few chunks, small enough that the partly filled last
// chunk of each level wastes little. The first chunk of a level grows from a few hashes so that small ledgers and
// the upper levels (which hold few nodes) stay small.
const CHUNK_SHIFT = 14;
const CHUNK_HASHES = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_HASHES - 1;
const FIRST_CHUNK_HASHES = 8;

/** SHA-256(left ‖ right): CCF's interior node, without RFC 6962's 0x01 prefix. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  return sha256(left, right);
}

/**
 * Hashes of the complete, aligned subtrees of one height (level 0 = leaves), stored contiguously in chunks: about
 * 32 bytes per node instead of one object per node.
 */
class Level {
  readonly #chunks: Uint8Array[] = [];
  count = 0;

  push(hash: Uint8Array): void {
    const index = this.count;
    const chunkIndex = index >>> CHUNK_SHIFT;
    const offset = (index & CHUNK_MASK) * HASH;
    let chunk = this.#chunks[chunkIndex];
    if (chunk === undefined) {
      chunk = new Uint8Array((chunkIndex === 0 ? FIRST_CHUNK_HASHES : CHUNK_HASHES) * HASH);
      this.#chunks.push(chunk);
    } else if (offset === chunk.length) {
      // Only the first chunk can be short: double it up to the full chunk size.
      const grown = new Uint8Array(Math.min(chunk.length * 2, CHUNK_HASHES * HASH));
      grown.set(chunk);
      chunk = grown;
      this.#chunks[chunkIndex] = chunk;
    }
    chunk.set(hash, offset);
    this.count++;
  }

  /** A view into the level's storage: callers must copy it if they keep it. */
  at(index: number): Uint8Array {
    const chunk = this.#chunks[index >>> CHUNK_SHIFT];
    if (chunk === undefined || index >= this.count) throw new RangeError(`No node ${index} at this level.`);
    const offset = (index & CHUNK_MASK) * HASH;
    return chunk.subarray(offset, offset + HASH);
  }
}

/**
 * An append-only Merkle tree with RFC 6962's shape (a tree of n leaves splits at the largest power of two smaller
 * than n) and CCF's hashing (interior node = SHA-256(left ‖ right), leaves used as given).
 *
 * Because of that shape, the tree over the first n leaves is a right fold of the complete aligned subtrees named by
 * the binary digits of n, so storing every complete aligned subtree once (about 64 bytes per leaf in total) gives
 * the root of any prefix and any inclusion proof in O(log n) hashes.
 */
export class MerkleTree {
  readonly #levels: Level[] = [new Level()];

  /** Number of leaves. */
  get size(): number {
    return (this.#levels[0] as Level).count;
  }

  /** Appends a 32-byte leaf hash. */
  append(leaf: Uint8Array): void {
    if (leaf.length !== HASH) throw new RangeError("A Merkle leaf is a 32-byte hash.");
    let index = this.size;
    let level = 0;
    this.#level(0).push(leaf);
    // Each leaf that completes a pair completes a subtree one level up, possibly several levels in a row.
    while ((index & 1) === 1) {
      const parent = hashChildren(this.#level(level).at(index - 1), this.#level(level).at(index));
      level++;
      index >>>= 1;
      this.#level(level).push(parent);
    }
  }

  /** The leaf at `index` (a copy). */
  leaf(index: number): Uint8Array {
    this.#checkIndex(index, this.size);
    return this.#level(0).at(index).slice();
  }

  /** Root of the tree over the first `size` leaves (default: all). */
  root(size: number = this.size): Uint8Array {
    if (!Number.isSafeInteger(size) || size < 1 || size > this.size) {
      throw new RangeError(`Cannot compute the root of ${size} leaves (the tree has ${this.size}).`);
    }
    return this.#rangeRoot(0, size);
  }

  /**
   * Inclusion proof for leaf `index` in the tree over the first `size` leaves, ordered from the leaf upwards, so that
   * folding `sha256(left ‖ current)` / `sha256(current ‖ right)` over it yields `root(size)` (CCF's
   * `ccf.receipt.root`).
   */
  path(index: number, size: number = this.size): ProofStep[] {
    if (!Number.isSafeInteger(size) || size < 1 || size > this.size) {
      throw new RangeError(`Cannot prove inclusion in a tree of ${size} leaves (the tree has ${this.size}).`);
    }
    this.#checkIndex(index, size);
    const topDown: ProofStep[] = [];
    let start = 0;
    let remaining = size;
    let offset = index;
    while (remaining > 1) {
      const splitLevel = splitLevelOf(remaining);
      const split = 2 ** splitLevel;
      if (offset < split) {
        topDown.push({ right: toHex(this.#rangeRoot(start + split, remaining - split)) });
        // Inside a complete subtree every further sibling is a stored node.
        for (let level = splitLevel - 1; level >= 0; level--) {
          const node = Math.floor((start + offset) / 2 ** level);
          const sibling = node ^ 1;
          const hash = toHex(this.#level(level).at(sibling));
          topDown.push((sibling & 1) === 1 ? { right: hash } : { left: hash });
        }
        break;
      }
      topDown.push({ left: toHex(this.#level(splitLevel).at(start / split)) });
      start += split;
      offset -= split;
      remaining -= split;
    }
    return topDown.reverse();
  }

  /** Root over leaves [start, start + size), where `start` is aligned to every power of two in `size`'s binary form. */
  #rangeRoot(start: number, size: number): Uint8Array {
    const subtrees: Uint8Array[] = [];
    let position = start;
    let width = 1;
    let level = 0;
    while (width * 2 <= size) {
      width *= 2;
      level++;
    }
    for (let left = size; level >= 0; level--, width /= 2) {
      if (left < width) continue;
      subtrees.push(this.#level(level).at(position / width));
      position += width;
      left -= width;
    }
    let acc = subtrees[subtrees.length - 1] as Uint8Array;
    for (let i = subtrees.length - 2; i >= 0; i--) acc = hashChildren(subtrees[i] as Uint8Array, acc);
    return acc.slice();
  }

  #level(level: number): Level {
    let found = this.#levels[level];
    if (found === undefined) {
      found = new Level();
      this.#levels[level] = found;
    }
    return found;
  }

  #checkIndex(index: number, size: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new RangeError(`Leaf ${index} is not in a tree of ${size} leaves.`);
    }
  }
}

/** RFC 6962's split: the exponent of the largest power of two strictly smaller than `n` (n >= 2). */
function splitLevelOf(n: number): number {
  let level = 0;
  while (2 ** (level + 1) < n) level++;
  return level;
}

/** Recomputes a root from a leaf and a proof exactly as CCF's `ccf.receipt.root` does. */
export function rootFromProof(leaf: Uint8Array, proof: readonly ProofStep[]): Buffer {
  let current: Buffer = Buffer.from(leaf);
  for (const step of proof) {
    current = "left" in step
      ? hashChildren(Buffer.from(step.left, "hex"), current)
      : hashChildren(current, Buffer.from(step.right, "hex"));
  }
  return current;
}
