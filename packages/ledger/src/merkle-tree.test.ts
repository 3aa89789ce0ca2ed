import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MerkleTree, rootFromProof, type ProofStep } from "./merkle-tree.js";

const sha = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
};

const leafOf = (i: number): Buffer => sha(Buffer.from(`leaf ${i}`));

// Independent, deliberately naive RFC 6962-shaped tree with CCF's unprefixed hashing, written from the RFC's
// recursive definitions of MTH and PATH.
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function naiveRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!;
  const k = split(leaves.length);
  return sha(naiveRoot(leaves.slice(0, k)), naiveRoot(leaves.slice(k)));
}

function naivePath(m: number, leaves: Buffer[]): ProofStep[] {
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  if (m < k) return [...naivePath(m, leaves.slice(0, k)), { right: naiveRoot(leaves.slice(k)).toString("hex") }];
  return [...naivePath(m - k, leaves.slice(k)), { left: naiveRoot(leaves.slice(0, k)).toString("hex") }];
}

// The fold of CCF's python `ccf.receipt.root`, transcribed.
function ccfRoot(leaf: string, proof: ProofStep[]): string {
  let current: Buffer = Buffer.from(leaf, "hex");
  for (const step of proof) {
    current = "left" in step ? sha(Buffer.from(step.left, "hex"), current) : sha(current, Buffer.from(step.right, "hex"));
  }
  return current.toString("hex");
}

describe("MerkleTree", () => {
  it("matches the naive tree for every size 1..70: every prefix root and every inclusion proof", () => {
    const leaves = Array.from({ length: 70 }, (_, i) => leafOf(i));
    const tree = new MerkleTree();
    for (const leaf of leaves) tree.append(leaf);
    for (let n = 1; n <= 70; n++) {
      const prefix = leaves.slice(0, n);
      const root = naiveRoot(prefix);
      expect(Buffer.from(tree.root(n)).toString("hex"), `root of ${n}`).toBe(root.toString("hex"));
      for (let i = 0; i < n; i++) {
        const path = tree.path(i, n);
        expect(path, `path of leaf ${i} in ${n}`).toEqual(naivePath(i, prefix));
        expect(ccfRoot(leaves[i]!.toString("hex"), path)).toBe(root.toString("hex"));
        expect(rootFromProof(leaves[i]!, path).toString("hex")).toBe(root.toString("hex"));
      }
    }
  });

  it("gives the same answers while it grows as after the fact", () => {
    const tree = new MerkleTree();
    const leaves: Buffer[] = [];
    for (let n = 1; n <= 33; n++) {
      leaves.push(leafOf(n));
      tree.append(leaves[n - 1]!);
      expect(Buffer.from(tree.root()).toString("hex")).toBe(naiveRoot(leaves).toString("hex"));
      expect(tree.size).toBe(n);
    }
  });

  it("hashes interior nodes as sha256(left || right), with no RFC 6962 prefixes", () => {
    const tree = new MerkleTree();
    const [a, b, c] = [leafOf(1), leafOf(2), leafOf(3)];
    tree.append(a);
    expect(Buffer.from(tree.root()).equals(a)).toBe(true);
    tree.append(b);
    expect(Buffer.from(tree.root()).equals(sha(a, b))).toBe(true);
    tree.append(c);
    expect(Buffer.from(tree.root()).equals(sha(sha(a, b), c))).toBe(true);
    expect(tree.path(2, 3)).toEqual([{ left: sha(a, b).toString("hex") }]);
  });

  it("stays correct across storage chunk boundaries", () => {
    const count = 40_000;
    const leaves = Array.from({ length: count }, (_, i) => leafOf(i));
    const tree = new MerkleTree();
    for (const leaf of leaves) tree.append(leaf);
    for (const n of [16_383, 16_384, 16_385, 32_768, 40_000]) {
      const root = naiveRoot(leaves.slice(0, n));
      expect(Buffer.from(tree.root(n)).equals(root), `root of ${n}`).toBe(true);
      for (const i of [0, 16_383, 16_384, n - 1]) {
        if (i >= n) continue;
        expect(rootFromProof(leaves[i]!, tree.path(i, n)).equals(root), `leaf ${i} in ${n}`).toBe(true);
      }
    }
    expect(Buffer.from(tree.leaf(20_000)).equals(leaves[20_000]!)).toBe(true);
  });

  it("returns copies of leaves and roots", () => {
    const tree = new MerkleTree();
    tree.append(leafOf(0));
    tree.append(leafOf(1));
    tree.leaf(0).fill(0);
    tree.root(1).fill(0);
    expect(Buffer.from(tree.leaf(0)).equals(leafOf(0))).toBe(true);
    expect(Buffer.from(tree.root()).equals(sha(leafOf(0), leafOf(1)))).toBe(true);
  });

  it("rejects out-of-range sizes and indices, and leaves that are not 32 bytes", () => {
    const tree = new MerkleTree();
    expect(() => tree.root()).toThrow(RangeError);
    tree.append(leafOf(0));
    expect(() => tree.root(2)).toThrow(RangeError);
    expect(() => tree.path(1, 1)).toThrow(RangeError);
    expect(() => tree.path(0, 0)).toThrow(RangeError);
    expect(() => tree.leaf(-1)).toThrow(RangeError);
    expect(() => tree.append(new Uint8Array(31))).toThrow(RangeError);
  });
});
