/** Turns what sandboxed code threw into a classified SandboxError. */
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";
import type { GuardOutcome } from "./execution-guard.js";
import { SandboxError, type SandboxLimits } from "./sandbox-types.js";
import type { VmBridge } from "./vm-bridge.js";

export interface ThrownValue {
  name: string;
  message: string;
  stack: string;
}

const UNDESCRIBABLE: ThrownValue = { name: "", message: "[the thrown value could not be described]", stack: "" };

/**
 * Reads name, message and stack of a thrown value through the bootstrap's `describeError`, which avoids getters. Must
 * run inside the guard: a thrown Proxy can still run code. Never throws a QuickJS error; disposes nothing it got.
 */
export function describeThrown(context: QuickJSContext, bridge: VmBridge, thrown: QuickJSHandle): ThrownValue {
  const described = context.callFunction(bridge.describeError, context.undefined, [thrown]);
  if (described.error) {
    described.error.dispose();
    return UNDESCRIBABLE;
  }
  const json = context.getString(described.value);
  described.value.dispose();
  const parsed = JSON.parse(json) as [string, string, string];
  return { name: parsed[0], message: parsed[1], stack: parsed[2] };
}

function isResourceExhaustion(thrown: ThrownValue): boolean {
  // QuickJS reports both as InternalError (JSON.parse reports stack overflow as a SyntaxError).
  return thrown.message === "out of memory" || thrown.message === "stack overflow";
}

/**
 * Classifies a failure. `phase` decides what an ordinary exception means: a syntax error or a throwing top level while
 * evaluating the module ("compile"), or an exception from the called function ("runtime").
 */
export function classifyThrown(
  thrown: ThrownValue,
  outcome: GuardOutcome,
  phase: "compile" | "runtime",
  limits: SandboxLimits,
): SandboxError {
  if (outcome.interrupted) {
    const stack = thrown.stack === "" ? undefined : thrown.stack;
    return new SandboxError("timeout", `execution exceeded the time limit of ${limits.timeoutMs} ms`, stack);
  }
  if (outcome.memoryRefused || isResourceExhaustion(thrown)) {
    // When even the error object cannot be allocated QuickJS throws null, so fall back to a fixed message.
    const reason = isResourceExhaustion(thrown) ? thrown.message : "out of memory";
    const what =
      reason === "stack overflow"
        ? `stack limit of ${limits.stackBytes} bytes`
        : `memory limit of ${limits.memoryBytes} bytes`;
    return new SandboxError("memory", `${reason} (${what})`, thrown.stack === "" ? undefined : thrown.stack);
  }
  const message = thrown.name !== "" && phase === "compile" ? `${thrown.name}: ${thrown.message}` : thrown.message;
  return new SandboxError(phase, message, thrown.stack === "" ? undefined : thrown.stack);
}

/** For exceptions that escaped from inside the wasm code (see quickjs-host.ts): the engine instance is unusable. */
export function engineTrapError(error: unknown): SandboxError {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new SandboxError(
    "memory",
    `the QuickJS engine trapped (${detail}); sandboxed code most likely exhausted the native stack. ` +
      "The engine is being reloaded.",
  );
}
