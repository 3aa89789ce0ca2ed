import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderCliReference } from "@cleanroom/cli";
import { repoRoot } from "../support/repo-root.js";

describe("docs/cli.md", () => {
  it("matches the CLI's command tree (run `npm run docs` after changing commands)", () => {
    expect(readFileSync(join(repoRoot(), "docs", "cli.md"), "utf8")).toBe(renderCliReference());
  });
});
