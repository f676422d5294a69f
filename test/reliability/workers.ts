/**
 * The reliability workers as the tests drive them: `test/reliability/worker.ts` (built once
 * a run, test/support/buildOnce.ts) in its own process, its reports (received, written,
 * committed, killed) read from its stdout, and the waits on them.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { repoRoot, workerScript } from "../support/built.js"
import { formatKillPoint, type KillPoint } from "../support/killPoints.js"
import { waitUntil } from "../support/wait.js"
import type { Scenario } from "./harness.js"
import type { WorkerEvent } from "./worker.js"

/** The Cassandra keyspace of every scenario. */
export const keyspace = "pandaflow_reliability"

/** A commit a worker reported, with the time the parent read it. */
export interface Commit {
  readonly partition: number
  readonly records: number
  /** The committed offset: the next record to read. */
  readonly next: string
  readonly at: number
}

/** A running worker process and what it has reported so far. */
export interface Worker {
  readonly pid: number
  readonly received: () => number
  /** Partitions it was handed batches of. */
  readonly partitions: () => ReadonlySet<number>
  readonly committed: () => number
  readonly commits: () => ReadonlyArray<Commit>
  /** Rows a sink (`postgres`, `cassandra`) wrote for it. */
  readonly written: (sink: string) => number
  /** Where it SIGKILLed itself (`WORKER_KILL_AT`), if it did, with its counts then. */
  readonly killedAt: () => { readonly at: string; readonly counts: Readonly<Record<string, number>> } | undefined
  readonly ready: Promise<void>
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  readonly exited: Promise<number | string>
  readonly isRunning: () => boolean
  readonly kill: (signal: NodeJS.Signals) => void
  /** Lets a standby worker join the group. */
  readonly go: () => void
  /** The last lines of its stderr, for failure messages. */
  readonly stderrTail: () => string
}

/** Worker settings beyond the scenario's names. */
export interface WorkerOptions {
  readonly untilDrained?: boolean
  readonly throttleMillis?: number
  readonly fetchBytes?: number
  /** Connect and wait for `go()` before joining the group. */
  readonly standby?: boolean
  /** SIGKILL itself when this count of its own work is reached. */
  readonly killAt?: KillPoint
  /** Sink delay per row, on top of `throttleMillis` a write. */
  readonly rowDelayMicros?: number
}

/** Starts `test/reliability/worker.ts` (built: test/support/buildOnce.ts) in its own process for a scenario. */
export const startWorker = (scenario: Scenario, options: WorkerOptions = {}): Worker => {
  const child: ChildProcess = spawn(process.execPath, [workerScript], {
    cwd: repoRoot,
    stdio: ["pipe", "pipe", "pipe"],
    env: {
      ...process.env,
      WORKER_TOPIC: scenario.topic,
      WORKER_GROUP: scenario.group,
      WORKER_DLQ: scenario.dlq,
      WORKER_PG_TABLE: scenario.table,
      WORKER_CASSANDRA_KEYSPACE: keyspace,
      WORKER_CASSANDRA_TABLE: scenario.table,
      WORKER_UNTIL_DRAINED: options.untilDrained ? "true" : "false",
      WORKER_THROTTLE_MS: String(options.throttleMillis ?? 0),
      WORKER_FETCH_BYTES: String(options.fetchBytes ?? 256 * 1024),
      WORKER_STANDBY: options.standby ? "true" : "false",
      WORKER_KILL_AT: options.killAt === undefined ? "" : formatKillPoint(options.killAt),
      WORKER_ROW_DELAY_US: String(options.rowDelayMicros ?? 0)
    }
  })
  // A worker that died before its `go` makes the write fail with EPIPE: its exit says why.
  child.stdin!.on("error", () => undefined)
  let received = 0
  let committed = 0
  const partitions = new Set<number>()
  const commits: Array<Commit> = []
  const written = new Map<string, number>()
  let killedAt: { readonly at: string; readonly counts: Readonly<Record<string, number>> } | undefined
  let running = true
  let stderr = ""
  let onReady: () => void = () => undefined
  const ready = new Promise<void>((resolve) => (onReady = resolve))
  let buffered = ""
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk
    let nl: number
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      if (!line.startsWith("{")) continue
      const e = JSON.parse(line) as WorkerEvent
      if (e.event === "ready") onReady()
      else if (e.event === "received") {
        received += e.records
        partitions.add(e.partition)
      } else if (e.event === "committed") {
        committed += e.records
        commits.push({ partition: e.partition, records: e.records, next: e.next, at: Date.now() })
      } else if (e.event === "written") written.set(e.sink, (written.get(e.sink) ?? 0) + e.rows)
      else if (e.event === "kill") killedAt = { at: e.at, counts: e.counts }
    }
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-6000)
  })
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => {
      running = false
      resolve(code ?? signal ?? "unknown")
    }))
  return {
    pid: child.pid!,
    received: () => received,
    partitions: () => partitions,
    committed: () => committed,
    commits: () => commits,
    written: (sink) => written.get(sink) ?? 0,
    killedAt: () => killedAt,
    ready,
    exited,
    isRunning: () => running,
    kill: (signal) => void child.kill(signal),
    go: () => void child.stdin!.write("go\n"),
    stderrTail: () => stderr.split("\n").slice(-25).join("\n")
  }
}

/** Waits for a worker to reach `what`; fails at once, with its stderr, if it exits first. */
export const waitWorker = async (worker: Worker, what: string, check: () => boolean, timeoutMs: number) => {
  await waitUntil(what, () => {
    if (!worker.isRunning()) throw new Error(`worker ${worker.pid} exited while waiting for ${what}:\n${worker.stderrTail()}`)
    return check()
  }, timeoutMs, 20)
}

/** Waits until a worker connected its clients (`ready`); fails if it exits first. */
export const readyWithin = (worker: Worker, timeoutMs: number) =>
  Promise.race([
    worker.ready,
    worker.exited.then((code) => {
      throw new Error(`worker ${worker.pid} exited (${code}) before it was ready:\n${worker.stderrTail()}`)
    }),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`worker ${worker.pid} not ready in ${timeoutMs} ms`)), timeoutMs))
  ])

/** Waits for a worker to exit within `timeoutMs`, SIGKILLing it if it does not. */
export const exitWithin = async (worker: Worker, timeoutMs: number): Promise<number | string> => {
  const timer = setTimeout(() => worker.kill("SIGKILL"), timeoutMs)
  const code = await worker.exited
  clearTimeout(timer)
  return code
}
