/** The benchmark's statistics, its printed table and the machine it ran on. */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as os from "node:os"
import type { RunFigures } from "./measure.js"

/** Median and range of one figure over a contender's runs. */
export interface Stat {
  readonly median: number
  readonly min: number
  readonly max: number
}

/** A contender's runs, summarised. */
export interface Summary {
  readonly contender: string
  readonly name: string
  readonly runs: number
  readonly recordsPerSecond: Stat
  readonly windowCpuSeconds: Stat
  readonly processCpuSeconds: Stat
  /** Window CPU microseconds a record. */
  readonly cpuMicrosPerRecord: Stat
  readonly peakRssMiB: Stat
  /** Median CPU seconds of each service while a run's child ran (set-up included). */
  readonly servicesCpuSeconds: Readonly<Record<string, number>>
  readonly latencyP50Ms?: Stat | undefined
  readonly latencyP99Ms?: Stat | undefined
  /** send → row visible in Postgres. */
  readonly visibleP50Ms?: Stat | undefined
  readonly visibleP99Ms?: Stat | undefined
}

const stat = (values: ReadonlyArray<number>): Stat => {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return { median: s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, min: s[0]!, max: s[s.length - 1]! }
}

/** Summarises the runs of one contender. */
export const summarise = (contender: string, runs: ReadonlyArray<RunFigures>): Summary => ({
  contender,
  name: runs[0]!.name,
  runs: runs.length,
  recordsPerSecond: stat(runs.map((r) => r.recordsPerSecond)),
  windowCpuSeconds: stat(runs.map((r) => r.windowCpuSeconds)),
  processCpuSeconds: stat(runs.map((r) => r.processCpuSeconds)),
  cpuMicrosPerRecord: stat(runs.map((r) => (r.windowCpuSeconds / r.records) * 1e6)),
  peakRssMiB: stat(runs.map((r) => r.peakRssMiB)),
  servicesCpuSeconds: Object.fromEntries(
    Object.keys(runs[0]!.servicesCpuSeconds ?? {}).map((k) => [k, stat(runs.map((r) => r.servicesCpuSeconds?.[k] ?? 0)).median])
  ),
  latencyP50Ms: runs[0]!.latency ? stat(runs.map((r) => r.latency!.p50)) : undefined,
  latencyP99Ms: runs[0]!.latency ? stat(runs.map((r) => r.latency!.p99)) : undefined,
  visibleP50Ms: runs[0]!.visible ? stat(runs.map((r) => r.visible!.p50)) : undefined,
  visibleP99Ms: runs[0]!.visible ? stat(runs.map((r) => r.visible!.p99)) : undefined
})

const n = (x: number) => Math.round(x).toLocaleString("en-US")
const range = (s: Stat, f: (x: number) => string = n) => `${f(s.median)} (${f(s.min)}–${f(s.max)})`

/** One line a contender, for the terminal. */
export const line = (s: Summary): string =>
  s.latencyP50Ms
    ? `${s.name.padEnd(46)} row visible p50 ${s.visibleP50Ms ? range(s.visibleP50Ms) : "–"} ms, p99 ${s.visibleP99Ms ? range(s.visibleP99Ms) : "–"} ms; committed p50 ${range(s.latencyP50Ms)} ms, p99 ${range(s.latencyP99Ms!)} ms; ${range(s.peakRssMiB)} MiB`
    : `${s.name.padEnd(46)} ${range(s.recordsPerSecond).padStart(28)} rec/s  CPU ${range(s.windowCpuSeconds, (x) => Number.isNaN(x) ? "–" : x.toFixed(1))} s (process ${s.processCpuSeconds.median.toFixed(1)} s)  ${range(s.peakRssMiB)} MiB  services CPU ${
      Object.entries(s.servicesCpuSeconds).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")
    } s`

const version = (pkg: string): string => {
  try {
    return (JSON.parse(readFileSync(`node_modules/${pkg}/package.json`, "utf8")) as { version: string }).version
  } catch {
    return "unknown"
  }
}

/** The machine and the versions the figures belong to. */
export const machine = (services: { readonly postgres: string; readonly cassandra: string; readonly kafka: string }) => ({
  cores: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  os: `${os.type()} ${os.release()}`,
  node: process.version,
  java: spawnSync("java", ["-version"], { encoding: "utf8" }).stderr.split("\n")[0] ?? "unknown",
  ...services,
  packages: Object.fromEntries(["kafkajs", "pg", "pg-copy-streams", "cassandra-driver", "effect", "@effect/sql-pg"].map((p) => [p, version(p)]))
})
