import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./repo-root.js";

const root = repoRoot();

/** The Python environment with CCF's tools that `scripts/setup.mjs` installs. */
export const pythonBin = join(root, ".cache", "python", "bin");

export function pythonTool(name: string): string {
  const path = join(pythonBin, name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`node scripts/setup.mjs\` (npm test does) to install the Python interop tools.`);
  return path;
}

/** Runs a tool from that environment; returns stdout as bytes, throws with its stderr on failure. */
export function runPythonTool(name: string, args: string[]): Buffer {
  const result = spawnSync(pythonTool(name), args, { timeout: 60_000 });
  if (result.status !== 0) throw new Error(`${name} failed (${result.status}): ${result.stderr?.toString() ?? ""}`);
  return result.stdout;
}

/** CCF's own receipt verifier, driven by the ledger package's script. */
export function verifyReceiptsWithCcf(serviceCertificateFile: string, receiptFiles: string[]): { status: number | null; output: string } {
  const script = join(root, "packages", "ledger", "src", "testdata", "verify_receipts.py");
  const result = spawnSync(pythonTool("python"), [script, serviceCertificateFile, ...receiptFiles], { encoding: "utf8", timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
