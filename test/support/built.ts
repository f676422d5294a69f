/**
 * Where `buildOnce.ts` puts the plain-JS build the child processes of the services tests
 * run, and the command lines that start them.
 */
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository root. */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url))

/**
 * The build's root (`src/`, `layers/`, `bin/`, … mirror the repository's): one a vitest
 * run, named by the set-up in `PANDAFLOW_TEST_DIST` (the test processes inherit it), so
 * two runs in one checkout never rebuild under each other's child processes.
 */
export const builtRoot = process.env["PANDAFLOW_TEST_DIST"] ?? join(repoRoot, ".pandaflow", "test-dist")

/** The built CLI (bin/pandaflow.ts): `node <cliScript> …` runs it as an installed `pandaflow` does. */
export const cliScript = join(builtRoot, "bin", "pandaflow.js")

/** The built reliability worker (test/reliability/worker.ts). */
export const workerScript = join(builtRoot, "test", "reliability", "worker.js")
