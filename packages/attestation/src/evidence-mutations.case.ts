// Mutations of genuine SEV-SNP evidence, shared by the verifier's fuzz test and the release endpoint's.

/** Deterministic per seed, so a failing input can be replayed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Evidence = Record<string, unknown> & { evidence: string; endorsements: string; uvm_endorsements: string };

function mutateBytes(random: () => number, bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  switch (Math.floor(random() * 5)) {
    case 0: {
      // Flip one to eight bits anywhere.
      const flips = 1 + Math.floor(random() * 8);
      for (let i = 0; i < flips; i++) {
        const at = Math.floor(random() * copy.length);
        copy[at] = (copy[at] ?? 0) ^ (1 << Math.floor(random() * 8));
      }
      return copy;
    }
    case 1:
      return copy.subarray(0, Math.floor(random() * copy.length));
    case 2:
      return Buffer.concat([copy, Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)))]);
    case 3: {
      // Overwrite a run with random bytes.
      const start = Math.floor(random() * copy.length);
      for (let i = start; i < Math.min(copy.length, start + 1 + Math.floor(random() * 32)); i++) copy[i] = Math.floor(random() * 256);
      return copy;
    }
    default: {
      // Swap two runs (e.g. certificate order, fields inside the report).
      const length = 1 + Math.floor(random() * 48);
      const a = Math.floor(random() * Math.max(1, copy.length - length));
      const b = Math.floor(random() * Math.max(1, copy.length - length));
      const runA = Buffer.from(copy.subarray(a, a + length));
      copy.copy(copy, a, b, b + length);
      runA.copy(copy, b);
      return copy;
    }
  }
}

export function mutate(random: () => number, genuine: Evidence): unknown {
  const field = (["evidence", "endorsements", "uvm_endorsements", "structure"] as const)[Math.floor(random() * 4)] ?? "structure";
  if (field === "structure") {
    const variants: unknown[] = [
      null,
      [],
      "evidence",
      { ...genuine, evidence: 42 },
      { ...genuine, endorsements: undefined },
      { ...genuine, endorsed_tcb: "db18000000000005" },
      { ...genuine, endorsed_tcb: "not hex" },
      { ...genuine, evidence: `${genuine.evidence}!` },
      { ...genuine, endorsements: genuine.uvm_endorsements, uvm_endorsements: genuine.endorsements },
      { evidence: genuine.evidence },
    ];
    return variants[Math.floor(random() * variants.length)];
  }
  const raw = Buffer.from(genuine[field], "base64");
  return { ...genuine, [field]: mutateBytes(random, raw).toString("base64") };
}

