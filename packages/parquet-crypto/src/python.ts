import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The Python with pyarrow: `CLEANROOM_PYTHON` when set, else the project's venv (`.cache/python`, which
 * `npm run setup` creates) found upwards from this package, else `python3` from PATH.
 */
export function pythonInterpreter(): string {
  const configured = process.env.CLEANROOM_PYTHON;
  if (configured) return configured;
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(directory, ".cache", "python", "bin", "python");
    if (existsSync(candidate)) return candidate;
    const parent = dirname(directory);
    if (parent === directory) return "python3";
    directory = parent;
  }
}

/** The writer script, shipped beside `src/` and `dist/`. */
export const WRITER_SCRIPT = fileURLToPath(new URL("../python/pme_writer.py", import.meta.url));
