/**
 * Outages: one service goes away while records flow, then comes back. The worker must
 * stay up (waiting and retrying, committing nothing it could not write) and finish with
 * every row in both tables. Each test brings its service back up in `finally`, even when
 * it fails, so the next suite finds the rig whole.
 */
import { connect } from "node:net"
import { expect, it } from "vitest"
import { requireEnv } from "../support/env.js"
import { expectSinksExact } from "../support/exact.js"
import { expectedRows } from "../support/expected.js"
import {
  disposeScenario,
  exitWithin,
  lagOf,
  makeScenario,
  produce,
  readDeadLetters,
  service,
  sleep,
  startWorker,
  summary,
  waitUntil,
  waitWorker,
  type Worker
} from "./harness.js"

const total = 12_000

/** `host:port` of a service, from the address the run was given. */
const addressOf = (svc: Outage["service"]): { readonly host: string; readonly port: number } => {
  const raw = svc === "broker"
    ? requireEnv("PANDAFLOW_BROKERS").split(",")[0]!
    : svc === "postgres"
    ? new URL(requireEnv("PANDAFLOW_PG_URL")).host
    : requireEnv("PANDAFLOW_CASSANDRA_CONTACT_POINTS").split(",")[0]!
  const i = raw.lastIndexOf(":")
  return { host: raw.slice(0, i), port: Number(raw.slice(i + 1)) }
}

/** Whether a TCP connect to `address` succeeds within 2 s. */
const answers = (address: { readonly host: string; readonly port: number }) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(address.port, address.host)
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(2_000, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

interface Outage {
  readonly name: string
  readonly service: "broker" | "postgres" | "cassandra"
  /** How long to leave it stopped before starting it again (its start-up time adds to this). */
  readonly downMillis: number
}

const outage = ({ downMillis, name, service: svc }: Outage) => async () => {
  const scenario = await makeScenario(name)
  let worker: Worker | undefined
  let stopped = false
  try {
    await produce(scenario, total)
    const started = Date.now()
    worker = startWorker(scenario)
    const w = worker
    await waitWorker(w, "the first 1,000 records to commit", () => w.committed() >= 1_000, 60_000)
    const lagAtStop = await lagOf(scenario)
    expect(lagAtStop, "the stream drained before the outage began").toBeGreaterThan(0)

    stopped = true
    const stopAt = Date.now()
    await service("down", svc)
    // The outage is real: nothing answers on the service's port (a `down` that left the
    // service alone would otherwise pass this test without any outage).
    expect(await answers(addressOf(svc)), `${svc} still answers after services.sh down`).toBe(false)
    const committedAtStop = w.committed()
    await sleep(downMillis)
    expect(w.isRunning(), `worker died during the ${svc} outage:\n${w.stderrTail()}`).toBe(true)
    await service("up", svc)
    stopped = false
    const upAt = Date.now()
    const outageSeconds = (upAt - stopAt) / 1000

    await waitUntil("lag 0 after the outage", async () => {
      if (!w.isRunning()) throw new Error(`worker died after the ${svc} outage:\n${w.stderrTail()}`)
      return (await lagOf(scenario)) === 0
    }, 150_000, 250)
    const seconds = (Date.now() - started) / 1000
    const recoverySeconds = (Date.now() - upAt) / 1000
    // When work resumed: the first commit the parent read after the service was back.
    // (No restart count: kafkajs restarts its consumer itself, and the job's own restart
    // happens only once that retry has given up, so the count was almost always 0.)
    const firstCommitAfterUp = w.commits().find((c) => c.at >= upAt)
    const committedDuringOutage = w.commits().filter((c) => c.at >= stopAt && c.at < upAt).reduce((n, c) => n + c.records, 0)
    w.kill("SIGTERM")
    expect(await exitWithin(w, 20_000), w.stderrTail()).toBe(0)
    // The outage held the stream back: the backlog could not drain while the service was away.
    expect(committedDuringOutage, "the whole backlog was committed during the outage").toBeLessThan(lagAtStop)

    const sinks = await expectSinksExact(scenario, expectedRows(scenario.seed, total))
    // An outage must never be mistaken for bad data: nothing may be dead-lettered.
    const dead = await readDeadLetters(scenario)
    expect(dead.raw, "records dead-lettered during the outage").toBe(0)
    summary(name, {
      sent: total,
      written: sinks.map((s) => `${s.name}:${s.count}`).join(","),
      dlq: String(dead.raw),
      redelivered: w.received() - total,
      seconds,
      extra: `outage=${outageSeconds.toFixed(1)}s lag-0-after-up=${recoverySeconds.toFixed(1)}s lag-at-stop=${lagAtStop} ` +
        `committed-at-stop=${committedAtStop} committed-during-outage=${committedDuringOutage} ` +
        `first-commit-after-up=${firstCommitAfterUp === undefined ? "none" : `${((firstCommitAfterUp.at - upAt) / 1000).toFixed(1)}s`}`
    })
  } finally {
    if (worker?.isRunning()) worker.kill("SIGKILL")
    if (stopped) await service("up", svc)
    await disposeScenario(scenario)
  }
}

it("Postgres stopped for 20 s mid-stream: the job waits and completes with nothing lost",
  outage({ name: "outage_postgres", service: "postgres", downMillis: 20_000 }), 240_000)

it("broker restarted mid-stream: the consumer rejoins and completes with nothing lost",
  outage({ name: "outage_broker", service: "broker", downMillis: 3_000 }), 240_000)

// Cassandra takes ~20-25 s to start, so a short pause plus its start-up is a ~25 s outage.
it("Cassandra stopped mid-stream: the client reconnects and the job completes with nothing lost",
  outage({ name: "outage_cassandra", service: "cassandra", downMillis: 2_000 }), 240_000)
