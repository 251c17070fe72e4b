import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Fleet and SSH tests start real servers; two workers match the 2-core machines CI runs on.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
