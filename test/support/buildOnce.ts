/**
 * Vitest global set-up of the `services` project: transpiles the CLI, the framework, the
 * layers, the examples and the reliability worker to plain JS once a run, into
 * `.pandaflow/test-dist-<pid>/` (removed at the end; esbuild, no type-check: `pnpm test`
 * type-checks first), so the end-to-end and reliability tests start their child processes
 * with plain `node` — as an installed `pandaflow` runs — instead of paying tsx's
 * per-process compile, ~3 s a process on a loaded 2-core machine, times ~60 processes.
 */
import { build } from "esbuild"
import { readdirSync, rmSync, statSync } from "node:fs"
import { join } from "node:path"
import { repoRoot } from "./built.js"

/** Every `.ts` file under `dir` (recursively), but declaration files. */
const sources = (dir: string): Array<string> =>
  readdirSync(join(repoRoot, dir)).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(join(repoRoot, path)).isDirectory()) return sources(path)
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : []
  })

export default async function setup() {
  const root = join(repoRoot, ".pandaflow", `test-dist-${process.pid}`)
  process.env["PANDAFLOW_TEST_DIST"] = root
  rmSync(root, { recursive: true, force: true })
  await build({
    absWorkingDir: repoRoot,
    entryPoints: ["src", "layers", "examples", "bin", "test/reliability", "test/support"].flatMap(sources)
      .filter((f) => !f.endsWith(".test.ts")),
    outdir: root,
    outbase: ".",
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "inline",
    logLevel: "warning"
  })
  return () => rmSync(root, { recursive: true, force: true })
}
