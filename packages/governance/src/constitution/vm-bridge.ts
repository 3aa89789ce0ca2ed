/** Installs the VM API in a fresh context and keeps handles to the bootstrap's entry points. */
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten-core";
import { VM_BOOTSTRAP_SOURCE } from "./vm-bootstrap-source.js";
import { createHostFunctions, type KvSlot, type SandboxLogSink } from "./vm-host-functions.js";

export interface VmBridge {
  /** `invoke(namespace, name, argsJson)`: see vm-bootstrap-source.ts for the status-tagged result. */
  readonly invoke: QuickJSHandle;
  /** `listExports(namespace)`: JSON array of the names of exported functions. */
  readonly listExports: QuickJSHandle;
  /** `describeError(thrown)`: JSON `[name, message, stack]`, without running getters. */
  readonly describeError: QuickJSHandle;
  dispose(): void;
}

/**
 * Evaluates the bootstrap script. Returns the error handle instead of throwing when the bootstrap itself fails (only
 * plausible when the memory limit is absurdly small), so the caller can classify it like any other evaluation error.
 */
export function installVmBridge(
  context: QuickJSContext,
  slot: KvSlot,
  log: SandboxLogSink | undefined,
): { bridge: VmBridge } | { error: QuickJSHandle } {
  const factory = context.evalCode(VM_BOOTSTRAP_SOURCE, "<cleanroom-bootstrap>", { type: "global", strict: true });
  if (factory.error) return { error: factory.error };
  const hostFunctions = createHostFunctions(context, slot, log);
  const entryPoints = context.callFunction(factory.value, context.undefined, [hostFunctions]);
  hostFunctions.dispose();
  factory.value.dispose();
  if (entryPoints.error) return { error: entryPoints.error };
  const api = entryPoints.value;
  const bridge: VmBridge = {
    invoke: context.getProp(api, "invoke"),
    listExports: context.getProp(api, "listExports"),
    describeError: context.getProp(api, "describeError"),
    dispose() {
      for (const handle of [this.invoke, this.listExports, this.describeError]) if (handle.alive) handle.dispose();
    },
  };
  api.dispose();
  return { bridge };
}
