/**
 * Rebalance: a second worker joins the group while the first is working. The group
 * rebalances (kafkajs: eager, every partition revoked and reassigned), the newcomer takes
 * partitions, and at the end every row exists exactly once in each table and the lag is 0.
 */
import { expect, it } from "vitest"
import { expectSinksExact } from "../support/exact.js"
import { expectedRows } from "../support/expected.js"
import {
  disposeScenario,
  exitWithin,
  lagOf,
  makeScenario,
  produce,
  readyWithin,
  startWorker,
  summary,
  topicCount,
  waitUntil,
  waitWorker,
  type Worker
} from "./harness.js"

const total = 20_000

it("a second worker joining mid-stream takes partitions with no loss and no duplicate row", async () => {
  const scenario = await makeScenario("rebalance")
  const workers: Array<Worker> = []
  try {
    await produce(scenario, total)
    // The second worker starts up now and joins the group only when told to.
    const second = startWorker(scenario, { standby: true, fetchBytes: 64 * 1024 })
    const first = startWorker(scenario, { fetchBytes: 64 * 1024 })
    workers.push(first, second)
    const started = Date.now()
    await waitWorker(first, "the first worker to commit 2,000 records", () => first.committed() >= 2_000, 60_000)
    await readyWithin(second, 30_000)
    const firstBeforeJoin = first.committed()
    second.go()
    await waitUntil("lag 0", async () => {
      for (const w of workers) if (!w.isRunning()) throw new Error(`worker ${w.pid} died:\n${w.stderrTail()}`)
      return (await lagOf(scenario)) === 0
    }, 150_000, 250)
    const seconds = (Date.now() - started) / 1000
    for (const w of workers) w.kill("SIGTERM")
    for (const w of workers) expect(await exitWithin(w, 20_000), w.stderrTail()).toBe(0)

    // The newcomer really took work: it committed records of its own partitions.
    expect(second.committed(), "the second worker committed nothing").toBeGreaterThan(0)
    expect(await lagOf(scenario)).toBe(0)
    const sinks = await expectSinksExact(scenario, expectedRows(scenario.seed, total))
    const dead = await topicCount(scenario, scenario.dlq)
    expect(dead).toBe(0)
    summary("rebalance", {
      sent: total,
      written: sinks.map((s) => `${s.name}:${s.count}`).join(","),
      dlq: String(dead),
      redelivered: first.received() + second.received() - total,
      seconds,
      extra: `first-before-join=${firstBeforeJoin} first=${first.committed()} second=${second.committed()}`
    })
  } finally {
    for (const w of workers) if (w.isRunning()) w.kill("SIGKILL")
    await disposeScenario(scenario)
  }
}, 240_000)
