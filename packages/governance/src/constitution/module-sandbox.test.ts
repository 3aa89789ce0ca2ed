import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createModuleSandbox,
  initSandbox,
  isSandboxReady,
  liveSandboxRuntimeCount,
  type ModuleSandbox,
} from "./module-sandbox.js";
import { expectSandboxError, MemoryKv } from "./sandbox-test-support.case.js";
import type { JsonValue } from "./sandbox-types.js";

const kv = new MemoryKv();
const open: ModuleSandbox[] = [];
let runtimesBefore = 0;

function sandbox(source: string, limits?: Parameters<typeof createModuleSandbox>[1]["limits"]): ModuleSandbox {
  const created = createModuleSandbox(source, { filename: "test-module.js", limits });
  open.push(created);
  return created;
}

beforeAll(async () => {
  await initSandbox();
  runtimesBefore = liveSandboxRuntimeCount();
});

afterAll(() => {
  for (const created of open) created.dispose();
});

describe("module evaluation", () => {
  it("lists the exported functions only", () => {
    const module = sandbox(`
      export function validate() {}
      export const limit = 3;
      export default function () {}
      export const resolve = () => "Open";
      export let counter = 0;
    `);
    expect(module.exportNames).toEqual(["default", "resolve", "validate"]);
    expect(module.has("validate")).toBe(true);
    expect(module.has("limit")).toBe(false);
    expect(module.has("apply")).toBe(false);
  });

  it("reports syntax errors as compile errors", () => {
    const error = expectSandboxError(() => sandbox("export function validate( {"), "compile");
    expect(error.message).toMatch(/^SyntaxError: /);
  });

  it("reports a throwing top level as a compile error with its message", () => {
    const error = expectSandboxError(() => sandbox("throw new Error('boom at load'); export function f() {}"), "compile");
    expect(error.message).toBe("Error: boom at load");
  });

  it("refuses imports: modules get no loader", () => {
    const error = expectSandboxError(() => sandbox("import fs from 'fs'; export function f() { return 1 }"), "compile");
    expect(error.message).toContain("fs");
  });

  it("refuses top-level await", () => {
    const error = expectSandboxError(() => sandbox("await 1; export function f() {}"), "compile");
    expect(error.message).toContain("top-level await");
  });

  it("stops an endless top level with a timeout", () => {
    expectSandboxError(() => sandbox("while (true) {} export function f() {}", { timeoutMs: 100 }), "timeout");
  });
});

describe("calls", () => {
  it("passes and returns every JSON type unchanged", () => {
    const module = sandbox("export function echo(...args) { return args }");
    const values: JsonValue[] = [
      null,
      true,
      false,
      0,
      -1.5,
      1e300,
      "",
      "héllo ☃ 😀 \u0000 \"quoted\"",
      [],
      [1, [2, [3]]],
      {},
      { a: { b: [null, "x", 2] }, "key with spaces": false },
    ];
    expect(module.call("echo", values, kv)).toEqual(values);
  });

  it("keeps undefined distinct from null", () => {
    const module = sandbox("export function nothing() {} export function nil() { return null }");
    expect(module.call("nothing", [], kv)).toBeUndefined();
    expect(module.call("nil", [], kv)).toBeNull();
  });

  it("drops undefined object members and turns toJSON values into JSON, as JSON.stringify does", () => {
    const module = sandbox("export function f() { return { a: undefined, b: 1, when: new Date(0) } }");
    expect(module.call("f", [], kv)).toEqual({ b: 1, when: "1970-01-01T00:00:00.000Z" });
  });

  it("is unaffected by a module that patches JSON", () => {
    const module = sandbox(`
      JSON.stringify = () => "patched";
      JSON.parse = () => ["patched"];
      export function f(x) { return { x } }
    `);
    expect(module.call("f", [7], kv)).toEqual({ x: 7 });
  });

  it("keeps module state between calls", () => {
    const module = sandbox("let calls = 0; export function count() { return ++calls }");
    expect(module.call("count", [], kv)).toBe(1);
    expect(module.call("count", [], kv)).toBe(2);
  });

  it("measures the cost of a trivial call", () => {
    const module = sandbox("export function add(a, b) { return a + b }");
    for (let i = 0; i < 2_000; i++) module.call("add", [i, 1], kv);
    const iterations = 20_000;
    const start = performance.now();
    for (let i = 0; i < iterations; i++) module.call("add", [i, 1], kv);
    const microseconds = ((performance.now() - start) * 1000) / iterations;
    console.log(`sandbox call cost: ${microseconds.toFixed(1)} µs per trivial call`);
    expect(module.call("add", [2, 3], kv)).toBe(5);
  });
});

