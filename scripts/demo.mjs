#!/usr/bin/env node
// `npm run demo`: installs and builds, then `cleanroom demo`: a fresh local clean room (`cleanroom up`: the
// governance service, the agent with the embedded engine, the virtual attestation platform) and a complete
// publisher/advertiser collaboration through it, every step a real `cleanroom` command, printed before it runs.
// Arguments after `--` go to `cleanroom demo` (e.g. `npm run demo -- --rows 200000`).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { build, installNodeDependencies, installPythonTools } from "./setup.mjs";
import { cacheDir, root } from "./lib.mjs";

installNodeDependencies();
installPythonTools();
build();

const cli = join(root, "packages", "cli", "dist", "bin.js");
const result = spawnSync(process.execPath, [cli, "demo", "--dir", join(cacheDir, "demo"), ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, CLEANROOM_HOME: join(cacheDir, "demo", "home") },
});
process.exit(result.status ?? 1);
