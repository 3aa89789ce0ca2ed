import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/** Verifies ES384 signatures, possibly on other threads. */
export interface SignatureVerifier {
  /** `toBeSigned` is the COSE Sig_structure; `signature` is IEEE P1363 (r ‖ s); `publicKey` is SPKI DER. */
  verify(toBeSigned: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): Promise<boolean>;
  close(): Promise<void>;
}

// Plain CommonJS evaluated in each worker, so the pool works the same from TypeScript sources (tests) and dist.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createPublicKey, verify } = require("node:crypto");
const keys = new Map();
function keyFor(der) {
  const id = Buffer.from(der).toString("base64");
  let key = keys.get(id);
  if (key === undefined) {
    if (keys.size > 4096) keys.clear();
    key = createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
    keys.set(id, key);
  }
  return key;
}
parentPort.on("message", (batch) => {
  const results = new Uint8Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const [toBeSigned, signature, publicKey] = batch[i];
    try {
      results[i] = verify("sha384", toBeSigned, { key: keyFor(publicKey), dsaEncoding: "ieee-p1363" }, signature) ? 1 : 0;
    } catch {
      results[i] = 0;
    }
  }
  parentPort.postMessage(results);
});
`;

type Job = [Uint8Array, Uint8Array, Uint8Array];

interface WorkerSlot {
  worker: Worker;
  /** Callbacks of the batches sent, in order: a worker answers batches in the order it received them. */
  inFlight: Array<Array<(ok: boolean) => void>>;
  pending: number;
}

/** Verification on the calling thread: for a single core, or when latency matters more than throughput. */
export class InlineSignatureVerifier implements SignatureVerifier {
  private readonly keys = new Map<string, KeyObject>();

  verify(toBeSigned: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
    try {
      const id = Buffer.from(publicKey).toString("base64");
      let key = this.keys.get(id);
      if (!key) this.keys.set(id, (key = createPublicKey({ key: Buffer.from(publicKey), format: "der", type: "spki" })));
      return Promise.resolve(verify("sha384", toBeSigned, { key, dsaEncoding: "ieee-p1363" }, signature));
    } catch {
      // Fail closed, like the pool: a key or signature that cannot be parsed does not verify.
      return Promise.resolve(false);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * ECDSA P-384 verification is the most expensive step of a governance write (about 1 ms on a modest core), so it
 * runs on worker threads while the main thread serves HTTP, runs the constitution and commits. Requests arriving
 * in the same tick travel to a worker as one batch; each batch goes to the least busy worker.
 */
export class PooledSignatureVerifier implements SignatureVerifier {
  private readonly slots: WorkerSlot[];
  private queue: Array<{ job: Job; done: (ok: boolean) => void }> = [];
  private scheduled = false;
  private closed = false;

  constructor(threads: number) {
    this.slots = Array.from({ length: threads }, () => {
      const slot: WorkerSlot = { worker: new Worker(WORKER_SOURCE, { eval: true }), inFlight: [], pending: 0 };
      this.attach(slot);
      return slot;
    });
  }

  private attach(slot: WorkerSlot): void {
    const { worker } = slot;
    worker.on("message", (results: Uint8Array) => {
      const callbacks = slot.inFlight.shift() ?? [];
      slot.pending -= callbacks.length;
      // An idle pool must not keep the process alive.
      if (slot.pending === 0) worker.unref();
      callbacks.forEach((done, i) => done(results[i] === 1));
    });
    worker.once("exit", () => {
      if (this.closed) return;
      // A failed worker fails closed (what it had in flight counts as not verified) and is replaced.
      for (const batch of slot.inFlight.splice(0)) for (const done of batch) done(false);
      slot.pending = 0;
      slot.worker = new Worker(WORKER_SOURCE, { eval: true });
      this.attach(slot);
    });
    worker.on("error", () => undefined);
    worker.unref();
  }

  verify(toBeSigned: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
    return new Promise((resolve) => {
      this.queue.push({ job: [toBeSigned, signature, publicKey], done: resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.dispatch());
      }
    });
  }

  private dispatch(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    // Spread the batch evenly, least busy workers first.
    const slots = [...this.slots].sort((a, b) => a.pending - b.pending);
    const share = Math.ceil(batch.length / slots.length);
    for (const slot of slots) {
      const part = batch.splice(0, share);
      if (part.length === 0) break;
      slot.inFlight.push(part.map((item) => item.done));
      slot.pending += part.length;
      slot.worker.ref();
      slot.worker.postMessage(part.map((item) => item.job));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
  }
}

/** A pool with one thread per core beyond the main one (at least one), or inline verification when `threads` is 0. */
export function createSignatureVerifier(threads = Math.max(1, availableParallelism() - 1)): SignatureVerifier {
  return threads === 0 ? new InlineSignatureVerifier() : new PooledSignatureVerifier(threads);
}
