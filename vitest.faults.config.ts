import { defineConfig } from "vitest/config";

// The fault suite (`npm run test:faults`): real processes killed and services cut off. Kept out
// of `npm test` (vitest.config.ts includes only test/**/*.test.ts); runs alone, file after file.
export default defineConfig({
  test: {
    include: ["test/faults/**/*.faults.ts"],
    testTimeout: 330_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: "forks",
    // .ci/run adds this report's totals to the main suite's.
    reporters: ["default", ["json", { outputFile: ".test-results/faults.json" }]],
  },
});
