/**
 * Scale-out: three worker processes in one consumer group on a 6-partition topic, fed
 * continuously by a producer (every key several versions, in order, plus bad records).
 * One worker SIGKILLs itself mid-stream at a record count (once it has written 1,500 rows
 * to Postgres, before the Cassandra write and the commit of that batch) and a fourth one
 * takes its place. At the end both tables hold exactly the latest version of every key
 * (digests against the independently generated rows), the dead-letter topic exactly the
 * injected records, and no key ever went back to an older version except by a redelivery
 * of uncommitted records. Reported: the time from the kill to the next commit of each of
 * the killed worker's partitions, and to lag 0. Beside them two scheduler instances share
 * the Postgres run store under the real clock and run each slot once.
 */
import { expect, it } from "vitest"
import { expectDeadLettersExact, expectSinksExact } from "../support/exact.js"
import { startSchedulers } from "../support/schedulers.js"
import { backwardSteps, coordinatesOf, dropHistory, expectedLatest, produceVersions, readHistory, recordHistory } from "../support/versions.js"
import {
  type Commit,
  disposeScenario,
  exitWithin,
  lagOf,
  makeScenario,
  readTopic,
  readyWithin,
  startWorker,
  summary,
  waitUntil,
  waitWorker,
  type Worker
} from "./harness.js"

const partitions = 6
const stream = { keys: 4_000, versions: 4, chunk: 400, pauseMillis: 400, badEvery: 1_500, partitions }
const killAt = { count: 1_500, phase: "postgres" } as const

