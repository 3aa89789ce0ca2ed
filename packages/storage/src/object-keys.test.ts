import { describe, expect, it } from "vitest";
import { compareKeys, isValidKey, validateKey, validatePrefix } from "./object-keys.js";

describe("object keys", () => {
  it("are '/'-separated segments that each name one file or folder", () => {
    for (const key of ["a.csv", "2025-09-01/part-0.parquet", "..x/.y/z..", "a b/ü.csv", "x".repeat(1024)]) expect(validateKey(key)).toBe(key);
    for (const key of ["", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "a\\b", "a\u0000b", "a\u007fb", "a\u0085b", "é".repeat(513)]) {
      expect(isValidKey(key), JSON.stringify(key)).toBe(false);
    }
  });

  it("have prefixes made of whole valid segments and a partial last one", () => {
    for (const prefix of ["", "2025-09-", "2025-09-01/", "a/b", "a/.hid"]) expect(validatePrefix(prefix)).toBe(prefix);
    for (const prefix of ["/", "/a", "a//", "../", "a/..", "a/.", "a\\", "a/\u0001"]) {
      expect(() => validatePrefix(prefix), JSON.stringify(prefix)).toThrow(expect.objectContaining({ code: "InvalidObjectKey" }));
    }
  });

  it("sort by UTF-8 bytes, as S3 lists them", () => {
    // U+FF5E is one UTF-16 unit above the surrogate pair of U+1F600, but fewer UTF-8 bytes sort it below.
    expect(["\u{1F600}", "\uFF5E", "a/b", "a-b", "a.b"].sort(compareKeys)).toEqual(["a-b", "a.b", "a/b", "\uFF5E", "\u{1F600}"]);
  });
});
