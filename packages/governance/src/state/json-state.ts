import type { StateReader, WriteTx } from "@cleanroom/ledger";
import { formatTxId } from "@cleanroom/protocol";
import type { z } from "zod";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}

export function encodeText(value: string): Uint8Array {
  return encoder.encode(value);
}

export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function readJson<T>(state: StateReader, map: string, key: string): T | undefined {
  const bytes = state.get(map, key);
  return bytes === undefined ? undefined : decodeJson<T>(bytes);
}

export function writeJson(tx: WriteTx, map: string, key: string, value: unknown): void {
  tx.set(map, key, encodeJson(value));
}

/** `view.seqno` of the transaction that last wrote the key (its optimistic-concurrency version), if any. */
export function readVersion(state: StateReader, map: string, key: string): string | undefined {
  const version = state.version(map, key);
  return version === undefined ? undefined : formatTxId(version);
}

export function readText(state: StateReader, map: string, key: string): string | undefined {
  const bytes = state.get(map, key);
  return bytes === undefined ? undefined : decodeText(bytes);
}

/**
 * A stored JSON value parsed with `schema`; undefined when absent, not JSON, or not of the schema's shape. For state
 * a replaceable constitution writes: a value that does not fit is treated as absent, so it never grants anything.
 */
export function readParsed<T>(schema: z.ZodType<T>, state: StateReader, map: string, key: string): T | undefined {
  let value: unknown;
  try {
    value = readJson<unknown>(state, map, key);
  } catch {
    return undefined;
  }
  const result = schema.safeParse(value);
  return result.success ? result.data : undefined;
}
