/**
 * The raw host functions behind the VM API. They are handed to the bootstrap script only (never installed as globals)
 * and trust its argument validation; every failure, including a SandboxKv exception, is returned to the VM as an
 * `Error` with the same message so that sandboxed code can catch it.
 */
import { TextDecoder, TextEncoder } from "node:util";
import type { QuickJSContext, QuickJSHandle, VmCallResult } from "quickjs-emscripten-core";
import { changePolicyClaims, checkPolicyClaims, type PolicyClaimChanges, type PolicyClaims } from "@cleanroom/protocol";
import { certificateInfo, isValidX509CertBundle, pemToId } from "./certificate-helpers.js";
import type { SandboxKv } from "./sandbox-types.js";

export type SandboxLogLevel = "log" | "info" | "warn" | "error" | "debug";
/** Receives `console.*` output of sandboxed code. Without a sink, `console` methods are no-ops. */
export type SandboxLogSink = (level: SandboxLogLevel, message: string) => void;

/** The SandboxKv of the call in progress; host functions are created once per context and read it from here. */
export interface KvSlot {
  current: SandboxKv | undefined;
}

type HostImplementation = (...args: QuickJSHandle[]) => QuickJSHandle | undefined;

const encoder = new TextEncoder();
const lenientDecoder = new TextDecoder();
// Keys must round-trip exactly: two different byte strings must never become the same host key.
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === "string" ? error : "host function failed";
}

function newBuffer(context: QuickJSContext, bytes: Uint8Array): QuickJSHandle {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return context.newArrayBuffer(whole ? bytes.buffer : bytes.slice().buffer);
}

function readBytes(context: QuickJSContext, handle: QuickJSHandle): Uint8Array {
  const view = context.getArrayBuffer(handle);
  try {
    // The view aliases wasm memory that is freed below, so copy it.
    return new Uint8Array(view.value);
  } finally {
    view.dispose();
  }
}

function readText(context: QuickJSContext, handle: QuickJSHandle, decoder: TextDecoder): string {
  const view = context.getArrayBuffer(handle);
  try {
    return decoder.decode(view.value);
  } finally {
    view.dispose();
  }
}

function requireKv(slot: KvSlot): SandboxKv {
  if (slot.current === undefined) throw new Error("ccf.kv is only available while an exported function is called");
  return slot.current;
}

/**
 * Creates an object handle holding the host functions, for the bootstrap script. The caller owns (and must dispose)
 * the returned handle; the functions live on as long as the VM references them.
 */
export function createHostFunctions(context: QuickJSContext, slot: KvSlot, log?: SandboxLogSink): QuickJSHandle {
  const target = context.newObject();
  const define = (name: string, implementation: HostImplementation): void => {
    const fn = context.newFunction(name, (...args): QuickJSHandle | VmCallResult<QuickJSHandle> | undefined => {
      try {
        return implementation(...args);
      } catch (error) {
        return { error: context.newError(messageOf(error)) };
      }
    });
    context.setProp(target, name, fn);
    fn.dispose();
  };
  const str = (handle: QuickJSHandle | undefined): string => (handle === undefined ? "" : context.getString(handle));
  const key = (handle: QuickJSHandle | undefined): string =>
    handle === undefined ? "" : readText(context, handle, strictDecoder);
  const bool = (value: boolean): QuickJSHandle => (value ? context.true : context.false);

  define("kvGet", (map, k) => {
    const value = requireKv(slot).get(str(map), key(k));
    return value === undefined ? context.undefined : newBuffer(context, value);
  });
  define("kvHas", (map, k) => bool(requireKv(slot).has(str(map), key(k))));
  define("kvSet", (map, k, value) => {
    if (value === undefined) throw new TypeError("value must be an ArrayBuffer");
    requireKv(slot).set(str(map), key(k), readBytes(context, value));
    return undefined;
  });
  define("kvDelete", (map, k) => {
    const kv = requireKv(slot);
    const name = str(map);
    const hostKey = key(k);
    // CCF's delete reports whether the key existed; SandboxKv.delete does not.
    const existed = kv.has(name, hostKey);
    kv.delete(name, hostKey);
    return bool(existed);
  });
  define("kvEntries", (map) => {
    const entries = context.newArray();
    try {
      let index = 0;
      requireKv(slot).forEach(str(map), (entryKey, value) => {
        const keyHandle = newBuffer(context, encoder.encode(entryKey));
        context.setProp(entries, index++, keyHandle);
        keyHandle.dispose();
        const valueHandle = newBuffer(context, value);
        context.setProp(entries, index++, valueHandle);
        valueHandle.dispose();
      });
      return entries;
    } catch (error) {
      entries.dispose();
      throw error;
    }
  });
  define("kvSize", (map) => context.newNumber(requireKv(slot).size(str(map))));
  // Bulk JSON reads for cleanroom.kv: one host crossing per call instead of one per key and value conversion.
  const parseStored = (map: string, entryKey: string, value: Uint8Array): unknown => {
    try {
      return JSON.parse(lenientDecoder.decode(value));
    } catch {
      throw new Error(`The value of '${entryKey}' in '${map}' is not JSON.`);
    }
  };
  define("kvGetJson", (map, k) => {
    const name = str(map);
    const entryKey = str(k);
    const value = requireKv(slot).get(name, entryKey);
    return value === undefined ? context.undefined : context.newString(JSON.stringify(parseStored(name, entryKey, value)));
  });
  define("kvEntriesJson", (map) => {
    const name = str(map);
    const entries: Array<[string, unknown]> = [];
    requireKv(slot).forEach(name, (entryKey, value) => entries.push([entryKey, parseStored(name, entryKey, value)]));
    return context.newString(JSON.stringify(entries));
  });
  define("kvVersion", (map, k) => {
    const version = requireKv(slot).version(str(map), str(k));
    return version === undefined ? context.undefined : context.newString(version);
  });
  define("strToBuf", (s) => newBuffer(context, encoder.encode(str(s))));
  define("bufToStr", (b) => context.newString(b === undefined ? "" : readText(context, b, lenientDecoder)));
  define("pemToId", (pem) => context.newString(pemToId(str(pem))));
  define("isValidX509CertBundle", (pem) => bool(isValidX509CertBundle(str(pem))));
  define("certificateInfo", (pem) => context.newString(JSON.stringify(certificateInfo(str(pem)))));
  // Clean-room policy rules live in the service, which also applies them to delegate policies: one definition of
  // the claims the verifiers produce. Arguments and results cross as JSON text.
  define("policyClaimsCheck", (request) => {
    const { policyType, claims, prefix } = JSON.parse(str(request)) as { policyType: unknown; claims: unknown; prefix: string };
    return context.newString(checkPolicyClaims(policyType, claims, prefix));
  });
  define("policyClaimsChange", (request) => {
    const { current, type, claims, prefix, policyName } = JSON.parse(str(request)) as {
      current: PolicyClaims | undefined;
      type: "add" | "remove";
      claims: PolicyClaimChanges;
      prefix: string;
      policyName: string;
    };
    return context.newString(JSON.stringify(changePolicyClaims(current ?? {}, { type, claims }, { prefix, policyName })));
  });
  if (log !== undefined) {
    define("log", (level, message) => {
      log(str(level) as SandboxLogLevel, str(message));
      return undefined;
    });
  }
  return target;
}
