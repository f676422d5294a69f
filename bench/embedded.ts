/**
 * `pnpm bench:embedded`: the embedded mode a newcomer runs (`pandaflow --once`: emulator,
 * in-memory broker, PGlite), built JS, for several record counts (`--records 1000,50000`),
 * each in its own process, `--runs` times (default 3) interleaved, under Node's default
 * heap and under the small heap the README documents (`NODE_OPTIONS`, below): median
 * (min–max) wall time, records/s, CPU seconds and peak RSS. Needs no service. Figures are
 * written to bench/results/.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : undefined
}
const counts = (arg("records") ?? "1000,50000").split(",").map(Number)
const runs = Number(arg("runs") ?? 3)
/**
 * The heaps raced. V8 lets old space grow to ~3x what survives a full GC (~55 MiB live at
 * 50,000 records) and PGlite's WebAssembly memory is a fixed ~130 MiB: the small heap caps
 * the old space and the young generation, for ~40 % more CPU (more collections).
 */
const heaps = [
  { name: "default heap", nodeOptions: "" },
  { name: "small heap", nodeOptions: "--max-old-space-size=160 --max-semi-space-size=4" }
] as const
execFileSync("bash", ["scripts/pnpm.sh", "run", "build"], { stdio: "ignore" })
const env: Record<string, string> = {}
for (const [k, v] of Object.entries(process.env)) {
  // The embedded mode is what runs with no service address configured.
  if (v !== undefined && !/^PANDAFLOW_(BROKERS|PG_URL|CASSANDRA_CONTACT_POINTS|API_URL)$/.test(k) && k !== "NODE_OPTIONS") env[k] = v
}

interface Sample {
  readonly seconds: number
  readonly peakRssMiB: number
  readonly cpuSeconds: number
}

const runOnce = (records: number, nodeOptions: string): Sample => {
  const started = process.hrtime.bigint()
  const run = spawnSync(
    "node",
    ["--import", "./bench/peak-rss.mjs", "dist/bin/pandaflow.js", "--once", "--quiet", "--records", String(records)],
    { env: { ...env, NODE_OPTIONS: nodeOptions }, encoding: "utf8" }
  )
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const line = run.stderr.split("\n").find((l) => l.startsWith("bench-figures "))
  if (run.status !== 0 || line === undefined) throw new Error(`embedded run of ${records} failed: ${run.stderr.slice(-2000)}`)
  const figures = JSON.parse(line.slice("bench-figures ".length)) as { peakRssMiB: number; cpuSeconds: number }
  return { seconds, ...figures }
}

const samples = new Map<string, Array<Sample>>()
for (let round = 0; round < runs; round++) {
  for (const records of counts) {
    for (const heap of heaps) {
      const key = `${records}|${heap.name}`
      samples.set(key, [...(samples.get(key) ?? []), runOnce(records, heap.nodeOptions)])
    }
  }
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const stat = (xs: ReadonlyArray<number>) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) })
const rows = counts.flatMap((records) =>
  heaps.map((heap) => {
    const s = samples.get(`${records}|${heap.name}`)!
    const seconds = stat(s.map((x) => x.seconds))
    return {
      records,
      heap: heap.name,
      nodeOptions: heap.nodeOptions,
      seconds,
      recordsPerSecond: records / seconds.median,
      cpuSeconds: stat(s.map((x) => x.cpuSeconds)),
      peakRssMiB: stat(s.map((x) => x.peakRssMiB))
    }
  })
)
const range = (x: { median: number; min: number; max: number }, digits: number) =>
  `${x.median.toFixed(digits)} (${x.min.toFixed(digits)}–${x.max.toFixed(digits)})`
console.log(`\nbench: embedded mode (pandaflow --once, built JS; start-up included), median (min–max) of ${runs} interleaved runs`)
for (const r of rows) {
  console.log(
    `${String(r.records).padStart(8)} records  ${r.heap.padEnd(12)} ${range(r.seconds, 1).padStart(18)} s ${Math.round(r.recordsPerSecond).toLocaleString("en-US").padStart(7)} rec/s ` +
      `${range(r.cpuSeconds, 1).padStart(18)} CPU s ${range(r.peakRssMiB, 0).padStart(15)} MiB peak RSS`
  )
}
mkdirSync("bench/results", { recursive: true })
const file = `bench/results/embedded-${Date.now().toString(36)}.json`
writeFileSync(file, JSON.stringify({ runs, rows, at: new Date().toISOString() }, null, 2))
console.log(`bench: figures written to ${file}`)
