/**
 * Ballots: modules exporting `vote(proposal, proposerId): boolean`, as in CCF.
 *
 * Compiled ballots are kept in a small LRU cache keyed by their text (and limits), because members often submit the
 * same ballot text and compiling costs far more than a call. A consequence, as for the constitution: a ballot's
 * module-level state persists across evaluations that share its text, so ballots should be pure.
 */
import { createModuleSandbox, type ModuleSandbox } from "./module-sandbox.js";
import { DEFAULT_SANDBOX_LIMITS, SandboxError, type SandboxKv, type SandboxLimits } from "./sandbox-types.js";

/** How many compiled ballots are kept; each holds a QuickJS runtime (a few hundred KiB). */
export const BALLOT_CACHE_CAPACITY = 32;

// A Map iterates in insertion order, so re-inserting on use keeps the least recently used entry first.
const cache = new Map<string, ModuleSandbox>();

function cacheKey(source: string, limits: SandboxLimits): string {
  return `${limits.memoryBytes}:${limits.timeoutMs}:${limits.stackBytes}\n${source}`;
}

function compiledBallot(source: string, limits: SandboxLimits): ModuleSandbox {
  const key = cacheKey(source, limits);
  const cached = cache.get(key);
  if (cached !== undefined) {
    cache.delete(key);
    cache.set(key, cached);
    return cached;
  }
  const sandbox = createModuleSandbox(source, { filename: "ballot.js", limits });
  cache.set(key, sandbox);
  while (cache.size > BALLOT_CACHE_CAPACITY) {
    const [oldestKey, oldest] = cache.entries().next().value as [string, ModuleSandbox];
    cache.delete(oldestKey);
    oldest.dispose();
  }
  return sandbox;
}

/**
 * Evaluates a ballot: calls its `vote(proposal, proposerId)` with `kv` backing `ccf.kv` (pass a read-only store).
 * Throws SandboxError for every failure, including "invalid-result" when `vote` does not return a boolean.
 */
export function evaluateBallot(
  source: string,
  proposal: string,
  proposerId: string,
  kv: SandboxKv,
  limits: SandboxLimits = DEFAULT_SANDBOX_LIMITS,
): boolean {
  const result = compiledBallot(source, limits).call("vote", [proposal, proposerId], kv);
  if (typeof result !== "boolean") {
    const got = result === null ? "null" : Array.isArray(result) ? "an array" : typeof result;
    throw new SandboxError("invalid-result", `the ballot's vote() must return a boolean, got ${got}`);
  }
  return result;
}

/** Disposes every cached ballot sandbox (at shutdown, and in tests). */
export function clearBallotCache(): void {
  for (const sandbox of cache.values()) sandbox.dispose();
  cache.clear();
}

/** Number of cached ballot sandboxes. */
export function ballotCacheSize(): number {
  return cache.size;
}
