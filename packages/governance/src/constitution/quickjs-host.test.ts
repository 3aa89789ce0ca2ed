// Runs in its own worker (vitest forks per file), so the engine starts uninitialised here.
import { describe, expect, it } from "vitest";
import { createModuleSandbox, initSandbox, isSandboxReady } from "./module-sandbox.js";
import { expectSandboxError, MemoryKv } from "./sandbox-test-support.case.js";

describe("QuickJS engine lifecycle", () => {
  it("refuses to create sandboxes before initSandbox()", () => {
    expect(isSandboxReady()).toBe(false);
    expect(() => createModuleSandbox("export function f() {}", { filename: "early.js" })).toThrow(/await initSandbox\(\)/);
  });

  it("initialises once; awaiting again is harmless", async () => {
    await Promise.all([initSandbox(), initSandbox()]);
    await initSandbox();
    expect(isSandboxReady()).toBe(true);
  });

  it("survives sandboxed code that overflows the native stack inside a builtin, and reloads the engine", async () => {
    await initSandbox();
    const kv = new MemoryKv();
    const bystander = createModuleSandbox("let n = 0; export function count() { return ++n }", { filename: "bystander.js" });
    expect(bystander.call("count", [], kv)).toBe(1);
    // JSON.stringify recurses in C with little shadow-stack use per level, so V8's native stack can run out before
    // QuickJS's own stack check fires: the wasm code traps instead of throwing a QuickJS error.
    const deep = createModuleSandbox(
      `export function f() { const root = []; let node = root; for (let i = 0; i < 1e5; i++) { const next = []; node.push(next); node = next; } return JSON.stringify(root).length }
       export function ok() { return "ok" }`,
      { filename: "deep.js", limits: { timeoutMs: 20_000 } },
    );
    const error = expectSandboxError(() => deep.call("f", [], kv), "memory");
    console.log(`deep JSON.stringify: ${error.message}`);
    if (!isSandboxReady()) {
      // The engine trapped: calls fail cleanly until the replacement module is loaded.
      expectSandboxError(() => bystander.call("count", [], kv), "memory");
      await initSandbox();
    }
    expect(isSandboxReady()).toBe(true);
    expect(deep.call("ok", [], kv)).toBe("ok");
    expect(bystander.call("count", [], kv)).toBeGreaterThanOrEqual(1);
    deep.dispose();
    bystander.dispose();
    expect(isSandboxReady()).toBe(true);
  });
});
