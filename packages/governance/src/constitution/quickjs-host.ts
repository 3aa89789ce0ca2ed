/**
 * The process-wide QuickJS WebAssembly module. It is loaded once (asynchronously) and then used synchronously by every
 * sandbox. If sandboxed code makes the wasm code trap (see `isEngineTrap`), the module is retired and a fresh one is
 * loaded in the background: after a trap the C state (shadow stack pointer, allocator, QuickJS runtime) can no longer
 * be trusted, and a new instance with its own memory is the only clean way back.
 */
import * as releaseSync from "@jitl/quickjs-wasmfile-release-sync";
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSWASMModule } from "quickjs-emscripten-core";
import { BudgetedMemory } from "./budgeted-memory.js";
import { SandboxError } from "./sandbox-types.js";

/** Emscripten's INITIAL_MEMORY for this build (16 MiB); the memory we provide must be at least that large. */
const INITIAL_PAGES = 256;
/** wasm32's practical maximum (2 GiB), as in the Emscripten glue. Guest growth is bounded far lower by the budget. */
const MAXIMUM_PAGES = 32_768;

export interface QuickJsHost {
  readonly module: QuickJSWASMModule;
  readonly memory: BudgetedMemory;
  /** Set once the module trapped: nothing may call into it any more. */
  retired: boolean;
}

let active: QuickJsHost | undefined;
let loading: Promise<QuickJsHost> | undefined;
let initialised = false;

async function loadHost(): Promise<QuickJsHost> {
  const memory = new BudgetedMemory(INITIAL_PAGES, MAXIMUM_PAGES);
  const module = await newQuickJSWASMModuleFromVariant(newVariant(releaseSync.default, { wasmMemory: memory }));
  return { module, memory, retired: false };
}

/**
 * Loads the QuickJS WebAssembly module. Await it once at startup before creating sandboxes; awaiting it again is cheap,
 * and after a fatal engine trap it resolves once the replacement module is ready.
 */
export async function initSandbox(): Promise<void> {
  if (active !== undefined && !active.retired) return;
  loading ??= loadHost()
    .then((host) => {
      active = host;
      initialised = true;
      return host;
    })
    .finally(() => {
      loading = undefined;
    });
  await loading;
}

/**
 * True when sandboxes can be created and called: the module is loaded and has not trapped. Also a leak check for tests:
 * disposing a runtime that still has live handles aborts QuickJS, which retires the module.
 */
export function isSandboxReady(): boolean {
  return active !== undefined && !active.retired;
}

/** The module to create runtimes in. Throws if {@link initSandbox} never completed, or while a reload is pending. */
export function requireHost(): QuickJsHost {
  if (active !== undefined && !active.retired) return active;
  if (!initialised) {
    throw new Error("The QuickJS sandbox is not initialised: await initSandbox() once before creating sandboxes.");
  }
  throw new SandboxError(
    "memory",
    "The QuickJS engine is being reloaded after sandboxed code made it trap; await initSandbox() and retry.",
  );
}

/** Takes a trapped module out of service and starts loading its replacement. */
export function retireHost(host: QuickJsHost): void {
  if (host.retired) return;
  host.retired = true;
  if (active !== host) return;
  active = undefined;
  // A failed reload is retried by the next initSandbox(); until then requireHost() reports the outage.
  initSandbox().catch(() => undefined);
}

/**
 * True for exceptions that escaped from inside the wasm code rather than being reported by QuickJS: V8's own stack
 * overflow (C recursion in QuickJS builtins can exhaust the native stack before QuickJS's shadow-stack check fires),
 * and WebAssembly traps (Emscripten `abort()`, out-of-bounds access).
 */
export function isEngineTrap(error: unknown): boolean {
  return !(error instanceof SandboxError);
}
