import { createSelfSignedCertificate, generateP384KeyPair, parseCertificate } from "@cleanroom/crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createModuleSandbox, initSandbox, type ModuleSandbox, type SandboxLogLevel } from "./module-sandbox.js";
import { expectSandboxError, MemoryKv } from "./sandbox-test-support.case.js";

const open: ModuleSandbox[] = [];

function sandbox(source: string, log?: (level: SandboxLogLevel, message: string) => void): ModuleSandbox {
  const created = createModuleSandbox(source, { filename: "api-test.js", log });
  open.push(created);
  return created;
}

beforeAll(async () => {
  await initSandbox();
});

afterAll(() => {
  for (const created of open) created.dispose();
});

describe("ccf.kv", () => {
  const module = (): ModuleSandbox =>
    sandbox(`
      const s = ccf.strToBuf, t = ccf.bufToStr;
      export function roundTrip() {
        const map = ccf.kv["public:test"];
        const chained = map.set(s("a"), s("1")).set(s("b"), s("2"));
        const seen = [];
        map.forEach((value, key, table) => seen.push([t(key), t(value), table === map]));
        return {
          sameObject: ccf.kv["public:test"] === map && chained === map,
          a: t(map.get(s("a"))),
          missing: map.get(s("zzz")) === undefined,
          hasA: map.has(s("a")),
          hasZ: map.has(s("zzz")),
          size: map.size,
          seen,
          deleted: map.delete(s("a")),
          deletedAgain: map.delete(s("a")),
          sizeAfter: map.size,
        };
      }
      export function readHost(key) {
        const value = ccf.kv["public:host"].get(s(key));
        return value === undefined ? null : Array.from(new Uint8Array(value));
      }
      export function writeBytes(key, bytes) {
        ccf.kv["public:bytes"].set(s(key), new Uint8Array(bytes).buffer);
      }
      export function writeReadOnly(catchIt) {
        if (!catchIt) return ccf.kv["public:ro"].set(s("k"), s("v"));
        try {
          ccf.kv["public:ro"].set(s("k"), s("v"));
          return "not thrown";
        } catch (e) {
          return [e instanceof Error, e.message];
        }
      }
      export function wrongTypes() {
        const results = [];
        for (const attempt of [
          () => ccf.kv["public:test"].get("a string"),
          () => ccf.kv["public:test"].set(s("k"), "value"),
          () => ccf.kv["public:test"].has(Object.create(ArrayBuffer.prototype)),
          () => ccf.kv["public:test"].delete(new Uint8Array(1)),
          () => ccf.kv["public:test"].forEach(42),
        ]) {
          try {
            attempt();
            results.push("no error");
          } catch (e) {
            results.push(e instanceof TypeError);
          }
        }
        return results;
      }
    `);

  it("gets, sets, deletes, iterates and counts through the host store", () => {
    const kv = new MemoryKv();
    expect(module().call("roundTrip", [], kv)).toEqual({
      sameObject: true,
      a: "1",
      missing: true,
      hasA: true,
      hasZ: false,
      size: 2,
      // CCF's argument order: value first, then key.
      seen: [
        ["a", "1", true],
        ["b", "2", true],
      ],
      deleted: true,
      deletedAgain: false,
      sizeAfter: 1,
    });
    expect(kv.getText("public:test", "a")).toBeUndefined();
    expect(kv.getText("public:test", "b")).toBe("2");
  });

  it("passes values as raw bytes and keys as UTF-8 strings", () => {
    const kv = new MemoryKv();
    kv.maps.set("public:host", new Map([["clé ☃", Uint8Array.from([0, 255, 128])]]));
    const sandboxed = module();
    expect(sandboxed.call("readHost", ["clé ☃"], kv)).toEqual([0, 255, 128]);
    expect(sandboxed.call("readHost", ["absent"], kv)).toBeNull();
    sandboxed.call("writeBytes", ["k", [1, 2, 254]], kv);
    expect(kv.get("public:bytes", "k")).toEqual(Uint8Array.from([1, 2, 254]));
    sandboxed.call("writeBytes", ["empty", []], kv);
    expect(kv.get("public:bytes", "empty")).toEqual(new Uint8Array(0));
  });

  it("surfaces host exceptions as catchable JS Errors with the same message", () => {
    const kv = new MemoryKv(["public:ro"]);
    const sandboxed = module();
    expect(sandboxed.call("writeReadOnly", [true], kv)).toEqual([true, "map public:ro is read-only in resolve"]);
    const error = expectSandboxError(() => sandboxed.call("writeReadOnly", [false], kv), "runtime");
    expect(error.message).toBe("map public:ro is read-only in resolve");
  });

  it("throws a TypeError inside the VM for keys and values that are not ArrayBuffers", () => {
    expect(module().call("wrongTypes", [], new MemoryKv())).toEqual([true, true, true, true, true]);
  });

  it("is only available during a call", () => {
    const error = expectSandboxError(
      () => sandbox("ccf.kv['public:test'].get(ccf.strToBuf('a')); export function f() {}"),
      "compile",
    );
    expect(error.message).toContain("only available while an exported function is called");
  });
});

