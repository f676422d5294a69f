/**
 * `pnpm bench:embedded`: the embedded mode a newcomer runs (`pandaflow --once`: emulator,
 * in-memory broker, PGlite), built JS, for several record counts (`--records 1000,50000`),
 * each in its own process: wall time, records/s, CPU seconds and peak RSS. Needs no
 * service. Figures are written to bench/results/.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : undefined
}
const counts = (arg("records") ?? "1000,50000").split(",").map(Number)
execFileSync("bash", ["scripts/pnpm.sh", "run", "build"], { stdio: "ignore" })
const env: Record<string, string> = {}
for (const [k, v] of Object.entries(process.env)) {
  // The embedded mode is what runs with no service address configured.
  if (v !== undefined && !/^PANDAFLOW_(BROKERS|PG_URL|CASSANDRA_CONTACT_POINTS|API_URL)$/.test(k)) env[k] = v
}
const rows = counts.map((records) => {
  const started = process.hrtime.bigint()
  const run = spawnSync(
    "node",
    ["--import", "./bench/peak-rss.mjs", "dist/bin/pandaflow.js", "--once", "--quiet", "--records", String(records)],
    { env, encoding: "utf8" }
  )
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const line = run.stderr.split("\n").find((l) => l.startsWith("bench-figures "))
  if (run.status !== 0 || line === undefined) throw new Error(`embedded run of ${records} failed: ${run.stderr.slice(-2000)}`)
  const figures = JSON.parse(line.slice("bench-figures ".length)) as { peakRssMiB: number; cpuSeconds: number }
  return { records, seconds, recordsPerSecond: records / seconds, ...figures }
})
console.log("\nbench: embedded mode (pandaflow --once, built JS; start-up included)")
for (const r of rows) {
  console.log(
    `${String(r.records).padStart(8)} records ${r.seconds.toFixed(2).padStart(7)} s ${Math.round(r.recordsPerSecond).toLocaleString("en-US").padStart(8)} rec/s ${r.cpuSeconds.toFixed(1).padStart(6)} CPU s ${r.peakRssMiB.toFixed(0).padStart(6)} MiB peak RSS`
  )
}
mkdirSync("bench/results", { recursive: true })
const file = `bench/results/embedded-${Date.now().toString(36)}.json`
writeFileSync(file, JSON.stringify({ rows, at: new Date().toISOString() }, null, 2))
console.log(`bench: figures written to ${file}`)
