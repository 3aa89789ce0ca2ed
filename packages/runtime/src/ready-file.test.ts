import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeReadyFile } from "./ready-file.js";

describe("writeReadyFile", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it("leaves only the complete file, replacing an older one", () => {
    const dir = mkdtempSync(join(tmpdir(), "ready-"));
    dirs.push(dir);
    const path = join(dir, "service.ready.json");
    writeReadyFile(path, { url: "https://127.0.0.1:1" });
    writeReadyFile(path, { url: "https://127.0.0.1:2", hostData: "ab" });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ url: "https://127.0.0.1:2", hostData: "ab" });
    expect(readdirSync(dir)).toEqual(["service.ready.json"]);
  });

  it("fails without leaving a file when the folder does not exist", () => {
    const path = join(tmpdir(), "no-such-folder-" + process.pid, "ready.json");
    expect(() => writeReadyFile(path, {})).toThrow(/ENOENT/);
    expect(existsSync(path)).toBe(false);
  });
});
