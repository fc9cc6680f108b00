import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each file gets its own Postgres schema and BullMQ prefix, so files run in parallel.
    fileParallelism: true,
    pool: "forks",
    // The JSON report is what .ci/run reads its pass/fail totals from.
    reporters: ["default", ["json", { outputFile: ".test-results/vitest.json" }]],
  },
});
