/**
 * Graceful shutdown: SIGTERM while batches are being written (the worker's sinks are
 * throttled so that several always are). The worker must exit 0 within a bounded time
 * (runMain interrupts the job; finalizers release kafkajs's waiting batches, uncommitted,
 * then leave the group), every committed offset must cover only rows both sinks hold,
 * and a restart must finish the rest.
 *
 * Exit code 0 is the contract: NodeRuntime.runMain treats an interruption by a signal as
 * a clean end, so supervisors (systemd, Kubernetes) see a normal stop, not a crash.
 */
import { expect, it } from "vitest"
import { expectSinksExact } from "../support/exact.js"
import { expectedRows } from "../support/expected.js"
import {
  committedOffsets,
  coordinate,
  disposeScenario,
  exitWithin,
  makeScenario,
  prng,
  produce,
  readSinks,
  readTopic,
  sleep,
  startWorker,
  summary,
  topicCount,
  waitWorker,
  type Worker
} from "./harness.js"

const total = 3_000
const exitBoundMillis = 15_000

it("SIGTERM mid-batch exits 0 in bounded time, commits nothing unwritten, and a restart finishes", async () => {
  const scenario = await makeScenario("shutdown")
  const workers: Array<Worker> = []
  try {
    // 30 records a produce request, so fetches (and batches) stay small.
    await produce(scenario, total, 0, 30)
    const started = Date.now()
    // ~28 records a batch, each sink write held 1.5 s: three batches are always in flight.
    const worker = startWorker(scenario, { throttleMillis: 1_500, fetchBytes: 32 * 1024 })
    workers.push(worker)
    await waitWorker(worker, "the first commits", () => worker.committed() >= 100, 60_000)
    await sleep(Math.floor(prng(7)() * 1_000))
    // Batches of a partition finish together: wait for the next ones to be handed out.
    await waitWorker(worker, "batches in flight", () => worker.received() > worker.committed(), 30_000)
    const inFlight = worker.received() - worker.committed()
    const termAt = Date.now()
    worker.kill("SIGTERM")
    const code = await exitWithin(worker, exitBoundMillis)
    const exitMillis = Date.now() - termAt
    expect(code, worker.stderrTail()).toBe(0)
    expect(exitMillis).toBeLessThan(exitBoundMillis)

    // Every record below a committed offset has its row in both sinks.
    const committed = await committedOffsets(scenario)
    const raw = await readTopic(scenario, scenario.topic)
    const covered = raw.filter((r) => {
      const upTo = committed.get(r.partition)
      return upTo !== undefined && BigInt(r.offset) < BigInt(upTo)
    })
    expect(covered.length, "nothing was committed before the SIGTERM").toBeGreaterThan(0)
    const atStop = await readSinks(scenario)
    for (const sink of atStop) {
      const ids = new Set(sink.rows.map((row) => row.id))
      const missing = covered.filter((r) => !ids.has((r.key ?? "").toLowerCase())).map(coordinate)
      expect(missing, `${sink.name}: committed records without a row`).toEqual([])
    }

    const restart = startWorker(scenario, { untilDrained: true })
    workers.push(restart)
    expect(await exitWithin(restart, 120_000), restart.stderrTail()).toBe(0)
    const seconds = (Date.now() - started) / 1000

    const sinks = await expectSinksExact(scenario, expectedRows(scenario.seed, total))
    const dead = await topicCount(scenario, scenario.dlq)
    expect(dead).toBe(0)
    summary("shutdown", {
      sent: total,
      written: sinks.map((s) => `${s.name}:${s.count}`).join(","),
      dlq: String(dead),
      redelivered: worker.received() + restart.received() - total,
      seconds,
      extra: `exit=${code} after ${(exitMillis / 1000).toFixed(1)}s in-flight-at-sigterm=${inFlight} ` +
        `committed-at-stop=${covered.length} rows-at-stop=${atStop.map((s) => `${s.name}:${s.count}`).join(",")}`
    })
  } finally {
    for (const w of workers) if (w.isRunning()) w.kill("SIGKILL")
    await disposeScenario(scenario)
  }
}, 240_000)
