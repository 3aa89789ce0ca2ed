/**
 * JavaScript evaluated (as a global script) in every sandbox context before the untrusted module. It receives the raw
 * host functions, keeps them in its closure (they never become globals), installs `ccf`, `cleanroom` and `console`, and
 * returns the three entry points the host calls: `invoke`, `listExports` and `describeError`.
 *
 * Builtins are captured up front so that a module that patches `JSON`, `Reflect` or prototypes cannot change how its
 * arguments are decoded or its result encoded. Arguments are validated here, in the VM, so that misuse raises a real
 * `TypeError` the module can catch; the host functions then only ever see well-typed values.
 *
 * `invoke` returns a status-tagged string: "m" missing export, "u" undefined, "p" promise, "i<message>" result not
 * JSON-compatible, "j<json>" the result. Anything the called function throws propagates as a QuickJS exception.
 */
export const VM_BOOTSTRAP_SOURCE = String.raw`(function (host) {
  "use strict";
  const kvGet = host.kvGet, kvHas = host.kvHas, kvSet = host.kvSet, kvDelete = host.kvDelete;
  const kvEntries = host.kvEntries, kvSize = host.kvSize, kvGetJson = host.kvGetJson, kvEntriesJson = host.kvEntriesJson, kvVersion = host.kvVersion;
  const hostStrToBuf = host.strToBuf, hostBufToStr = host.bufToStr;
  const hostPemToId = host.pemToId, hostIsValidBundle = host.isValidX509CertBundle;
  const hostCertificateInfo = host.certificateInfo, hostLog = host.log;
  const hostPolicyClaimsCheck = host.policyClaimsCheck, hostPolicyClaimsChange = host.policyClaimsChange;

  const freeze = Object.freeze, defineProperty = Object.defineProperty, keys = Object.keys;
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor, getPrototypeOf = Object.getPrototypeOf;
  const apply = Reflect.apply, jsonParse = JSON.parse, jsonStringify = JSON.stringify;
  const isFinite = Number.isFinite, toString = String;
  const TypeErrorCtor = TypeError, PromiseCtor = Promise, ProxyCtor = Proxy;
  const InternalErrorCtor = typeof InternalError === "function" ? InternalError : undefined;
  const mapGet = Map.prototype.get, mapSet = Map.prototype.set;
  const byteLength = getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get;

  function isArrayBuffer(value) {
    // A brand check: instanceof would accept Object.create(ArrayBuffer.prototype).
    try {
      apply(byteLength, value, []);
      return true;
    } catch (e) {
      return false;
    }
  }
  function buffer(value, what) {
    if (!isArrayBuffer(value)) throw new TypeErrorCtor(what + " must be an ArrayBuffer");
    return value;
  }
  function string(value, what) {
    if (typeof value !== "string") throw new TypeErrorCtor(what + " must be a string");
    return value;
  }

  function makeMap(name) {
    const map = {
      get(key) { return kvGet(name, buffer(key, "key")); },
      has(key) { return kvHas(name, buffer(key, "key")); },
      set(key, value) {
        kvSet(name, buffer(key, "key"), buffer(value, "value"));
        return map;
      },
      delete(key) { return kvDelete(name, buffer(key, "key")); },
      forEach(callback) {
        if (typeof callback !== "function") throw new TypeErrorCtor("forEach callback must be a function");
        // A snapshot: the callback may modify the map without disturbing the host's iteration.
        const entries = kvEntries(name);
        for (let i = 0; i < entries.length; i += 2) apply(callback, undefined, [entries[i + 1], entries[i], map]);
      },
      get size() { return kvSize(name); },
    };
    return freeze(map);
  }
  const maps = new Map();
  const kv = new ProxyCtor({}, {
    get(target, name) {
      if (typeof name !== "string") return undefined;
      let map = apply(mapGet, maps, [name]);
      if (map === undefined) {
        map = makeMap(name);
        apply(mapSet, maps, [name, map]);
      }
      return map;
    },
    set() { return false; },
    defineProperty() { return false; },
    deleteProperty() { return false; },
  });

  const ccf = freeze({
    kv,
    strToBuf(value) { return hostStrToBuf(string(value, "strToBuf argument")); },
    bufToStr(value) { return hostBufToStr(buffer(value, "bufToStr argument")); },
    jsonCompatibleToBuf(value) {
      const json = jsonStringify(value);
      if (typeof json !== "string") throw new TypeErrorCtor("value is not JSON-compatible");
      return hostStrToBuf(json);
    },
    bufToJsonCompatible(value) { return jsonParse(hostBufToStr(buffer(value, "bufToJsonCompatible argument"))); },
    pemToId(pem) { return hostPemToId(string(pem, "pem")); },
    crypto: freeze({
      isValidX509CertBundle(pem) { return hostIsValidBundle(string(pem, "pem")); },
    }),
  });

  const cleanroom = freeze({
    certificateInfo(pem) { return jsonParse(hostCertificateInfo(string(pem, "pem"))); },
    // Reads of JSON values with string keys, in one host call each: faster than ccf.kv plus conversions.
    kv: freeze({
      getJson(map, key) {
        const json = kvGetJson(string(map, "map"), string(key, "key"));
        return json === undefined ? undefined : jsonParse(json);
      },
      entriesJson(map) { return jsonParse(kvEntriesJson(string(map, "map"))); },
      // The "view.seqno" of the key's last write (an optimistic-concurrency version), or undefined.
      version(map, key) { return kvVersion(string(map, "map"), string(key, "key")); },
    }),
    // The service's clean-room policy rules (the claims its verifiers produce); both throw an Error naming the field.
    policyClaims: freeze({
      check(policyType, claims, prefix) {
        return hostPolicyClaimsCheck(jsonStringify({ policyType, claims, prefix: string(prefix, "prefix") }));
      },
      change(current, type, claims, prefix, policyName) {
        const request = { current, type, claims, prefix: string(prefix, "prefix"), policyName: string(policyName, "policyName") };
        return jsonParse(hostPolicyClaimsChange(jsonStringify(request)));
      },
    }),
  });

  function show(value) {
    if (typeof value === "string") return value;
    try {
      const json = jsonStringify(value);
      if (typeof json === "string") return json;
    } catch (e) {
      // Fall through to String() for cycles and BigInts.
    }
    try {
      return toString(value);
    } catch (e) {
      return "[unprintable]";
    }
  }
  function logger(level) {
    if (hostLog === undefined) return function () {};
    return function (...args) {
      let line = "";
      for (let i = 0; i < args.length; i++) line += (i === 0 ? "" : " ") + show(args[i]);
      hostLog(level, line);
    };
  }
  const consoleObject = freeze({
    log: logger("log"), info: logger("info"), warn: logger("warn"), error: logger("error"), debug: logger("debug"),
  });

  for (const [name, value] of [["ccf", ccf], ["cleanroom", cleanroom], ["console", consoleObject]]) {
    defineProperty(globalThis, name, { value, writable: false, enumerable: false, configurable: false });
  }

  // Reads a data property along the prototype chain without running getters.
  function dataProperty(object, name) {
    for (let current = object, depth = 0; current !== null && depth < 64; current = getPrototypeOf(current), depth++) {
      const descriptor = getOwnPropertyDescriptor(current, name);
      if (descriptor !== undefined) return "value" in descriptor ? descriptor.value : undefined;
    }
    return undefined;
  }
  function describeError(error) {
    let name = "", message = "", stack = "";
    try {
      if ((typeof error === "object" && error !== null) || typeof error === "function") {
        const n = dataProperty(error, "name"), m = dataProperty(error, "message"), s = dataProperty(error, "stack");
        if (typeof n === "string") name = n;
        if (typeof m === "string") message = m;
        if (typeof s === "string") stack = s;
        if (name === "" && message === "") message = show(error);
      } else {
        message = show(error);
      }
    } catch (e) {
      if (message === "") message = "[unprintable exception]";
    }
    return jsonStringify([name, message, stack]);
  }
  function isResourceError(error) {
    // Out of memory and stack overflow must reach the host as such, not as "invalid result".
    if (InternalErrorCtor !== undefined && error instanceof InternalErrorCtor) return true;
    const message = error !== null && typeof error === "object" ? dataProperty(error, "message") : undefined;
    return message === "out of memory" || message === "stack overflow";
  }

  function jsonOnly(key, value) {
    const type = typeof value;
    const where = key === "" ? "the result" : "the value at key " + jsonStringify(key);
    if (type === "function" || type === "symbol" || type === "bigint") {
      throw new TypeErrorCtor(where + " is a " + type + ", which is not JSON-compatible");
    }
    if (type === "number" && !isFinite(value)) {
      throw new TypeErrorCtor(where + " is " + toString(value) + ", which is not JSON-compatible");
    }
    return value;
  }

  function invoke(namespace, name, argsJson) {
    const fn = namespace[name];
    if (typeof fn !== "function") return "m";
    const result = apply(fn, undefined, jsonParse(argsJson));
    if (result === undefined) return "u";
    if (result instanceof PromiseCtor) return "p";
    let json;
    try {
      json = jsonStringify(result, jsonOnly);
    } catch (e) {
      if (isResourceError(e)) throw e;
      return "i" + jsonParse(describeError(e))[1];
    }
    if (typeof json !== "string") return "i" + "the result is not JSON-compatible";
    return "j" + json;
  }

  function listExports(namespace) {
    const names = keys(namespace);
    const functions = [];
    for (let i = 0; i < names.length; i++) {
      if (typeof namespace[names[i]] === "function") functions[functions.length] = names[i];
    }
    return jsonStringify(functions);
  }

  return freeze({ invoke, listExports, describeError });
})`;
