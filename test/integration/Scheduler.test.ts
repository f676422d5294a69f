/**
 * The scheduler on the real Postgres (PANDAFLOW_PG_URL) under TestClock: the run store
 * takes every time from the caller's Clock, so simulated time drives real claims, leases
 * and takeovers. Two instances share one PostgresRunStore; every slot must run exactly
 * once, by the instance the store names as its owner, at its slot's time; a run whose
 * owner dies must be taken over once its lease has expired, not before. Without
 * PANDAFLOW_PG_URL this FAILS, never skips.
 *
 * Simulated time stands still while Postgres answers, so between steps the test waits
 * (in real time, bounded) for the store to show what the step must have caused; no
 * assertion depends on how long real time took. The one real-time scheduler test runs
 * beside the scale-out workers (test/reliability/ScaleOut.test.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Clock, Context, Duration, Effect, Either, Exit, Layer, Option, Redacted, Ref, Scope, TestClock } from "effect"
import * as PostgresRunStore from "../../layers/PostgresRunStore.js"
import * as Dag from "../../src/scheduler/Dag.js"
import * as Job from "../../src/scheduler/Job.js"
import { type RunRecord, RunStore, type RunStoreService } from "../../src/scheduler/RunStore.js"
import * as Scheduler from "../../src/scheduler/Scheduler.js"
import * as Timetable from "../../src/scheduler/Timetable.js"

const schema = "pandaflow_scheduler_it"
const start = Date.parse("2026-01-01T00:00:00.000Z")

const store = Effect.gen(function*() {
  const url = process.env["PANDAFLOW_PG_URL"] ?? ""
  if (url === "") {
    return yield* Effect.dieMessage(
      "PANDAFLOW_PG_URL not set: the scheduler integration test needs the real Postgres. " +
        "Start it with `bash scripts/services.sh up`, then `source .pandaflow/env` (or run through scripts/with-services.sh)."
    )
  }
  const context = yield* Layer.build(
    PostgresRunStore.layer({ schema }).pipe(Layer.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 6 })))
  )
  return Context.get(context, RunStore)
})

/** Real time, for Postgres to answer: TestClock does not move meanwhile. */
const realPause = (millis: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

/** Polls the store (real time, 25 ms apart, at most `tries` times) until `check` holds. */
const awaitStore = <A>(what: string, read: Effect.Effect<A, unknown>, check: (a: A) => boolean, tries = 400) =>
  Effect.gen(function*() {
    for (let i = 0; i < tries; i++) {
      const a = yield* read
      if (check(a)) return a
      yield* realPause(25)
    }
    return yield* Effect.dieMessage(`the store never showed ${what}`)
  })

const runsOf = (runStore: RunStoreService, job: string) => runStore.listRuns({ job, limit: 100 })

const runOf = (runStore: RunStoreService, id: string): Effect.Effect<RunRecord, unknown> =>
  Effect.flatMap(runStore.getRun(id), Option.match({ onNone: () => Effect.dieMessage(`no run ${id}`), onSome: Effect.succeed }))

const now = Clock.currentTimeMillis

describe("Scheduler on the real Postgres (TestClock)", () => {
  it.scoped("two instances share one store: each 1-second slot runs exactly once, by its owner, at its time", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const runStore = yield* store
      const name = `it_shared_${crypto.randomUUID().slice(0, 8)}`
      const executed = yield* Ref.make<ReadonlyArray<{ readonly slot: number; readonly instance: string; readonly at: number }>>([])
      // Each instance's copy of the job logs which instance ran the slot.
      const jobFor = (instance: string) =>
        Job.make(
          Either.getOrThrow(Dag.make(name, [
            Dag.task("work", { run: (ctx) => Effect.flatMap(now, (at) => Ref.update(executed, (xs) => [...xs, { slot: ctx.slot, instance, at }])) })
          ])),
          { timetable: Timetable.interval("1 second"), catchup: "none" }
        )
      const settings = { heartbeat: "1 second", lease: "5 seconds" } as const
      const scope = yield* Scope.make()
      for (const instance of ["it-a", "it-b"]) {
        yield* Scheduler.make({ jobs: [jobFor(instance)], ...settings, instanceId: instance }).pipe(
          Effect.provideService(RunStore, runStore),
          Scope.extend(scope)
        )
      }
      const slots = [1, 2, 3, 4, 5, 6].map((s) => start + s * 1000)
      for (const slot of slots) {
        yield* TestClock.adjust("1 second")
        yield* awaitStore(`slot ${new Date(slot).toISOString()} succeeded`, runsOf(runStore, name), (runs) =>
          runs.some((r) => r.slot === slot && r.state === "success"))
      }
      // Both instances saw every slot; let the losers of the claims finish before stopping.
      yield* realPause(200)
      yield* Scope.close(scope, Exit.void)

      const ran = [...(yield* Ref.get(executed))].sort((a, b) => a.slot - b.slot)
      expect(ran.map((e) => e.slot), "each slot once, none missed").toEqual(slots)
      // On the clock the scheduler reads, each slot started at its time.
      expect(ran.map((e) => e.at - e.slot)).toEqual(slots.map(() => 0))
      const runs = [...(yield* runsOf(runStore, name))].sort((a, b) => a.slot - b.slot)
      expect(runs.map((r) => [r.slot, r.state, r.fencingToken])).toEqual(slots.map((s) => [s, "success", 1]))
      // The store's owner of each run is the instance that executed it.
      expect(runs.map((r) => r.owner)).toEqual(ran.map((e) => e.instance))
      console.log(`scheduler on Postgres (TestClock): ${slots.length} slots, owners ${runs.map((r) => r.owner).join(",")}`)
    }), 60_000)

  it.scoped("a run whose owner dies is taken over by the other instance once its lease expired, not before", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const runStore = yield* store
      const name = `it_takeover_${crypto.randomUUID().slice(0, 8)}`
      const executions = yield* Ref.make<ReadonlyArray<string>>([])
      const work = Dag.task("work", {
        run: (ctx) => Effect.zipRight(Ref.update(executions, (xs) => [...xs, `attempt ${ctx.attempt}`]), Effect.sleep("1500 millis"))
      })
      const job = Job.make(Either.getOrThrow(Dag.make(name, [work])), { timetable: Timetable.manual })
      const lease = Duration.seconds(1)
      const options = { jobs: [job], heartbeat: "300 millis", lease } as const
      const scopeA = yield* Scope.make()
      const a = yield* Scheduler.make({ ...options, instanceId: "it-a" }).pipe(
        Effect.provideService(RunStore, runStore),
        Scope.extend(scopeA)
      )
      yield* Scheduler.make({ ...options, instanceId: "it-b" }).pipe(Effect.provideService(RunStore, runStore))
      const triggered = yield* a.trigger(name)
      const running = yield* awaitStore("the run started on it-a", runOf(runStore, triggered.id), (r) => r.state === "running" && r.owner === "it-a")
      yield* awaitStore("it-a's task started", Ref.get(executions), (xs) => xs.length === 1)
      yield* Scope.close(scopeA, Exit.void) // A "dies"
      const diedAt = yield* now
      // A's lease runs out at `leaseUntil` (it may have renewed it once more before dying).
      const leaseEnd = (yield* runOf(runStore, triggered.id)).leaseUntil
      expect(leaseEnd).toBeGreaterThanOrEqual(running.leaseUntil)
      expect(leaseEnd).toBeLessThanOrEqual(diedAt + Duration.toMillis(lease))

      // 100 ms steps of simulated time, each followed by the store's answer.
      let final = yield* runOf(runStore, triggered.id)
      let takenAt: number | undefined
      for (let i = 0; i < 80 && final.state !== "success"; i++) {
        yield* TestClock.adjust("100 millis")
        yield* realPause(30)
        final = yield* runOf(runStore, triggered.id)
        if (takenAt === undefined && final.owner === "it-b") takenAt = yield* now
      }
      expect([final.state, final.owner, final.fencingToken]).toEqual(["success", "it-b", 2])
      expect(yield* Ref.get(executions)).toEqual(["attempt 1", "attempt 1"])
      const attempts = yield* runStore.listAttempts(triggered.id)
      expect(attempts.map((x) => [x.fencingToken, x.state])).toEqual([[1, "failed"], [2, "success"]])
      // Not before the lease expired; within one reaper period (the heartbeat) and a step after.
      const takeover = attempts[1]!.startedAt
      expect(takeover).toBeGreaterThanOrEqual(leaseEnd)
      expect(takenAt).toBeDefined()
      expect(takeover).toBeLessThanOrEqual(leaseEnd + 300 + 100)
    }), 60_000)
})
