// Shared helpers for the project's own scripts. Node built-ins only: these run before `npm ci`.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const cacheDir = join(root, ".cache");

export function log(message) {
  process.stderr.write(`\x1b[36m[cleanroom]\x1b[0m ${message}\n`);
}

/** Runs a command with inherited stdio; exits the script with its status on failure. */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", cwd: root, ...options });
  if (result.status !== 0) {
    log(`${command} ${args.join(" ")} failed (${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

export function sha256OfFiles(...files) {
  const hash = createHash("sha256");
  for (const file of files) hash.update(existsSync(file) ? readFileSync(file) : "");
  hash.update(process.version);
  return hash.digest("hex");
}

/** Re-runs `action` only when the stamp for `name` differs from `digest` (idempotent setup steps). */
export function stamped(name, digest, action) {
  mkdirSync(cacheDir, { recursive: true });
  const stamp = join(cacheDir, `${name}.stamp`);
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === digest) return false;
  action();
  writeFileSync(stamp, digest);
  return true;
}
