#!/usr/bin/env node
// Idempotent setup: npm dependencies (with native modules really built), the Python interop tools, and a build.
// Each step is skipped when its inputs have not changed since it last succeeded.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, log, root, run, sha256OfFiles, stamped } from "./lib.mjs";

const npmEnv = {
  ...process.env,
  // better-sqlite3 would first try to download a prebuilt binary from GitHub, which this network does not reach.
  npm_config_build_from_source: "true",
  npm_config_fund: "false",
  npm_config_audit: "false",
};

function nativeModulesLoad() {
  const probe = "const D=require('better-sqlite3'); new D(':memory:').prepare('select 1').get();";
  return spawnSync(process.execPath, ["-e", probe], { cwd: root, stdio: "ignore" }).status === 0;
}

export function installNodeDependencies() {
  const lock = join(root, "package-lock.json");
  const manifests = [join(root, "package.json"), lock];
  stamped("npm", sha256OfFiles(...manifests), () => {
    log("installing npm dependencies");
    run("npm", existsSync(lock) ? ["ci", "--no-fund", "--no-audit"] : ["install"], { env: npmEnv });
  });
  if (!nativeModulesLoad()) {
    log("building better-sqlite3 from source");
    run("npm", ["rebuild", "better-sqlite3"], { env: npmEnv });
    if (!nativeModulesLoad()) {
      log("better-sqlite3 did not build: check that python3, make and g++ are installed");
      process.exit(1);
    }
  }
}

export const pythonVenv = join(cacheDir, "python");

export function installPythonTools() {
  const requirements = join(root, "scripts", "python", "requirements.txt");
  stamped("python", sha256OfFiles(requirements), () => {
    log("installing Python interop tools (ccf) into .cache/python");
    if (!existsSync(join(pythonVenv, "bin", "python"))) run("python3", ["-m", "venv", pythonVenv]);
    run(join(pythonVenv, "bin", "pip"), ["install", "--quiet", "--disable-pip-version-check", "-r", requirements]);
  });
}

export function build() {
  log("building (tsc -b)");
  run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-b"]);
  // tsc does not keep the executable bit that `npx cleanroom` needs on the CLI's entry point.
  chmodSync(join(root, "packages", "cli", "dist", "bin.js"), 0o755);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  installNodeDependencies();
  installPythonTools();
  build();
  log(`setup complete (cache: ${cacheDir})`);
}
