import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources in tests (see each package.json "exports"). Vitest runs
// tests in Vite's SSR environment, which has its own resolve conditions. Not Vite's default "module": it is a
// bundlers' condition, and the AWS SDK's files under it import without file extensions, which Node cannot load
// once Vite hands them to Node as external dependencies; without it, dependencies resolve as Node resolves them.
const conditions = ["@cleanroom/source", "node", "development|production"];

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