it("3 workers on 6 partitions, one SIGKILLed mid-stream and replaced: rows, dead letters and per-key order exact", async () => {
  const scenario = await makeScenario("scaleout", { partitions })
  const workers: Array<Worker> = []
  const schedulers = await startSchedulers(`scaleout_${scenario.group.replace(/[^a-z0-9]/g, "_")}`)
  let stopSchedulers: typeof schedulers.stop | undefined = schedulers.stop
  try {
    await recordHistory(scenario)
    const victim = startWorker(scenario, { fetchBytes: 64 * 1024, killAt })
    const others = [startWorker(scenario, { fetchBytes: 64 * 1024 }), startWorker(scenario, { fetchBytes: 64 * 1024 })]
    const replacement = startWorker(scenario, { fetchBytes: 64 * 1024, standby: true })
    workers.push(victim, ...others, replacement)
    for (const w of [victim, ...others]) await readyWithin(w, 60_000)
    const started = Date.now()
    const producing = produceVersions(scenario, stream)

    await exitWithin(victim, 90_000)
    const killedAt = Date.now()
    expect(victim.killedAt()?.at, `the victim did not kill itself:\n${victim.stderrTail()}`).toBe(`${killAt.count}:${killAt.phase}`)
    replacement.go()
    // The partitions it held when it died: those whose latest commit before the kill was its own.
    const lastCommitter = new Map<number, Worker>()
    const before = workers.flatMap((w) => w.commits().filter((c) => c.at <= killedAt).map((c) => ({ c, w }))).sort((x, y) => x.c.at - y.c.at)
    for (const { c, w } of before) lastCommitter.set(c.partition, w)
    const held = [...lastCommitter].filter(([, w]) => w === victim).map(([p]) => p)
    const survivors = [...others, replacement]

    const injected = await producing
    const producedAt = Date.now()
    await waitUntil("lag 0", async () => {
      for (const w of survivors) if (!w.isRunning()) throw new Error(`worker ${w.pid} died:\n${w.stderrTail()}`)
      return (await lagOf(scenario)) === 0
    }, 90_000, 250)
    const lagZeroAt = Date.now()
    for (const w of survivors) w.kill("SIGTERM")
    for (const w of survivors) expect(await exitWithin(w, 20_000), w.stderrTail()).toBe(0)
    const outcome = await schedulers.stop()
    stopSchedulers = undefined

    // The kill landed mid-stream, and the replacement took work.
    expect(killedAt, "the kill came after the producer had finished").toBeLessThan(producedAt)
    expect(replacement.committed(), "the replacement committed nothing").toBeGreaterThan(0)
    expect(held.length, "the victim held no partition when it died").toBeGreaterThan(0)
    // Resumed: the first commit of each held partition after the kill, by whoever got it.
    const resumed = held.map((p) => {
      const next = survivors.flatMap((w) => w.commits()).filter((c: Commit) => c.partition === p && c.at > killedAt).map((c) => c.at)
      expect(next.length, `partition ${p} was never committed after the kill`).toBeGreaterThan(0)
      return Math.min(...next) - killedAt
    })

    // Rows: the latest version of every key, in both sinks.
    const sinks = await expectSinksExact(scenario, expectedLatest(scenario.seed, stream.keys, stream.versions), "the latest versions")
    // Dead letters: exactly the injected records, none sent twice (one transaction with their offsets).
    const { dead, distinct } = await expectDeadLettersExact(scenario, injected, true)

    // Per-key order. A key may go back to an older version only when that version's
    // record was redelivered, i.e. not yet committed: so no commit the parent had seen by
    // the time of the write may have passed its offset.
    const history = await readHistory(scenario)
    const coordinates = coordinatesOf(await readTopic(scenario, scenario.topic))
    const commits = workers.flatMap((w) => w.commits())
    const steps = backwardSteps(history, coordinates)
    const stale = steps.filter((s) => commits.some((c) => c.partition === s.partition && c.at < s.at && BigInt(c.next) > s.offset))
    expect(stale, "older versions written after their offset was committed").toEqual([])
    expect(steps.every((s) => s.partition >= 0), "a backward step to a version that was never produced").toBe(true)
    const lastVersion = new Map(history.map((w) => [w.id, w.version]))
    expect([...lastVersion.values()].every((v) => v === stream.versions), "a key's last write is not its latest version").toBe(true)

    // The schedulers: no slot twice; none lost between the first and the last — every such
    // slot has its run in the store. A slot without an execution is one the overlap policy
    // recorded as skipped (on a loaded machine a 1-second job's previous run can still be
    // active) or one the concurrent stop interrupted; the store's owner of each finished
    // run ran it, and each successful run was executed.
    const slots = outcome.executions.map((e) => e.slot).sort((a, b) => a - b)
    expect(new Set(slots).size, "a slot ran twice").toBe(slots.length)
    expect(slots.length, "the schedulers ran no slot").toBeGreaterThan(0)
    const stored = new Map(outcome.runs.map((r) => [r.slot, r.state]))
    const missing: Array<number> = []
    for (let slot = slots[0]!; slot <= slots.at(-1)!; slot += 1000) if (!stored.has(slot)) missing.push(slot)
    expect(missing, "slots skipped: no run in the store").toEqual([])
    const success = outcome.runs.filter((r) => r.state === "success").map((r) => r.slot).sort((a, b) => a - b)
    expect(success.filter((slot) => !slots.includes(slot)), "a run is success but no instance executed it").toEqual([])
    const ranBy = new Map(outcome.executions.map((e) => [e.slot, e.instance]))
    for (const run of outcome.runs.filter((r) => r.state === "success")) expect(ranBy.get(run.slot), `slot ${run.slot}`).toBe(run.owner)

    const sent = stream.keys * stream.versions + injected.length
    summary("scaleout", {
      sent,
      written: sinks.map((s) => `${s.name}:${s.count}`).join(","),
      dlq: `${distinct.size}(raw ${dead.raw})`,
      redelivered: workers.reduce((n, w) => n + w.received(), 0) - sent,
      seconds: (lagZeroAt - started) / 1000,
      extra: `workers=4 partitions=${partitions} killed-at=${killAt.count}:${killAt.phase} after ${((killedAt - started) / 1000).toFixed(1)}s ` +
        `held=${held.join("/")} resume=${resumed.map((m) => (m / 1000).toFixed(1)).join("/")}s ` +
        `lag-0-after-kill=${((lagZeroAt - killedAt) / 1000).toFixed(1)}s lag-0-after-last-send=${((lagZeroAt - producedAt) / 1000).toFixed(1)}s ` +
        `history=${history.length} backward-steps=${steps.length} committed=${workers.map((w) => w.committed()).join("/")} ` +
        `scheduler-slots=${slots.length} not-executed=${[...stored].filter(([slot]) => !slots.includes(slot)).map(([, state]) => state).join("/") || "none"} owners=a:${outcome.executions.filter((e) => e.instance === "a").length},b:${outcome.executions.filter((e) => e.instance === "b").length}`
    })
  } finally {
    for (const w of workers) if (w.isRunning()) w.kill("SIGKILL")
    if (stopSchedulers) await stopSchedulers().catch(() => undefined)
    await dropHistory(scenario)
    await disposeScenario(scenario)
  }
}, 150_000)

