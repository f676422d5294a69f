/**
 * Memory under a slow sink with the REAL Kafka broker (soak, `pnpm test:soak`): a worker
 * process consumes a topic far larger than it can write, its sinks (the real Postgres and
 * Cassandra) held back to a hundredth of the broker's own rate, measured first by reading
 * the topic with the same broker layer. Its RSS is sampled every 5 s for 2 minutes and
 * must plateau: what is bounded (one batch a partition, bounded queues) stays bounded
 * while the backlog stays in Kafka. An unbounded buffer would grow at the broker's rate
 * (~tens of MiB a second), so the bounds below are far from noise and far below a leak.
 */
import { readFileSync } from "node:fs"
import { Effect, Stream } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import * as FakeUsers from "../../layers/FakeUsers.js"
import { Broker } from "../../src/Broker.js"
import { disposeScenario, lagOf, makeScenario, type Scenario, sleep, startWorker, userRecords, waitWorker } from "../reliability/harness.js"

const sampleEveryMillis = 5_000
const windowMillis = 120_000
const slowdown = 100
const pageSize = 10_000
/** Bounds of the plateau: the second half's growth, and its peak over the first half's. */
const maxSlopeMiBPerMinute = 8
const maxRiseMiB = 48

let scenario: Scenario

beforeAll(async () => {
  scenario = await makeScenario("soak_memory")
})

afterAll(async () => {
  if (scenario) await disposeScenario(scenario)
})

/** Produces `pages` pages of generated users. */
const producePages = async (from: number, pages: number) => {
  for (let p = from; p < from + pages; p++) {
    const records = userRecords(scenario, FakeUsers.generatePage({ seed: scenario.seed, page: p, results: pageSize }))
    // In sends of 1,000: a page of 10,000 users is past the broker's 1 MiB request limit.
    for (let i = 0; i < records.length; i += 1_000) {
      await scenario.runtime.runPromise(Effect.flatMap(Broker, (b) => b.produce(scenario.topic, records.slice(i, i + 1_000))))
    }
  }
}

/** The broker's own rate: records a second a fresh group reads (and commits) from the topic. */
const brokerRate = (records: number) =>
  scenario.runtime.runPromise(Effect.gen(function*() {
    const broker = yield* Broker
    let first = 0
    const n = yield* broker.consume({ topic: scenario.topic, groupId: `${scenario.group}-rate` }).pipe(
      Stream.mapEffect((batch) => Effect.as(batch.commit, batch.records.length)),
      Stream.tap(() => Effect.sync(() => (first = first || Date.now()))),
      Stream.scan(0, (total, k) => total + k),
      Stream.takeUntil((total) => total >= records),
      Stream.runLast,
      Effect.timeout("120 seconds")
    )
    return ((n._tag === "Some" ? n.value : 0) / (Date.now() - first)) * 1000
  }))

/** Resident set of a process, MiB (Linux). */
const rssMiB = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))
  return Number(/([0-9]+)/.exec(line ?? "")?.[1] ?? NaN) / 1024
}

/** Least-squares slope of (ms, MiB) points, in MiB a minute. */
const slopePerMinute = (points: ReadonlyArray<readonly [number, number]>) => {
  const n = points.length
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0)
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  return (num / den) * 60_000
}

it("RSS of a worker on the real broker plateaus behind a sink 100× slower than the broker", async () => {
  // Enough to measure the broker on; topped up below so the sink never runs dry.
  await producePages(1, 6)
  const rate = await brokerRate(6 * pageSize)
  const sinkRate = rate / slowdown
  const needed = Math.ceil((sinkRate * (windowMillis + 30_000)) / 1000 / pageSize)
  if (needed > 6) await producePages(7, needed - 6)
  const total = Math.max(6, needed) * pageSize

  const worker = startWorker(scenario, { rowDelayMicros: Math.round(1e6 / sinkRate), fetchBytes: 1024 * 1024 })
  try {
    await waitWorker(worker, "the first commit", () => worker.committed() > 0, 90_000)
    const started = Date.now()
    const samples: Array<readonly [number, number]> = []
    while (Date.now() - started <= windowMillis) {
      expect(worker.isRunning(), worker.stderrTail()).toBe(true)
      samples.push([Date.now() - started, rssMiB(worker.pid)])
      await sleep(sampleEveryMillis)
    }
    const written = worker.written("postgres")
    const lag = await lagOf(scenario)
    worker.kill("SIGTERM")
    await worker.exited

    const mib = samples.map(([, m]) => m)
    const half = Math.floor(samples.length / 2)
    const firstHalfMax = Math.max(...mib.slice(0, half))
    const secondHalf = samples.slice(half)
    const secondHalfMax = Math.max(...secondHalf.map(([, m]) => m))
    const slope = slopePerMinute(secondHalf)
    console.log(
      `soak: memory: broker ${Math.round(rate)} rec/s, sink held to ${Math.round(sinkRate)} rows/s (1/${slowdown}), topic ${total} records, ` +
        `postgres wrote ${written} rows in the run, lag at the end ${lag}; RSS MiB every ${sampleEveryMillis / 1000} s: ${mib.map((m) => m.toFixed(0)).join(" ")}; ` +
        `first ${mib[0]!.toFixed(1)} last ${mib[mib.length - 1]!.toFixed(1)} max ${Math.max(...mib).toFixed(1)} MiB, ` +
        `second-half slope ${slope.toFixed(2)} MiB/min, second-half max − first-half max ${(secondHalfMax - firstHalfMax).toFixed(1)} MiB`
    )
    // The sink was the bottleneck the whole time: the backlog never drained.
    expect(lag, "the sink caught up: the run did not hold a backlog").toBeGreaterThan(0)
    expect(samples.length).toBeGreaterThanOrEqual(windowMillis / sampleEveryMillis)
    expect(slope, "RSS still growing in the second half").toBeLessThan(maxSlopeMiBPerMinute)
    expect(secondHalfMax - firstHalfMax, "RSS rose in the second half").toBeLessThan(maxRiseMiB)
  } finally {
    if (worker.isRunning()) worker.kill("SIGKILL")
  }
}, 600_000)
