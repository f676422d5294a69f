import { defineConfig } from "vitest/config"

// Two projects: `unit` needs nothing but Node; `services` talks to the real broker,
// Postgres and Cassandra that `pnpm services:up` starts (scripts/test-all.sh does it).
// A third, `soak` (test/soak: the long runs, ~10 minutes), exists only when
// PANDAFLOW_SOAK=1 (`pnpm test:soak`), so a plain `vitest run` and CI never pick it up.
const soak = process.env["PANDAFLOW_SOAK"] === "1"
  ? [{
    test: {
      name: "soak",
      include: ["test/soak/**/*.test.ts"],
      globalSetup: ["test/support/buildOnce.ts"],
      pool: "forks" as const,
      poolOptions: { forks: { singleFork: true } },
      testTimeout: 900_000,
      hookTimeout: 180_000
    }
  }]
  : []

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          // `*.memory.test.ts` anywhere: end-to-end and reliability twins on the doubles.
          include: ["test/unit/**/*.test.ts", "test/scheduler/**/*.test.ts", "test/**/*.memory.test.ts"],
          testTimeout: 30_000
        }
      },
      {
        test: {
          name: "services",
          include: [
            "test/contract/**/*.test.ts",
            "test/integration/**/*.test.ts",
            "test/e2e/**/*.test.ts",
            "test/reliability/**/*.test.ts",
            "test/package/**/*.test.ts"
          ],
          exclude: ["test/**/*.memory.test.ts"],
          // Child processes (the CLI, reliability workers) run a plain-JS build made once.
          globalSetup: ["test/support/buildOnce.ts"],
          // The machine has two cores shared with three servers: one file at a time.
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 180_000,
          hookTimeout: 180_000
        }
      },
      ...soak
    ]
  }
})
