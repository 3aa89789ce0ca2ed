/**
 * An untrusted ES module (a constitution or a ballot) evaluated in its own QuickJS runtime, whose exported functions
 * the host calls with JSON arguments and a key-value store.
 *
 * Module-level mutable state persists between calls of one sandbox (the module is evaluated once), except that the
 * module is evaluated afresh whenever the sandbox recreates its runtime: after a "timeout" or "memory" failure, and
 * after an engine reload. A constitution should therefore be pure and keep its state in the key-value store.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from "quickjs-emscripten-core";
import { ExecutionGuard, type GuardOutcome } from "./execution-guard.js";
import { isEngineTrap, requireHost, retireHost, type QuickJsHost } from "./quickjs-host.js";
import {
  DEFAULT_SANDBOX_LIMITS,
  SandboxError,
  type JsonValue,
  type SandboxKv,
  type SandboxLimits,
} from "./sandbox-types.js";
import { installVmBridge, type VmBridge } from "./vm-bridge.js";
import { classifyThrown, describeThrown, engineTrapError, type ThrownValue } from "./vm-errors.js";
import type { KvSlot, SandboxLogSink } from "./vm-host-functions.js";

export { initSandbox, isSandboxReady } from "./quickjs-host.js";
export type { SandboxLogLevel, SandboxLogSink } from "./vm-host-functions.js";

/**
 * QuickJS measures its stack limit on the Emscripten shadow stack, but each JS call also uses roughly twice as many
 * bytes of V8's native stack (about 984 KiB on the main thread). Above ~256 KiB, plain recursion overflows V8's stack
 * before QuickJS notices, which traps the engine; so larger `stackBytes` values are clamped to this.
 */
export const MAX_QUICKJS_STACK_BYTES = 256 * 1024;

export interface ModuleSandboxOptions {
  /** Shown in stack traces and error messages, e.g. "constitution.js". */
  filename: string;
  /** Overrides of DEFAULT_SANDBOX_LIMITS; `stackBytes` is capped at MAX_QUICKJS_STACK_BYTES. */
  limits?: Partial<SandboxLimits>;
  /** Receives console output of the module; without it `console.*` does nothing. */
  log?: SandboxLogSink;
}

export interface ModuleSandbox {
  /** Names of the module's exported functions, in the namespace's (alphabetical) order. */
  readonly exportNames: readonly string[];
  has(name: string): boolean;
  /**
   * Calls an exported function with JSON arguments; `kv` backs `ccf.kv` for the duration of the call. Returns the
   * result as JSON (`undefined` stays `undefined`). Every failure of the sandboxed code is a SandboxError.
   */
  call(name: string, args: readonly JsonValue[], kv: SandboxKv): JsonValue | undefined;
  /** Frees the QuickJS runtime. Idempotent; the sandbox cannot be used afterwards. */
  dispose(): void;
}

interface Vm {
  readonly host: QuickJsHost;
  readonly runtime: QuickJSRuntime;
  readonly context: QuickJSContext;
  readonly guard: ExecutionGuard;
  readonly bridge: VmBridge;
  readonly namespace: QuickJSHandle;
  readonly exportNames: readonly string[];
  /** Name strings of the exports, created once so that a call marshals only its arguments. */
  readonly nameHandles: ReadonlyMap<string, QuickJSHandle>;
}

interface SandboxConfig {
  readonly source: string;
  readonly filename: string;
  readonly limits: SandboxLimits;
  readonly log: SandboxLogSink | undefined;
  readonly slot: KvSlot;
}

let liveVms = 0;

/** Number of QuickJS runtimes currently held by sandboxes (for leak tests and diagnostics). */
export function liveSandboxRuntimeCount(): number {
  return liveVms;
}

function resolveLimits(overrides: Partial<SandboxLimits> | undefined): SandboxLimits {
  const limits = { ...DEFAULT_SANDBOX_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`Sandbox limit ${name} must be a positive number.`);
  }
  return { ...limits, stackBytes: Math.min(limits.stackBytes, MAX_QUICKJS_STACK_BYTES) };
}

function disposeHandles(vm: Pick<Vm, "nameHandles" | "bridge"> & { namespace?: QuickJSHandle }): void {
  for (const handle of vm.nameHandles.values()) handle.dispose();
  vm.namespace?.dispose();
  vm.bridge.dispose();
}

