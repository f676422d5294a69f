/**
 * `pnpm bench:readme`: rewrites the block of README.md between `<!-- bench:start -->` and
 * `<!-- bench:end -->` with the table of the latest `bench/results/pipeline-*.json` (and
 * the latest `spark-*.json`, if any), so the README shows what the last `pnpm bench` measured.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import type { Stat, Summary } from "./summary.js"

interface Results {
  readonly at: string
  readonly records: number
  readonly runs: number
  readonly runtime: string
  readonly window: string
  readonly latencyRate: number
  readonly machine: { readonly cores: number; readonly memoryGiB: number; readonly node: string; readonly kafka: string; readonly postgres: string; readonly cassandra: string }
  readonly summaries: Record<string, Summary>
  readonly latency: Record<string, Summary>
  readonly ratios: Record<string, number | null | undefined>
  readonly settings?: Readonly<Record<string, string>>
  readonly goals?: ReadonlyArray<{ readonly goal: string; readonly value: number; readonly unit: string; readonly met: boolean }>
}
interface SparkRun { readonly mode: string; readonly records: number; readonly recordsPerSecond: number; readonly cpuSeconds: number; readonly peakRssMiB: number }

const latest = (prefix: string): string | undefined =>
  readdirSync("bench/results").filter((f) => f.startsWith(prefix) && f.endsWith(".json"))
    .map((f) => ({ f, at: String((JSON.parse(readFileSync(`bench/results/${f}`, "utf8")) as { at?: string }).at ?? "") }))
    .sort((a, b) => a.at.localeCompare(b.at) || a.f.localeCompare(b.f)).pop()?.f

const n = (x: number) => Math.round(x).toLocaleString("en-US")
const r = (s: Stat) => `${n(s.median)} (${n(s.min)}–${n(s.max)})`
// What the services spent while the child ran (set-up included): on 2 cores, the other core.
const services = (s: Summary) =>
  s.servicesCpuSeconds === undefined ? "–" : ["kafka", "postgres", "cassandra"].map((k) => (s.servicesCpuSeconds[k] ?? 0).toFixed(1)).join(" / ")
const file = latest("pipeline-")
if (file === undefined) throw new Error("no bench/results/pipeline-*.json: run `pnpm bench` first")
const res = JSON.parse(readFileSync(`bench/results/${file}`, "utf8")) as Results
const m = res.machine
const lines = [
  `Last \`pnpm bench\` (${res.at.slice(0, 10)}, \`bench/results/${file}\`): ${n(res.records)} records, 3 partitions, median (min–max) of ${res.runs} interleaved runs, ${res.runtime === "js" ? "built JS" : "tsx"}; ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, Kafka ${m.kafka}, PostgreSQL ${m.postgres}, Cassandra ${m.cassandra}. Window: ${res.window}. CPU is the child's user+sys inside the window; the services' CPU is theirs over the child's whole life.`,
  ...(Object.keys(res.settings ?? {}).length === 0 ? [] : ["", `Not the defaults: ${Object.entries(res.settings!).map(([k, v]) => `\`${k}=${v}\``).join(", ")}.`]),
  "",
  "| contender | records/s | CPU s (window) | µs CPU a record | peak RSS MiB | services' CPU s: Kafka / Postgres / Cassandra |",
  "|---|---|---|---|---|---|",
  ...Object.values(res.summaries).map((s) =>
    `| ${s.name} | ${r(s.recordsPerSecond)} | ${Number.isNaN(s.windowCpuSeconds.median) || s.windowCpuSeconds.median === null ? "–" : s.windowCpuSeconds.median.toFixed(1)} | ${Number.isNaN(s.cpuMicrosPerRecord.median) || s.cpuMicrosPerRecord.median === null ? "–" : n(s.cpuMicrosPerRecord.median)} | ${n(s.peakRssMiB.median)} | ${services(s)} |`
  ),
  ...Object.values(res.latency).map((s) =>
    `| latency at ${n(res.latencyRate)} rec/s: ${s.name} | send → row visible: ${s.visibleP50Ms ? `p50 ${r(s.visibleP50Ms)} ms, p99 ${r(s.visibleP99Ms!)} ms` : "–"}; send → committed: p50 ${r(s.latencyP50Ms!)} ms, p99 ${r(s.latencyP99Ms!)} ms | | | ${n(s.peakRssMiB.median)} | ${services(s)} |`
  ),
  "",
  ...Object.entries(res.ratios).filter(([, v]) => typeof v === "number").map(([k, v]) => `- ${k}: **${(v as number).toFixed(2)}**`),
  ...(res.goals === undefined ? [] : ["", "Issue 11's goals in this run:", "",
    ...res.goals.map((g) => `- ${g.goal}: **${g.value.toFixed(g.unit === "×" ? 3 : 0)} ${g.unit}** — ${g.met ? "met" : "not met"}`)])
]
const spark = latest("spark-")
if (spark !== undefined) {
  const s = JSON.parse(readFileSync(`bench/results/${spark}`, "utf8")) as { spark: string; note?: string; runs: ReadonlyArray<SparkRun> }
  lines.push("", `\`pnpm bench:spark\` (PySpark ${s.spark} local[2], \`bench/results/${spark}\`; session start-up outside the window)${s.note ? `: ${s.note}` : ":"}`, "",
    "| Spark mode | records | records/s | CPU s (process) | peak RSS MiB |", "|---|---|---|---|---|",
    ...s.runs.map((x) => `| ${x.mode} | ${n(x.records)} | ${n(x.recordsPerSecond)} | ${x.cpuSeconds.toFixed(1)} | ${n(x.peakRssMiB)} |`))
}
const readme = readFileSync("README.md", "utf8")
const start = "<!-- bench:start -->"
const end = "<!-- bench:end -->"
const a = readme.indexOf(start)
const b = readme.indexOf(end)
if (a < 0 || b < a) throw new Error(`README.md has no ${start} … ${end} block`)
writeFileSync("README.md", `${readme.slice(0, a + start.length)}\n${lines.join("\n")}\n${readme.slice(b)}`)
console.log(`README.md: bench block from bench/results/${file}`)
