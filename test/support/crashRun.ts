/**
 * The crash scenario, shared by the CI run (test/reliability/Crash.test.ts) and the soak
 * (test/soak/Crash.soak.test.ts): `total` users plus injected bad records flow through the
 * consume job while each worker life SIGKILLs itself at a kill point chosen from record
 * counts by a seed (test/support/killPoints.ts); a final life drains the rest. Then both
 * tables must equal the independently generated rows, and the dead-letter topic the
 * injected records.
 */
import { expect } from "vitest"
import {
  exitWithin,
  type Injected,
  lagOf,
  produce,
  type Scenario,
  startWorker,
  summary,
  type Worker
} from "../reliability/harness.js"
import { expectDeadLettersExact, expectSinksExact } from "./exact.js"
import { expectedRows } from "./expected.js"
import { formatKillPoint, killSchedule } from "./killPoints.js"

/** A crash run's size and kill schedule. */
export interface CrashRun {
  readonly total: number
  readonly badEvery: number
  readonly kills: number
  /** The kill schedule's seed: the same seed gives the same kill points. */
  readonly seed: number
  /** Range of a life's kill count (records or rows of its own work). */
  readonly range: { readonly min: number; readonly max: number }
  /**
   * Whether the dead-letter topic is exactly-once (dead letters and offsets in one
   * transaction): then its raw count must equal the injected records; otherwise only its
   * distinct source coordinates must, and duplicates are counted.
   */
  readonly exactlyOnceDeadLetters: boolean
}

/** Produces the data set, runs the lives, checks both sinks and the dead letters. */
export const runCrash = async (scenario: Scenario, run: CrashRun) => {
  const producedAt = Date.now()
  const injected: ReadonlyArray<Injected> = await produce(scenario, run.total, run.badEvery)
  const producedSeconds = (Date.now() - producedAt) / 1000
  expect(injected).toHaveLength(run.total / run.badEvery)
  const schedule = killSchedule(run.seed, run.kills, run.range)
  const workers: Array<Worker> = []
  const started = Date.now()
  let finalSeconds = 0
  try {
    // Each next life starts up (node, Postgres, Cassandra) while the current one works, and
    // joins the group once the current one is dead; the group then waits out the dead
    // member's 6 s session, as after a real crash.
    let current = startWorker(scenario, { standby: true, killAt: schedule[0]! })
    for (let k = 0; k < run.kills; k++) {
      const life = current
      workers.push(life)
      life.go()
      const last = k === run.kills - 1
      const next = startWorker(scenario, last ? { standby: true, untilDrained: true } : { standby: true, killAt: schedule[k + 1]! })
      const code = await exitWithin(life, 90_000)
      expect(code, `life ${k} (kill point ${formatKillPoint(schedule[k]!)}) did not kill itself:\n${life.stderrTail()}`).toBe("SIGKILL")
      expect(life.killedAt()?.at).toBe(formatKillPoint(schedule[k]!))
      if (process.env.RELIABILITY_DEBUG) console.log(`life ${k}: ${formatKillPoint(schedule[k]!)} received=${life.received()} committed=${life.committed()}`)
      // Nothing commits after the kill, so this is the lag at the kill: it landed mid-stream.
      expect(await lagOf(scenario), `kill ${k} came after the stream had drained`).toBeGreaterThan(0)
      current = next
    }
    const final = current
    workers.push(final)
    const finalStarted = Date.now()
    final.go()
    const code = await exitWithin(final, 180_000)
    expect(code, `final life: received=${final.received()} committed=${final.committed()} lag=${await lagOf(scenario)}\n${final.stderrTail()}`).toBe(0)
    finalSeconds = (Date.now() - finalStarted) / 1000
  } finally {
    for (const w of workers) if (w.isRunning()) w.kill("SIGKILL")
  }
  const seconds = (Date.now() - started) / 1000
  const verifyStarted = Date.now()

  expect(await lagOf(scenario)).toBe(0)
  const sinks = await expectSinksExact(scenario, expectedRows(scenario.seed, run.total))
  expect(sinks.map((s) => s.name).sort()).toEqual(["cassandra", "postgres"])

  const { dead, distinct } = await expectDeadLettersExact(scenario, injected, run.exactlyOnceDeadLetters)
  expect(dead.sources.every((d) => d.key.startsWith("bad-"))).toBe(true)
  // Every one refused by the topic's schema, none by a sink.
  expect(new Set(dead.stages)).toEqual(new Set(["decode"]))

  const sent = run.total + injected.length
  const received = workers.reduce((n, w) => n + w.received(), 0)
  const phases = schedule.map(formatKillPoint).join(",")
  summary(scenario.name, {
    sent,
    written: sinks.map((s) => `${s.name}:${s.count}`).join(","),
    dlq: `${distinct.size}(raw ${dead.raw}, duplicates ${dead.raw - distinct.size})`,
    redelivered: received - sent,
    seconds,
    extra: `kills=${run.kills} seed=${run.seed} kill-points=${phases} lives=${workers.length} produce=${producedSeconds.toFixed(1)}s ` +
      `final-run=${finalSeconds.toFixed(1)}s verify=${((Date.now() - verifyStarted) / 1000).toFixed(1)}s`
  })
}