/** Frees a VM. A VM of a retired (trapped) engine is only dropped: calling into that engine is not safe. */
function releaseVm(vm: Vm): void {
  liveVms--;
  if (vm.host.retired) return;
  try {
    disposeHandles(vm);
    vm.context.dispose();
    vm.runtime.dispose();
  } catch {
    // QuickJS aborts when freeing an inconsistent runtime; the engine instance is then unusable.
    retireHost(vm.host);
  }
}

/** Evaluation state while a VM is being built, so that a failure can free exactly what exists. */
interface VmUnderConstruction {
  runtime: QuickJSRuntime;
  context?: QuickJSContext;
  bridge?: VmBridge;
  namespace?: QuickJSHandle;
  nameHandles: Map<string, QuickJSHandle>;
}

function discardPartial(partial: VmUnderConstruction): void {
  if (partial.bridge !== undefined) {
    disposeHandles({ nameHandles: partial.nameHandles, bridge: partial.bridge, namespace: partial.namespace });
  }
  partial.context?.dispose();
  partial.runtime.dispose();
}

/** Evaluates the module inside the guard; returns what was thrown instead of throwing. */
function evaluateModule(
  partial: VmUnderConstruction,
  context: QuickJSContext,
  config: SandboxConfig,
): ThrownValue | undefined {
  const installed = installVmBridge(context, config.slot, config.log);
  if ("error" in installed) {
    installed.error.dispose();
    return { name: "", message: "the sandbox API could not be installed", stack: "" };
  }
  const bridge = (partial.bridge = installed.bridge);
  const evaluated = context.evalCode(config.source, config.filename, { type: "module" });
  if (evaluated.error) {
    const thrown = describeThrown(context, bridge, evaluated.error);
    evaluated.error.dispose();
    return thrown;
  }
  const namespace = (partial.namespace = evaluated.value);
  const state = context.getPromiseState(namespace);
  if (!(state.type === "fulfilled" && state.notAPromise === true)) {
    // Top-level await leaves a pending promise that only the job queue (which we never run) could settle.
    if (state.type === "fulfilled") state.value.dispose();
    if (state.type === "rejected") state.error.dispose();
    return { name: "", message: "top-level await is not supported: the module must evaluate synchronously", stack: "" };
  }
  const listed = context.callFunction(bridge.listExports, context.undefined, [namespace]);
  if (listed.error) {
    const thrown = describeThrown(context, bridge, listed.error);
    listed.error.dispose();
    return thrown;
  }
  const names = JSON.parse(context.getString(listed.value)) as string[];
  listed.value.dispose();
  for (const name of names) partial.nameHandles.set(name, context.newString(name));
  return undefined;
}

function buildVm(host: QuickJsHost, config: SandboxConfig): Vm {
  const { limits } = config;
  const guard = new ExecutionGuard(host.memory);
  try {
    const partial: VmUnderConstruction = { runtime: host.module.newRuntime(), nameHandles: new Map() };
    partial.runtime.setMemoryLimit(limits.memoryBytes);
    partial.runtime.setMaxStackSize(limits.stackBytes);
    partial.runtime.setInterruptHandler(guard.shouldInterrupt);
    const context = (partial.context = partial.runtime.newContext());
    let thrown: ThrownValue | undefined;
    let outcome: GuardOutcome;
    guard.begin(limits);
    try {
      thrown = evaluateModule(partial, context, config);
    } finally {
      outcome = guard.end();
    }
    if (thrown !== undefined) {
      discardPartial(partial);
      throw classifyThrown(thrown, outcome, "compile", limits);
    }
    liveVms++;
    return {
      host,
      runtime: partial.runtime,
      context,
      guard,
      bridge: partial.bridge as VmBridge,
      namespace: partial.namespace as QuickJSHandle,
      exportNames: [...partial.nameHandles.keys()],
      nameHandles: partial.nameHandles,
    };
  } catch (error) {
    if (!isEngineTrap(error)) throw error;
    retireHost(host);
    throw engineTrapError(error);
  }
}

