import { readFileSync } from "node:fs";

/**
 * The constitution a new service starts with. It lives in `packages/governance/constitution/default.js` as a real
 * module (linted, readable, and submittable as-is in a set_constitution proposal); this file is at the same depth
 * under src/ and dist/, so the relative path holds for both.
 */
export const DEFAULT_CONSTITUTION: string = readFileSync(new URL("../../constitution/default.js", import.meta.url), "utf8");
