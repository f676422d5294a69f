/**
 * How the parent runs a contender: in its own process under GNU time, so user+sys CPU
 * seconds and peak RSS are the child's own (the same for Node and the JVM), with the
 * child's window figures read from its last stdout line.
 */
import { execFileSync, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { ChildArgs, ChildFigures } from "./child.js"

/** One run of one contender. */
export interface RunFigures extends ChildFigures {
  readonly contender: string
  /** user + system CPU seconds of the whole child process (start-up included). */
  readonly processCpuSeconds: number
  readonly peakRssMiB: number
  /** CPU seconds each service (Kafka, Postgres, Cassandra) spent while the child ran: where the other core goes. */
  readonly servicesCpuSeconds: Readonly<Record<string, number>>
}

// The services' processes, found by command line; `postgres` counts its exited backends too.
const servicePatterns: Readonly<Record<string, ReadonlyArray<string>>> = {
  kafka: ["-f", "kafka\\.Kafka|redpanda"],
  postgres: ["-x", "postgres"],
  cassandra: ["-f", "CassandraDaemon"]
}

/** Cumulative CPU seconds of each service (Linux /proc; 0 where a service is not found). */
export const servicesCpu = (): Record<string, number> => {
  const tick = 100 // USER_HZ on Linux
  const cpuOf = (pid: string): number => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
      // utime stime cutime cstime: fields 14–17 of stat, 12–15 after the command.
      return [11, 12, 13, 14].reduce((t, i) => t + Number(fields[i]), 0) / tick
    } catch {
      return 0
    }
  }
  return Object.fromEntries(Object.entries(servicePatterns).map(([name, pattern]) => {
    let pids: Array<string> = []
    try {
      pids = execFileSync("pgrep", [...pattern], { encoding: "utf8" }).trim().split("\n").filter((p) => p !== "")
    } catch {
      // pgrep exits 1 when nothing matches.
    }
    return [name, pids.reduce((t, pid) => t + cpuOf(pid), 0)]
  }))
}

/** A child as it runs: wait for its figures, or for a line it prints. */
export interface Running {
  readonly figures: Promise<RunFigures>
  readonly line: (text: string) => Promise<void>
}

/** Starts `command` under GNU time; the last stdout line is parsed by `parse`. */
export const timed = (
  contender: string,
  command: ReadonlyArray<string>,
  env: Record<string, string>,
  parse: (stdout: string) => ChildFigures
): Running => {
  const dir = mkdtempSync(join(tmpdir(), "bench-"))
  const servicesBefore = servicesCpu()
  const timeFile = join(dir, "time")
  const child = spawn("/usr/bin/time", ["-f", "%U %S %M", "-o", timeFile, ...command], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"]
  })
  let stdout = ""
  const waiting: Array<{ text: string; resolve: () => void }> = []
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
    for (const w of waiting) if (stdout.includes(`${w.text}\n`)) w.resolve()
  })
  const figures = new Promise<RunFigures>((resolve, reject) => {
    child.on("exit", (code) => {
      try {
        // PANDAFLOW_BENCH_CHILD_LOG=<dir> keeps each child's stdout (with `--trace-gc`, say).
        const logDir = process.env.PANDAFLOW_BENCH_CHILD_LOG
        if (logDir !== undefined) {
          mkdirSync(logDir, { recursive: true })
          writeFileSync(join(logDir, `${contender}-${Date.now()}.log`), stdout)
        }
        if (code !== 0) throw new Error(`${contender} exited with ${code}: ${stdout.slice(-2000)}`)
        const [user, sys, rssKiB] = readFileSync(timeFile, "utf8").trim().split("\n").pop()!.split(" ").map(Number)
        const servicesAfter = servicesCpu()
        const servicesCpuSeconds = Object.fromEntries(Object.entries(servicesAfter).map(([k, v]) => [k, v - (servicesBefore[k] ?? 0)]))
        resolve({ ...parse(stdout), contender, processCpuSeconds: user! + sys!, peakRssMiB: rssKiB! / 1024, servicesCpuSeconds })
      } catch (e) {
        reject(e)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
  return {
    figures,
    line: (text) => new Promise((resolve) => (stdout.includes(`${text}\n`) ? resolve() : waiting.push({ text, resolve })))
  }
}

// Extra node flags for every child, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile one.
const nodeFlags = (process.env.PANDAFLOW_BENCH_NODE_FLAGS ?? "").split(" ").filter((f) => f !== "")

/** A Node contender (`bench/run-child`), built JS by default, `tsx` when asked. */
export const node = (contender: string, args: ChildArgs, runtime: "js" | "tsx"): Running =>
  timed(
    contender,
    runtime === "js"
      ? ["node", ...nodeFlags, ".pandaflow/bench-dist/bench/run-child.js", contender]
      : ["node", ...nodeFlags, "--import", "tsx", "bench/run-child.ts", contender],
    { BENCH_CHILD: JSON.stringify(args) },
    (stdout) => JSON.parse(stdout.trim().split("\n").pop()!) as ChildFigures
  )

/**
 * Kafka's own `ConsumerPerformance` (kafka-tools, the broker's version). Its
 * `fetch.nMsg.sec` runs from the group join to the last record: the JVM client's ceiling
 * (it commits as its auto-commit does, not per batch).
 */
export const consumerPerformance = (lib: string, brokers: string, topic: string, group: string, records: number): Running =>
  timed(
    "consumer-performance",
    [
      "java", "-Xmx512m", "-cp", `${lib}/*`, "org.apache.kafka.tools.ConsumerPerformance",
      "--bootstrap-server", brokers, "--topic", topic, "--messages", String(records), "--group", group, "--timeout", "60000"
    ],
    {},
    (stdout) => {
      // start.time, end.time, data.consumed.in.MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
      const fields = stdout.trim().split("\n").pop()!.split(",").map((s) => s.trim())
      const n = Number(fields[4])
      const fetchMs = Number(fields[7])
      return { name: "Kafka ConsumerPerformance (JVM client)", records: n, seconds: fetchMs / 1000, recordsPerSecond: Number(fields[9]), windowCpuSeconds: Number.NaN }
    }
  )
