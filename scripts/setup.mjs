#!/usr/bin/env node
// Idempotent setup: npm dependencies (with native modules really built), the Python interop tools, and a build; MinIO
// for the federation tests too, but only from `npm test` (the demo and benchmarks have no use for a 5-minute build).
// Each step is skipped when its inputs have not changed since it last succeeded.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, rmSync } from "node:fs";
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

// MinIO, the S3-compatible server test/federation exchanges the issuer's tokens with. Its releases are not semver
// tags, so the Go module proxy knows them only by commit: the pin is a pseudo-version (the commit of 2026-02-12).
// Built from source because its release binaries live on hosts this network does not reach.
export const MINIO_MODULE = "github.com/minio/minio";
export const MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c";
const goBin = join(cacheDir, "go-bin");
export const minioBinary = join(goBin, "minio");

/** The Go toolchain on PATH, else where the official tarball installs it; undefined when there is none. */
function goToolchain() {
  for (const go of ["go", "/usr/local/go/bin/go"]) {
    const result = spawnSync(go, ["version"], { encoding: "utf8" });
    if (result.status === 0) return { go, version: result.stdout.trim() };
  }
  return undefined;
}

export function buildMinio() {
  const toolchain = goToolchain();
  if (!toolchain) {
    log("no Go toolchain found: MinIO is not built, so test/federation skips (and fails when CI is set)");
    return;
  }
  // The stamp alone would not notice a deleted binary.
  if (!existsSync(minioBinary)) rmSync(join(cacheDir, "minio.stamp"), { force: true });
  stamped("minio", `${MINIO_MODULE}@${MINIO_VERSION} ${toolchain.version}`, () => {
    log(`building MinIO ${MINIO_VERSION} with ${toolchain.version} into .cache/go-bin (several minutes on a cold Go cache)`);
    const started = Date.now();
    run(toolchain.go, ["install", `${MINIO_MODULE}@${MINIO_VERSION}`], {
      env: {
        ...process.env,
        GOBIN: goBin,
        // Never fetch another toolchain behind our back: MinIO's go.mod asks for Go 1.24, which any newer Go satisfies.
        GOTOOLCHAIN: "local",
        // A static binary, as MinIO's own releases are; no C toolchain involved.
        CGO_ENABLED: "0",
      },
    });
    log(`built MinIO in ${Math.round((Date.now() - started) / 1000)} s`);
  });
}

export function build() {
  log("building (tsc -b)");
  run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-b"]);
  // tsc does not keep the executable bit that `npx cleanroom` / `npx cleanroom-runtime` need on the entry points.
  for (const pkg of ["cli", "runtime"]) chmodSync(join(root, "packages", pkg, "dist", "bin.js"), 0o755);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  installNodeDependencies();
  installPythonTools();
  build();
  log(`setup complete (cache: ${cacheDir})`);
}