describe("ccf helpers", () => {
  it("converts strings and JSON to and from UTF-8 buffers", () => {
    const module = sandbox(`
      export function f(text, value) {
        const buf = ccf.strToBuf(text);
        return {
          length: buf.byteLength,
          text: ccf.bufToStr(buf),
          json: ccf.bufToJsonCompatible(ccf.jsonCompatibleToBuf(value)),
          jsonText: ccf.bufToStr(ccf.jsonCompatibleToBuf(value)),
        };
      }
    `);
    expect(module.call("f", ["é☃😀", { a: [1, "x", null] }], new MemoryKv())).toEqual({
      length: 2 + 3 + 4,
      text: "é☃😀",
      json: { a: [1, "x", null] },
      jsonText: '{"a":[1,"x",null]}',
    });
  });

  it("reads JSON values by string key, singly and for a whole map, in one host call each", () => {
    const kv = new MemoryKv();
    const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
    kv.set("public:m", "b", encode({ n: 2 }));
    kv.set("public:m", "a", encode([1, "x"]));
    kv.set("public:bad", "k", new TextEncoder().encode("{not json"));
    const module = sandbox(`
      export function f() {
        return { one: cleanroom.kv.getJson("public:m", "b"), none: cleanroom.kv.getJson("public:m", "zz") === undefined,
          all: cleanroom.kv.entriesJson("public:m"), empty: cleanroom.kv.entriesJson("public:empty") };
      }
      export function bad() { try { cleanroom.kv.entriesJson("public:bad"); return "no error"; } catch (e) { return e.message; } }
      export function wrongType() { try { cleanroom.kv.getJson("public:m", 1); return "no error"; } catch (e) { return e.name; } }
    `);
    expect(module.call("f", [], kv)).toEqual({ one: { n: 2 }, none: true, all: [["a", [1, "x"]], ["b", { n: 2 }]], empty: [] });
    expect(module.call("bad", [], kv)).toBe("The value of 'k' in 'public:bad' is not JSON.");
    expect(module.call("wrongType", [], kv)).toBe("TypeError");
  });

  it("reports a key's version (the transaction of its last write) for optimistic-concurrency checks", () => {
    const kv = new MemoryKv();
    kv.versions.set("public:m\0k", "2.17");
    const module = sandbox(`
      export function f() { return [cleanroom.kv.version("public:m", "k"), cleanroom.kv.version("public:m", "none") === undefined]; }
      export function wrongType() { try { cleanroom.kv.version("public:m", 1); return "no error"; } catch (e) { return e.name; } }
    `);
    expect(module.call("f", [], kv)).toEqual(["2.17", true]);
    expect(module.call("wrongType", [], kv)).toBe("TypeError");
  });

  it("offers no host access beyond the API", () => {
    const module = sandbox(`
      export function f() {
        return [typeof setTimeout, typeof require, typeof process, typeof fetch, typeof std, typeof os,
          typeof ccf, typeof cleanroom, typeof console];
      }
      export function overwrite() { ccf = null; }
    `);
    expect(module.call("f", [], new MemoryKv())).toEqual([
      "undefined", "undefined", "undefined", "undefined", "undefined", "undefined", "object", "object", "object",
    ]);
    expectSandboxError(() => module.call("overwrite", [], new MemoryKv()), "runtime");
  });

  it("sends console output to the log sink, and drops it without one", () => {
    const lines: [SandboxLogLevel, string][] = [];
    const source = "export function f() { console.log('hello', 42, { a: 1 }); console.warn('careful'); return 1 }";
    expect(sandbox(source, (level, message) => lines.push([level, message])).call("f", [], new MemoryKv())).toBe(1);
    expect(lines).toEqual([
      ["log", 'hello 42 {"a":1}'],
      ["warn", "careful"],
    ]);
    expect(sandbox(source).call("f", [], new MemoryKv())).toBe(1);
  });
});

