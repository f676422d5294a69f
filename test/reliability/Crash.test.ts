/**
 * Crash: 50,000 users plus 25 injected bad records flow through the process job while its
 * worker process is SIGKILLed at 10 seeded-random points. After a final clean run both
 * tables hold exactly the expected 50,000 rows, and the dead-letter topic exactly the
 * injected records (at least once each: a crash between the dead-letter produce and the
 * commit sends it again, so duplicates are counted, not forbidden).
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { expectedRows } from "../support/expected.js"
import {
  coordinate,
  digest,
  disposeScenario,
  exitWithin,
  type Injected,
  lagOf,
  makeScenario,
  prng,
  produce,
  readDeadLetters,
  readSinks,
  type Scenario,
  sleep,
  startWorker,
  summary,
  waitWorker,
  type Worker
} from "./harness.js"

const total = 50_000
const badEvery = 2_000
const kills = 10
// The kill schedule: change the seed to explore other crash points.
const killSeed = 202_404

let scenario: Scenario
let injected: ReadonlyArray<Injected>
let producedSeconds = 0

beforeAll(async () => {
  scenario = await makeScenario("crash")
  const started = Date.now()
  injected = await produce(scenario, total, badEvery)
  producedSeconds = (Date.now() - started) / 1000
})

afterAll(async () => {
  if (scenario) await disposeScenario(scenario)
})

it("SIGKILL at 10 seeded points loses nothing, duplicates no row, dead-letters exactly the bad records", async () => {
  expect(injected).toHaveLength(total / badEvery)
  const random = prng(killSeed)
  const workers: Array<Worker> = []
  const started = Date.now()
  let finalSeconds = 0
  try {
    // Each next life starts up (tsx, Postgres, Cassandra) while the current one works, and
    // joins the group once the current one is dead; the group then waits out the dead
    // member's 6 s session, as after a real crash.
    let current = startWorker(scenario, { standby: true })
    for (let k = 0; k < kills; k++) {
      workers.push(current)
      current.go()
      const next = startWorker(scenario, { standby: true, untilDrained: k === kills - 1 })
      // Each life commits a random amount of work first, then dies a random moment
      // later: batches are then in every phase (fetched, half-written, written but not
      // committed, dead letters sent but not committed).
      const commitsBeforeKill = 300 + Math.floor(random() * 2_500)
      const extraMillis = Math.floor(random() * 400)
      const life = current
      await waitWorker(life, `life ${k} to commit ${commitsBeforeKill} records`, () => life.committed() >= commitsBeforeKill, 60_000)
      await sleep(extraMillis)
      if (process.env.RELIABILITY_DEBUG) console.log(`life ${k}: killed at ${((Date.now() - started) / 1000).toFixed(1)}s received=${life.received()} committed=${life.committed()}`)
      life.kill("SIGKILL")
      expect(await life.exited).toBe("SIGKILL")
      // Nothing commits after the kill, so this is the lag at the kill: it landed mid-stream.
      expect(await lagOf(scenario), `kill ${k} came after the stream had drained`).toBeGreaterThan(0)
      current = next
    }
    const final = current
    workers.push(final)
    const finalStarted = Date.now()
    final.go()
    const code = await exitWithin(final, 120_000)
    expect(code, `final life: received=${final.received()} committed=${final.committed()} lag=${await lagOf(scenario)}\n${final.stderrTail()}`).toBe(0)
    finalSeconds = (Date.now() - finalStarted) / 1000
  } finally {
    for (const w of workers) if (w.isRunning()) w.kill("SIGKILL")
  }
  const seconds = (Date.now() - started) / 1000
  const verifyStarted = Date.now()

  expect(await lagOf(scenario)).toBe(0)
  const expected = expectedRows(scenario.seed, total)
  const sinks = await readSinks(scenario)
  expect(sinks.map((s) => s.name).sort()).toEqual(["cassandra", "postgres"])
  for (const sink of sinks) {
    expect(sink.count, `${sink.name} rows`).toBe(total)
    expect(sink.distinct, `${sink.name} distinct ids`).toBe(total)
    expect(sink.digest, `${sink.name} rows differ from the expected rows`).toBe(digest(expected, sink.columns))
  }

  const dead = await readDeadLetters(scenario)
  const distinct = new Set(dead.sources.map(coordinate))
  expect([...distinct].sort()).toEqual(injected.map(coordinate).sort())
  expect(dead.sources.every((d) => d.key.startsWith("bad-"))).toBe(true)
  // Every one refused by the topic's schema, none by a sink.
  expect(new Set(dead.stages)).toEqual(new Set(["decode"]))
  expect(dead.raw).toBeGreaterThanOrEqual(injected.length)

  const sent = total + injected.length
  const received = workers.reduce((n, w) => n + w.received(), 0)
  const verifySeconds = (Date.now() - verifyStarted) / 1000
  summary("crash", {
    sent,
    written: sinks.map((s) => `${s.name}:${s.count}`).join(","),
    dlq: `${distinct.size}(raw ${dead.raw}, duplicates ${dead.raw - distinct.size})`,
    redelivered: received - sent,
    seconds,
    extra: `kills=${kills} lives=${workers.length} produce=${producedSeconds.toFixed(1)}s final-run=${finalSeconds.toFixed(1)}s verify=${verifySeconds.toFixed(1)}s`
  })
}, 300_000)
