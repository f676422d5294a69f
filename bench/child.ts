/**
 * What every contender's child process shares: its arguments, and the measurement window.
 *
 * The window is the same for every contender: it opens when the first record is in the
 * contender's hands (the first `eachBatch` call, the first batch out of the broker
 * stream) and closes when the commit covering the last record is acknowledged. Table
 * creation, connecting, joining the group and leaving it are outside it for everyone.
 */
import type { ConsumedRecord } from "../src/Broker.js"

/** What the parent passes to a child, as JSON in `BENCH_CHILD`. */
export interface ChildArgs {
  readonly brokers: ReadonlyArray<string>
  readonly pgUrl: string
  readonly cassandra: ReadonlyArray<string>
  readonly keyspace: string
  readonly topic: string
  readonly table: string
  readonly group: string
  /** Records to wait for (in latency mode, plus the one warm-up record). */
  readonly records: number
  readonly latency: boolean
}

/** The arguments of this child. */
export const args = (): ChildArgs => JSON.parse(process.env.BENCH_CHILD ?? "null") as ChildArgs

/** What a child prints as its last stdout line. */
export interface ChildFigures {
  readonly name: string
  readonly records: number
  /** Seconds from the first record consumed to the last commit acknowledged. */
  readonly seconds: number
  readonly recordsPerSecond: number
  /** user + system CPU seconds of this process inside the window. */
  readonly windowCpuSeconds: number
  /** send → committed, in milliseconds (latency mode only). */
  readonly latency?: Percentiles | undefined
  /** send → row visible in Postgres (its transaction committed), in milliseconds (latency mode only). */
  readonly visible?: Percentiles | undefined
}

/** Percentiles of latencies in milliseconds. */
export interface Percentiles {
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly count: number
}

const percentiles = (latencies: Array<number>): Percentiles => {
  const sorted = latencies.sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0, count: sorted.length }
}

/** The key of the record the parent sends first in latency mode, to know the child is consuming. */
export const warmUpKey = "bench-warm-up"

/** Measures one run: call `consumed` for each batch handed over and `committed` after its commit is acknowledged. */
export class Window {
  private startedAt: bigint | undefined
  private cpuAtStart: NodeJS.CpuUsage | undefined
  private committedRecords = 0
  private readonly latencies: Array<number> = []
  private readonly visibleLatencies: Array<number> = []
  private resolve!: (f: ChildFigures) => void
  /** Resolves with the figures once every record is committed. */
  readonly done: Promise<ChildFigures>

  constructor(readonly name: string, readonly records: number, readonly latency: boolean) {
    this.done = new Promise((r) => (this.resolve = r))
  }

  /** A batch reached the contender. */
  consumed(): void {
    if (this.startedAt !== undefined) return
    this.startedAt = process.hrtime.bigint()
    this.cpuAtStart = process.cpuUsage()
  }

  /**
   * The rows of these records are visible in Postgres (the write's transaction committed;
   * the offset commit follows). Latency mode only: the warm-up record is not counted.
   */
  visible(records: ReadonlyArray<Pick<ConsumedRecord, "timestamp" | "key">>): void {
    if (!this.latency) return
    const now = Date.now()
    for (const r of records) if (r.key !== warmUpKey) this.visibleLatencies.push(now - r.timestamp)
  }

  /** The commit of these records was acknowledged. */
  committed(records: ReadonlyArray<Pick<ConsumedRecord, "timestamp" | "key">>): void {
    if (this.latency) {
      const now = Date.now()
      for (const r of records) {
        if (r.key === warmUpKey) process.stdout.write("ready\n")
        else this.latencies.push(now - r.timestamp)
      }
    }
    this.committedRecords += records.length
    if (this.committedRecords >= this.records && this.startedAt !== undefined) {
      const seconds = Number(process.hrtime.bigint() - this.startedAt) / 1e9
      const cpu = process.cpuUsage(this.cpuAtStart)
      this.resolve({
        name: this.name,
        records: this.committedRecords,
        seconds,
        recordsPerSecond: this.committedRecords / seconds,
        windowCpuSeconds: (cpu.user + cpu.system) / 1e6,
        latency: this.latency ? percentiles(this.latencies) : undefined,
        visible: this.latency ? percentiles(this.visibleLatencies) : undefined
      })
    }
  }
}

/** Prints the figures as the last stdout line. */
export const report = (figures: ChildFigures): void => {
  process.stdout.write(`${JSON.stringify(figures)}\n`)
}