describe("failures", () => {
  it("reports a thrown Error as runtime, with its message and stack", () => {
    const module = sandbox(`
      function check(input) { throw new TypeError("bad input: " + input) }
      export function validate(input) { return check(input) }
    `);
    const error = expectSandboxError(() => module.call("validate", ["x"], kv), "runtime");
    expect(error.message).toBe("bad input: x");
    expect(error.jsStack).toContain("check");
    expect(error.jsStack).toContain("test-module.js");
  });

  it("reports thrown non-Errors by their value", () => {
    const module = sandbox(`
      export function text() { throw "plain text" }
      export function object() { throw { code: 42 } }
      export function nothing() { throw undefined }
    `);
    expect(expectSandboxError(() => module.call("text", [], kv), "runtime").message).toBe("plain text");
    expect(expectSandboxError(() => module.call("object", [], kv), "runtime").message).toBe('{"code":42}');
    expect(expectSandboxError(() => module.call("nothing", [], kv), "runtime").message).toBe("undefined");
  });

  it("describes a thrown value under the same time limit", () => {
    // Rendering an object without message falls back to JSON.stringify, which runs this getter.
    const module = sandbox("export function f() { throw { get detail() { while (true) {} } } }", { timeoutMs: 100 });
    expectSandboxError(() => module.call("f", [], kv), "timeout");
  });

  it("reports missing exports and non-function exports", () => {
    const module = sandbox("export const value = 1; export function f() {}");
    expect(expectSandboxError(() => module.call("absent", [], kv), "missing-export").message).toContain('"absent"');
    expectSandboxError(() => module.call("value", [], kv), "missing-export");
  });

  it("rejects results that are not JSON", () => {
    const module = sandbox(`
      export function fn() { return function () {} }
      export function nested() { return { ok: 1, callback() {} } }
      export function cycle() { const a = {}; a.self = a; return a }
      export function big() { return 10n }
      export function nan() { return [NaN] }
      export function symbol() { return Symbol("s") }
    `);
    for (const name of ["fn", "nested", "cycle", "big", "nan", "symbol"]) {
      expectSandboxError(() => module.call(name, [], kv), "invalid-result");
    }
    expect(expectSandboxError(() => module.call("nested", [], kv), "invalid-result").message).toContain('"callback"');
  });

  it("rejects async functions: the constitution must be synchronous", () => {
    const module = sandbox("export async function resolve() { return 'Accepted' }");
    expect(expectSandboxError(() => module.call("resolve", [], kv), "invalid-result").message).toContain("Promise");
  });

  it("stops an endless loop with a timeout, then works again", () => {
    const module = sandbox(
      "let calls = 0; export function spin() { while (true) {} } export function count() { return ++calls }",
      { timeoutMs: 200 },
    );
    expect(module.call("count", [], kv)).toBe(1);
    const start = performance.now();
    expectSandboxError(() => module.call("spin", [], kv), "timeout");
    expect(performance.now() - start).toBeLessThan(10_000);
    // The runtime was recreated, so the module was evaluated afresh.
    expect(module.call("count", [], kv)).toBe(1);
  });

  it("stops a try/catch around an endless loop: interrupts cannot be caught", () => {
    const module = sandbox("export function f() { try { while (true) {} } catch (e) { return 'caught' } }", {
      timeoutMs: 100,
    });
    expectSandboxError(() => module.call("f", [], kv), "timeout");
  });

  it("stops unbounded allocation with a memory error, then works again", () => {
    const module = sandbox(
      "export function hog() { let a = []; for (;;) a.push(new Array(1e5).fill(1)) } export function ok() { return 'ok' }",
      { memoryBytes: 32 * 1024 * 1024, timeoutMs: 20_000 },
    );
    const error = expectSandboxError(() => module.call("hog", [], kv), "memory");
    expect(error.message).toContain("out of memory");
    expect(module.call("ok", [], kv)).toBe("ok");
  });

  it("refuses a single allocation larger than the limit", () => {
    const module = sandbox("export function big() { return 'x'.repeat(64 * 1024 * 1024).length }", {
      memoryBytes: 8 * 1024 * 1024,
    });
    expectSandboxError(() => module.call("big", [], kv), "memory");
  });

  it("stops deep recursion with a memory error, then works again", () => {
    const module = sandbox("function down(n) { return down(n + 1) + 1 } export function f() { return down(0) } export function ok() { return 1 }");
    const error = expectSandboxError(() => module.call("f", [], kv), "memory");
    // The default stack limit is 256 KiB, the most that lets QuickJS's check fire before V8's native stack runs out.
    expect(error.message).toBe("stack overflow (stack limit of 262144 bytes)");
    expect(module.call("ok", [], kv)).toBe(1);
  });

  it("lets the module catch a stack overflow itself", () => {
    const module = sandbox("function down() { down() } export function f() { try { down() } catch (e) { return e.message } }");
    expect(module.call("f", [], kv)).toBe("stack overflow");
  });
});

describe("lifecycle", () => {
  it("refuses re-entrant calls into the same sandbox (the VM sees a catchable Error)", () => {
    const module = sandbox("export function outer() { return ccf.kv['public:x'].get(ccf.strToBuf('k')) } export function inner() {}");
    const reentrant = new MemoryKv();
    reentrant.get = () => {
      module.call("inner", [], kv);
      return undefined;
    };
    const error = expectSandboxError(() => module.call("outer", [], reentrant), "runtime");
    expect(error.message).toContain("already running a call");
    expect(module.call("inner", [], kv)).toBeUndefined();
  });

  it("allows a host function to run a different sandbox meanwhile", () => {
    const inner = sandbox("export function bytes() { return [1, 2, 3] }");
    const outer = sandbox("export function f() { return Array.from(new Uint8Array(ccf.kv['public:x'].get(ccf.strToBuf('k')))) }");
    const nested = new MemoryKv();
    nested.get = () => Uint8Array.from(inner.call("bytes", [], kv) as number[]);
    expect(outer.call("f", [], nested)).toEqual([1, 2, 3]);
  });

  it("refuses calls after dispose, and dispose is idempotent", () => {
    const module = createModuleSandbox("export function f() { return 1 }", { filename: "short-lived.js" });
    module.dispose();
    module.dispose();
    expect(() => module.call("f", [], kv)).toThrow(/disposed/);
  });

  it("leaves the process and the engine healthy after all of the above, and leaks no runtime", () => {
    for (const created of open.splice(0)) created.dispose();
    expect(liveSandboxRuntimeCount()).toBe(runtimesBefore);
    // Disposing a runtime with a leaked handle aborts QuickJS, which would retire the engine.
    expect(isSandboxReady()).toBe(true);
    const module = sandbox("export function f(x) { return x * 2 }");
    expect(module.call("f", [21], kv)).toBe(42);
  });
});