function decodeStatus(status: string, name: string, filename: string): JsonValue | undefined {
  switch (status[0]) {
    case "j":
      return JSON.parse(status.slice(1)) as JsonValue;
    case "u":
      return undefined;
    case "m":
      throw new SandboxError("missing-export", `${filename} does not export a function named "${name}"`);
    case "p":
      throw new SandboxError("invalid-result", `${name} returned a Promise: exported functions must be synchronous`);
    default:
      throw new SandboxError("invalid-result", `${name}: ${status.slice(1)}`);
  }
}

function invokeExport(vm: Vm, name: string, argsJson: string, config: SandboxConfig): JsonValue | undefined {
  const { context, guard } = vm;
  const cachedName = vm.nameHandles.get(name);
  const nameHandle = cachedName ?? context.newString(name);
  const argsHandle = context.newString(argsJson);
  let status: string | undefined;
  let thrown: ThrownValue | undefined;
  let outcome: GuardOutcome;
  guard.begin(config.limits);
  try {
    const result = context.callFunction(vm.bridge.invoke, context.undefined, [vm.namespace, nameHandle, argsHandle]);
    if (result.error) {
      thrown = describeThrown(context, vm.bridge, result.error);
      result.error.dispose();
    } else {
      status = context.getString(result.value);
      result.value.dispose();
    }
  } finally {
    outcome = guard.end();
  }
  // Not in a finally: after an engine trap nothing may call into the engine again, not even to free.
  argsHandle.dispose();
  if (cachedName === undefined) nameHandle.dispose();
  if (thrown !== undefined) throw classifyThrown(thrown, outcome, "runtime", config.limits);
  return decodeStatus(status as string, name, config.filename);
}

class QuickJsModuleSandbox implements ModuleSandbox {
  private vm: Vm | undefined;
  private names: readonly string[];
  private disposed = false;
  private calling = false;

  constructor(
    private readonly config: SandboxConfig,
    vm: Vm,
  ) {
    this.vm = vm;
    this.names = vm.exportNames;
  }

  get exportNames(): readonly string[] {
    return this.names;
  }

  has(name: string): boolean {
    return this.names.includes(name);
  }

  call(name: string, args: readonly JsonValue[], kv: SandboxKv): JsonValue | undefined {
    if (this.disposed) throw new Error(`The sandbox for ${this.config.filename} has been disposed.`);
    // A nested call would replace the outer call's store and deadline.
    if (this.calling) throw new Error(`The sandbox for ${this.config.filename} is already running a call.`);
    const argsJson = JSON.stringify(args);
    const vm = this.currentVm();
    this.config.slot.current = kv;
    this.calling = true;
    try {
      return invokeExport(vm, name, argsJson, this.config);
    } catch (error) {
      if (isEngineTrap(error)) {
        retireHost(vm.host);
        this.drop();
        throw engineTrapError(error);
      }
      if (error instanceof SandboxError && (error.kind === "timeout" || error.kind === "memory")) this.recreate();
      throw error;
    } finally {
      this.config.slot.current = undefined;
      this.calling = false;
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.drop();
  }

  private currentVm(): Vm {
    if (this.vm !== undefined && !this.vm.host.retired) return this.vm;
    this.drop();
    this.vm = buildVm(requireHost(), this.config);
    this.names = this.vm.exportNames;
    return this.vm;
  }

  private drop(): void {
    if (this.vm === undefined) return;
    const vm = this.vm;
    this.vm = undefined;
    releaseVm(vm);
  }

  /** An interrupted or exhausted context may be left inconsistent, so start from a fresh runtime. */
  private recreate(): void {
    this.drop();
    try {
      this.currentVm();
    } catch {
      // The next call retries and reports the failure itself.
    }
  }
}

/**
 * Evaluates `source` as an ES module in a fresh QuickJS runtime. Requires {@link initSandbox} to have completed.
 * Throws SandboxError "compile" for syntax errors, a throwing top level or top-level await, and "timeout"/"memory" when
 * the top level exceeds the limits.
 */
export function createModuleSandbox(source: string, options: ModuleSandboxOptions): ModuleSandbox {
  const config: SandboxConfig = {
    source,
    filename: options.filename,
    limits: resolveLimits(options.limits),
    log: options.log,
    slot: { current: undefined },
  };
  return new QuickJsModuleSandbox(config, buildVm(requireHost(), config));
}
