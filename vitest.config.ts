import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources in tests (see each package.json "exports"). Vitest runs
// tests in Vite's SSR environment, which has its own resolve conditions.
const conditions = ["@cleanroom/source", "module", "node", "development|production"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ["packages/*/src/**/*.test.ts", "test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