describe("certificate helpers", async () => {
  const keys = generateP384KeyPair();
  const pem = await createSelfSignedCertificate(keys, { commonName: "m0" });
  const other = await createSelfSignedCertificate(generateP384KeyPair(), { commonName: "m1" });
  const expected = parseCertificate(pem);
  const module = (): ModuleSandbox =>
    sandbox(`
      function attempt(fn) {
        try {
          return { ok: fn() };
        } catch (e) {
          return { error: e instanceof Error ? e.message : String(e) };
        }
      }
      export function id(pem) { return attempt(() => ccf.pemToId(pem)) }
      export function valid(pem) { return ccf.crypto.isValidX509CertBundle(pem) }
      export function info(pem) { return attempt(() => cleanroom.certificateInfo(pem)) }
    `);

  it("computes the member id of a real P-384 certificate", () => {
    expect(module().call("id", [pem], new MemoryKv())).toEqual({ ok: expected.id });
  });

  it("describes a real P-384 certificate", () => {
    expect(module().call("info", [pem], new MemoryKv())).toEqual({
      ok: {
        id: expected.id,
        subject: expected.subject,
        isP384: true,
        notBefore: expected.notBefore.toISOString(),
        notAfter: expected.notAfter.toISOString(),
      },
    });
    expect(expected.subject).toContain("m0");
  });

  it("validates certificate bundles", () => {
    const sandboxed = module();
    const kv = new MemoryKv();
    expect(sandboxed.call("valid", [pem], kv)).toBe(true);
    expect(sandboxed.call("valid", [pem + other], kv)).toBe(true);
    expect(sandboxed.call("valid", ["garbage"], kv)).toBe(false);
    expect(sandboxed.call("valid", [""], kv)).toBe(false);
    expect(sandboxed.call("valid", [pem + "trailing garbage"], kv)).toBe(false);
    const corrupted = pem.replace(/-----BEGIN CERTIFICATE-----\n(.)/, (_, first: string) => `-----BEGIN CERTIFICATE-----\n${first === "A" ? "B" : "A"}`);
    expect(sandboxed.call("valid", [corrupted], kv)).toBe(false);
  });

  it("throws catchable errors inside the VM for garbage and bundles", () => {
    const sandboxed = module();
    const kv = new MemoryKv();
    for (const input of ["garbage", "", pem + other]) {
      expect(sandboxed.call("id", [input], kv)).toEqual({ error: expect.any(String) as unknown });
      expect(sandboxed.call("info", [input], kv)).toEqual({ error: expect.any(String) as unknown });
    }
    expect(sandboxed.call("info", [pem + other], kv)).toEqual({ error: "Expected exactly one PEM certificate, found 2." });
  });
});
