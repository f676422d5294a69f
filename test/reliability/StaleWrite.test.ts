/**
 * No stale write after a rebalance, on the real Kafka and the real Postgres (the twin of
 * Faults.memory.test.ts's "rebalance while the old owner waits out an outage").
 *
 * Worker A (a consume job in this process, test/support/fiberWorker.ts) writes version 1
 * of every key. Then A's sink alone goes down: A holds a batch of version 2 of every key,
 * retrying. Version 3 is produced and worker B joins the group. The outage lasts longer
 * than the rebalance timeout, so by then the group may have cut A off and B written the
 * newer versions. Were A still retrying when its sink came back, its version-2 batch would
 * land after B's version 3: a key going back. A's per-batch retry budget (shorter than the
 * rebalance timeout, and capped anyway by the broker's `Batch.deadline`, 80 % of it) makes
 * A give the batch up, uncommitted, before the group can hand its partitions away.
 *
 * A Postgres trigger records every row write: no key may ever step back to an older
 * version, and the table must end exactly on the latest version of every key.
 *
 * Checked by hand (2026-12-02): either guard alone keeps this test green (budget 3 s
 * without the cap; budget 20 s with the cap, A gives up at 6.4 s); with A's budget at 20 s
 * AND the `batch.deadline` cap taken out of `Delivery.writeBatch`, A is cut off at 8 s,
 * B writes version 3, and A's retry lands version 2 of every key after it: it fails.
 */
import { Effect, Exit, Schedule } from "effect"
import { expect, it } from "vitest"
import { Broker } from "../../src/Broker.js"
import * as Delivery from "../../src/Delivery.js"
import type { SinkError } from "../../src/RowSink.js"
import * as FakeUsers from "../../layers/FakeUsers.js"
import { type FiberWorker, startFiberWorker } from "../support/fiberWorker.js"
import { backwardSteps, dropHistory, expectedLatest, readHistory, recordHistory, versioned } from "../support/versions.js"
import { digest, disposeScenario, lagOf, makeScenario, type Scenario, sleep, userRecords, waitUntil } from "./harness.js"

const keys = 300
const rebalanceTimeoutMs = 8_000
const broker = {
  // 6 s is the broker's minimum session; heartbeats every second keep A a member while it retries.
  sessionTimeout: "6 seconds",
  heartbeatInterval: "1 second",
  rebalanceTimeout: `${rebalanceTimeoutMs} millis`,
  logLevel: "error"
} as const

/** A's policy: a budget well inside the rebalance timeout; retries every 250 ms so a recovery is seen at once. */
const policy = (retryBudgetMs: number): Delivery.ErrorPolicy => ({
  ...Delivery.defaultErrorPolicy,
  retryUnavailable: Schedule.spaced("250 millis").pipe(Schedule.whileInput((e: SinkError) => e.reason === "Unavailable")),
  retryBudget: `${retryBudgetMs} millis`
})

const produceVersion = (s: Scenario, version: number) => {
  const users = FakeUsers.generatePage({ seed: s.seed, page: 1, results: keys })
  const records = userRecords(s, users.map((u) => versioned(u, version)))
  return s.runtime.runPromise(Effect.flatMap(Broker, (b) => b.produce(s.topic, records)))
}

const failedKeys = (w: FiberWorker, since: number) => new Set(w.sink.attempts().filter((a) => !a.ok && a.at >= since).flatMap((a) => a.keys))
const writesSince = (w: FiberWorker, since: number) => w.sink.attempts().filter((a) => a.ok && a.at >= since).length

it("the old owner's batch held through a sink outage never lands after the new owner's newer rows", async () => {
  const started = Date.now()
  const scenario = await makeScenario("stalewrite")
  const workers: Array<FiberWorker> = []
  try {
    await recordHistory(scenario)
    const a = startFiberWorker(scenario, { errorPolicy: policy(3_000), broker })
    workers.push(a)
    await produceVersion(scenario, 1)
    await waitUntil("A to write and commit version 1", async () => {
      if (a.done()) throw new Error(`A ended early: ${String(await a.exit)}`)
      return (await lagOf(scenario)) === 0
    }, 30_000, 100)

    // A's sink goes down; A takes a batch of version 2 of every key and retries it.
    a.sink.down()
    const downAt = Date.now()
    await produceVersion(scenario, 2)
    await waitUntil("A to hold version 2 of every key", () => failedKeys(a, downAt).size === keys, 10_000, 20)
    await produceVersion(scenario, 3)
    const b = startFiberWorker(scenario, { errorPolicy: policy(3_000), broker })
    workers.push(b)
    const joinedAt = Date.now()
    await waitUntil("B to take the partitions and commit everything", async () => {
      if (b.done()) throw new Error(`B ended: ${String(await b.exit)}`)
      return writesSince(b, joinedAt) > 0 && (await lagOf(scenario)) === 0
    }, 30_000, 100)
    const lagZeroAt = Date.now()
    // The outage outlasts the rebalance timeout: past it the group may have cut A off.
    await sleep(Math.max(0, downAt + rebalanceTimeoutMs + 1_000 - Date.now()))
    a.sink.up()
    const upAt = Date.now()
    // A either gave its batch up already, or lands it now that its sink answers again.
    await waitUntil("A to end or to write again", () => a.done() || writesSince(a, upAt) > 0, 5_000, 20).catch(() => undefined)
    await sleep(300)
    const aEnded = a.done() ? await a.exit : undefined
    for (const w of workers) await w.stop()

    // The scenario happened: A held every key's version 2 during its outage, B took over.
    expect(failedKeys(a, downAt).size).toBe(keys)
    expect(writesSince(b, joinedAt), "B wrote nothing").toBeGreaterThan(0)
    // No key ever went back to an older version.
    const history = await readHistory(scenario)
    const steps = backwardSteps(history, new Map())
    expect(steps.map((s) => `${s.id}: v${s.from} -> v${s.to}`), "a stale write landed after a newer one").toEqual([])
    // Every record landed: the table is the latest version of every key, and each key's last write was version 3.
    const postgres = scenario.sinks.find((s) => s.name === "postgres")!
    const rows = await scenario.runtime.runPromise(postgres.scan)
    expect(rows.length).toBe(keys)
    expect(digest(rows, postgres.columns), "Postgres rows differ from the latest versions").toBe(digest(expectedLatest(scenario.seed, keys, 3), postgres.columns))
    const last = new Map(history.map((w) => [w.id, w.version]))
    expect(last.size).toBe(keys)
    expect([...last.values()].filter((v) => v !== 3)).toEqual([])
    expect(await lagOf(scenario)).toBe(0)

    console.log(
      `reliability: stalewrite: sent=${keys * 3} written=postgres:${rows.length} duration=${((Date.now() - started) / 1000).toFixed(1)}s ` +
        `outage=${((upAt - downAt) / 1000).toFixed(1)}s rebalance-timeout=${rebalanceTimeoutMs / 1000}s ` +
        `b-lag-0-after-join=${((lagZeroAt - joinedAt) / 1000).toFixed(1)}s a-writes-after-outage=${writesSince(a, downAt)} ` +
        `a-ended=${aEnded === undefined ? "no" : Exit.isFailure(aEnded) ? "failed (budget spent, uncommitted)" : "ok"} ` +
        `history=${history.length} backward-steps=${steps.length}`
    )
  } finally {
    for (const w of workers) await w.stop().catch(() => undefined)
    await dropHistory(scenario)
    await disposeScenario(scenario)
  }
}, 60_000)
