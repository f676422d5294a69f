/**
 * Where `buildOnce.ts` puts the plain-JS build the child processes of the services tests
 * run, and the command lines that start them.
 */
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository root. */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url))

/** The build's root: `src/`, `layers/`, `bin/`, … mirror the repository's. */
export const builtRoot = join(repoRoot, ".pandaflow", "test-dist")

/** The built CLI (bin/pandaflow.ts): `node <cliScript> …` runs it as an installed `pandaflow` does. */
export const cliScript = join(builtRoot, "bin", "pandaflow.js")

/** The built reliability worker (test/reliability/worker.ts). */
export const workerScript = join(builtRoot, "test", "reliability", "worker.js")
