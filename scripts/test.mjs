#!/usr/bin/env node
// `npm test`: set up what the tests need, build (which type-checks the packages), type-check tests and benches,
// lint, then run every test with vitest. Extra arguments are passed to vitest (e.g. a file filter).
import { join } from "node:path";
import { build, buildMinio, installNodeDependencies, installPythonTools } from "./setup.mjs";
import { log, root, run } from "./lib.mjs";

const bin = (pkg, ...path) => join(root, "node_modules", pkg, ...path);

installNodeDependencies();
installPythonTools();
buildMinio();
build();
log("type-checking tests, benchmarks and scripts");
run(process.execPath, [bin("typescript", "bin", "tsc"), "-p", "tsconfig.check.json"]);
log("linting");
run(process.execPath, [bin("eslint", "bin", "eslint.js"), "--max-warnings", "0", "."]);
log("running tests");
run(process.execPath, [bin("vitest", "vitest.mjs"), "run", ...process.argv.slice(2)]);
