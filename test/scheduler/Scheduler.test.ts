import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either, Exit, Fiber, Option, Schedule, Scope, TestClock } from "effect"
import * as Dag from "../../src/scheduler/Dag.js"
import * as Job from "../../src/scheduler/Job.js"
import type { RunStoreService } from "../../src/scheduler/RunStore.js"
import { RunStore } from "../../src/scheduler/RunStore.js"
import * as Scheduler from "../../src/scheduler/Scheduler.js"
import * as Supervisor from "../../src/scheduler/Supervisor.js"
import * as Timetable from "../../src/scheduler/Timetable.js"
import { advance, getRun, iso, makeLog, runsOf, settle, utc, withMemoryStore } from "./support.js"

const daily = Timetable.cron("0 0 * * *", { zone: "UTC" })
const quiet = { heartbeat: "1 hour", lease: "3 hours" } as const

/** A one-task job whose task logs its slot and then runs `body`. */
const loggingJob = <E>(
  name: string,
  log: { readonly add: (s: string) => Effect.Effect<void> },
  options: Job.Options,
  body: Effect.Effect<void, E> = Effect.void
) =>
  Job.make(
    Either.getOrThrow(Dag.make(name, [Dag.task("work", { run: (ctx) => Effect.zipRight(log.add(iso(ctx.slot)), body) })])),
    options
  )

/** Starts a scheduler in its own scope, so a test can stop it ("kill the process"). */
const startIn = <R>(options: Scheduler.Options<R>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const scheduler = yield* Scheduler.make(options).pipe(Scope.extend(scope))
    return { scheduler, stop: Scope.close(scope, Exit.void) }
  })

describe("Scheduler (TestClock)", () => {
  it.scoped("catchup after downtime: all (bounded), latest, none", () =>
    Effect.gen(function*() {
      for (const [catchup, expected] of [
        ["all", ["2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07"]],
        ["latest", ["2024-01-07"]],
        ["none", ["2024-01-08"]]
      ] as const) {
        yield* withMemoryStore((store) =>
          Effect.gen(function*() {
            yield* TestClock.setTime(utc("2024-01-01T12:00"))
            const log = yield* makeLog
            const job = loggingJob("etl", log, { timetable: daily, catchup, maxCatchup: 4 })
            // Up for one day, so the job has history (slot 2024-01-02).
            const first = yield* startIn({ jobs: [job], instanceId: "a", ...quiet })
            yield* advance("1 day", "1 hour")
            yield* first.stop
            // Down for five days: slots 01-03 … 01-07 are missed.
            yield* TestClock.adjust("5 days")
            yield* startIn({ jobs: [job], instanceId: "b", ...quiet })
            yield* advance("1 day", "1 hour")
            const runs = yield* log.get
            expect(runs[0]).toBe("2024-01-02T00:00:00.000Z")
            expect(runs.slice(1).map((s) => s.slice(0, 10)), `catchup ${catchup}`).toEqual(
              catchup === "none" ? expected : [...expected, "2024-01-08"]
            )
            expect((yield* runsOf(store, "etl")).every((r) => r.state === "success")).toBe(true)
          })
        )
      }
    }))

  it.scoped("backfill runs each slot of a range once, oldest first, skipping slots that already ran", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(utc("2024-02-10T12:00"))
        const log = yield* makeLog
        const job = loggingJob("etl", log, { timetable: daily }, Effect.sleep("10 minutes"))
        const scheduler = yield* Scheduler.make({ jobs: [job], instanceId: "a", ...quiet })
        const first = yield* scheduler.backfill("etl", { start: utc("2024-02-03"), end: utc("2024-02-05") })
        expect(first.slots.map(iso)).toEqual([
          "2024-02-03T00:00:00.000Z",
          "2024-02-04T00:00:00.000Z",
          "2024-02-05T00:00:00.000Z"
        ])
        yield* advance("1 hour", "5 minutes")
        // Overlapping second request: only the new slots run.
        yield* scheduler.backfill("etl", { start: utc("2024-02-04"), end: utc("2024-02-06T23:00") })
        yield* advance("1 hour", "5 minutes")
        expect((yield* log.get).map((s) => s.slice(0, 10))).toEqual([
          "2024-02-03",
          "2024-02-04",
          "2024-02-05",
          "2024-02-06"
        ])
        const runs = yield* runsOf(store, "etl")
        expect(runs.map((r) => [r.kind, r.state, iso(r.intervalStart).slice(0, 10), iso(r.intervalEnd).slice(0, 10)])).toEqual([
          ["backfill", "success", "2024-02-02", "2024-02-03"],
          ["backfill", "success", "2024-02-03", "2024-02-04"],
          ["backfill", "success", "2024-02-04", "2024-02-05"],
          ["backfill", "success", "2024-02-05", "2024-02-06"]
        ])
        // One after another: each started after the previous ended.
        for (let i = 1; i < runs.length; i++) {
          expect(Option.getOrThrow(runs[i]!.startedAt)).toBeGreaterThanOrEqual(Option.getOrThrow(runs[i - 1]!.endedAt))
        }
      })
    ))

  it.scoped("retries with exponential backoff, each attempt recorded at its simulated time", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(utc("2024-03-01"))
        let calls = 0
        const flaky = Dag.task("flaky", {
          retry: Schedule.exponential("10 seconds").pipe(Schedule.intersect(Schedule.recurs(5))),
          run: () => Effect.suspend(() => ++calls < 4 ? Effect.fail(`transient ${calls}`) : Effect.succeed(calls))
        })
        const job = Job.make(Either.getOrThrow(Dag.make("flaky", [flaky])), { timetable: Timetable.manual })
        const scheduler = yield* Scheduler.make({ jobs: [job], instanceId: "a", ...quiet })
        const run = yield* scheduler.trigger("flaky")
        yield* advance("2 minutes")
        const detail = yield* scheduler.run(run.id)
        expect(detail.run.state).toBe("success")
        const t0 = detail.attempts[0]!.startedAt
        expect(detail.attempts.map((a) => [a.attempt, a.state, (a.startedAt - t0) / 1000, Option.getOrNull(a.error)])).toEqual([
          [1, "failed", 0, "transient 1"],
          [2, "failed", 10, "transient 2"], // 10 s
          [3, "failed", 30, "transient 3"], // + 20 s
          [4, "success", 70, null] // + 40 s
        ])
        expect(detail.run.startedAt).toEqual(Option.some(utc("2024-03-01")))
        void store
      })
    ))

  it.scoped("timeout: an attempt over its limit fails with TaskTimeout, and is retried", () =>
    withMemoryStore(() =>
      Effect.gen(function*() {
        const slow = Dag.task("slow", {
          timeout: "1 minute",
          retry: Schedule.spaced("5 seconds").pipe(Schedule.intersect(Schedule.recurs(1))),
          run: () => Effect.sleep("10 minutes")
        })
        const job = Job.make(Either.getOrThrow(Dag.make("slow", [slow])), { timetable: Timetable.manual })
        const scheduler = yield* Scheduler.make({ jobs: [job], instanceId: "a", ...quiet })
        const run = yield* scheduler.trigger("slow")
        yield* advance("3 minutes")
        const detail = yield* scheduler.run(run.id)
        expect(detail.run.state).toBe("failed")
        expect(Option.getOrThrow(detail.run.error)).toBe(
          `task "slow" failed: TaskTimeout: task "slow" attempt 2 timed out after 1m`
        )
        expect(detail.attempts.map((a) => [a.attempt, a.state, a.endedAt.pipe(Option.map((e) => e - a.startedAt))])).toEqual([
          [1, "failed", Option.some(60_000)],
          [2, "failed", Option.some(60_000)]
        ])
        expect(Option.getOrThrow(detail.run.endedAt) - Option.getOrThrow(detail.run.startedAt)).toBe(125_000)
      })
    ))

  it.scoped("overlap skip: a slot that comes while the previous run is active is recorded as skipped", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        const log = yield* makeLog
        // Runs every minute, takes 150 s: slot 1 runs; slots 2 and 3 come while it is active.
        const job = loggingJob("tight", log, { timetable: Timetable.interval("1 minute"), overlap: "skip" }, Effect.sleep("150 seconds"))
        yield* Scheduler.make({ jobs: [job], instanceId: "a", ...quiet })
        yield* advance("4 minutes")
        const runs = yield* runsOf(store, "tight")
        expect(runs.map((r) => [r.slot / 60_000, r.state])).toEqual([
          [1, "success"],
          [2, "skipped"],
          [3, "skipped"],
          [4, "running"]
        ])
        expect(Option.getOrThrow(runs[1]!.error)).toMatch(/overlap: 1 run\(s\) still active \(policy skip\)/)
        expect((yield* log.get).length).toBe(2)
      })
    ))

  it.scoped("overlap queue_one: one slot waits and starts when the active run ends; allow N runs N at once", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        const log = yield* makeLog
        const queued = loggingJob("queued", log, { timetable: Timetable.interval("1 minute"), overlap: "queue_one" }, Effect.sleep("150 seconds"))
        const parallel = loggingJob("parallel", log, { timetable: Timetable.interval("1 minute"), overlap: { allow: 2 } }, Effect.sleep("150 seconds"))
        yield* Scheduler.make({ jobs: [queued, parallel], instanceId: "a", ...quiet })
        yield* advance("4 minutes")
        const q = yield* runsOf(store, "queued")
        expect(q.map((r) => [r.slot / 60_000, r.state])).toEqual([
          [1, "success"],
          [2, "running"], // was queued, started when run 1 ended at 3.5 min
          [3, "skipped"], // the queue holds one (run 2 waits in it)
          [4, "queued"] // run 2 is running now, so the queue has room again
        ])
        // Run 1 ended at 210 s; the queued run polls the store once a second.
        expect(Option.getOrThrow(q[1]!.startedAt) / 1000).toBeGreaterThanOrEqual(210)
        expect(Option.getOrThrow(q[1]!.startedAt) / 1000).toBeLessThanOrEqual(211)
        const p = yield* runsOf(store, "parallel")
        expect(p.map((r) => [r.slot / 60_000, r.state])).toEqual([
          [1, "success"],
          [2, "running"],
          [3, "skipped"],
          [4, "running"]
        ])
      })
    ))

  it.scoped("two scheduler instances on one store run each slot once", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        const log = yield* makeLog
        const job = loggingJob("shared", log, { timetable: Timetable.interval("1 minute") })
        yield* Scheduler.make({ jobs: [job], instanceId: "a", ...quiet })
        yield* Scheduler.make({ jobs: [job], instanceId: "b", ...quiet })
        yield* advance("10 minutes")
        const slots = yield* log.get
        expect(slots.length).toBe(10)
        expect(new Set(slots).size).toBe(10)
        const runs = yield* runsOf(store, "shared")
        expect(runs.map((r) => r.slot / 60_000)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        expect(runs.every((r) => r.state === "success")).toBe(true)
      })
    ))

  it.scoped("lease takeover: when the owner dies mid-run, another instance re-runs it after the lease expires", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(utc("2024-05-01T23:59"))
        const log = yield* makeLog
        const lease = { heartbeat: "10 seconds", lease: "30 seconds" } as const
        const job = loggingJob("long", log, { timetable: daily }, Effect.sleep("5 minutes"))
        // Only A runs at first, so it claims the midnight slot.
        const a = yield* startIn({ jobs: [job], instanceId: "a", ...lease })
        yield* advance("2 minutes")
        const [run] = yield* runsOf(store, "long")
        expect(run?.owner).toBe("a")
        // B joins; then A dies (its fibers stop; nothing is written on the way out).
        yield* Scheduler.make({ jobs: [job], instanceId: "b", ...lease })
        yield* a.stop
        const dead = yield* getRun(store, run!.id)
        expect([dead.state, dead.owner, dead.fencingToken]).toEqual(["running", "a", 1])
        // Within ~lease + one reaper period, B takes over and runs it to the end.
        yield* advance("45 seconds")
        const taken = yield* getRun(store, run!.id)
        expect([taken.state, taken.owner, taken.fencingToken]).toEqual(["running", "b", 2])
        yield* advance("6 minutes")
        const done = yield* getRun(store, run!.id)
        expect([done.state, done.owner, done.fencingToken]).toEqual(["success", "b", 2])
        // A's attempt was interrupted when it stopped (a hard crash would leave it "running").
        const attempts = yield* store.listAttempts(run!.id)
        expect(attempts.map((x) => [x.fencingToken, x.state, Option.getOrNull(x.error)])).toEqual([
          [1, "failed", "interrupted"],
          [2, "success", null]
        ])
        expect(yield* log.get).toEqual(["2024-05-02T00:00:00.000Z", "2024-05-02T00:00:00.000Z"])
      })
    ))

  it.scoped("fencing: an owner that stops heartbeating but is still alive cannot finish a run taken over", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        const lease = { heartbeat: "10 seconds", lease: "30 seconds" } as const
        const log = yield* makeLog
        const job = loggingJob("zombie", log, { timetable: Timetable.manual }, Effect.sleep("5 minutes"))
        // A's heartbeats never reach the store and its reaper is stalled (a long GC pause,
        // a blocked event loop), but its task keeps going:
        const frozen: RunStoreService = {
          ...store,
          heartbeat: () => Effect.succeed({ owned: true, cancelRequested: false }),
          expired: () => Effect.succeed([])
        }
        const a = yield* Scheduler.make({ jobs: [job], instanceId: "a", ...lease }).pipe(
          Effect.provideService(RunStore, frozen)
        )
        const run = yield* a.trigger("zombie")
        yield* Scheduler.make({ jobs: [job], instanceId: "b", ...lease })
        yield* advance("50 seconds")
        expect((yield* getRun(store, run.id)).owner).toBe("b")
        yield* advance("6 minutes", "10 seconds")
        // A finished its (stale) copy first, at 5:00, but the fencing token refused the write;
        // B's copy, started at ~0:40, is the one recorded.
        const final = yield* getRun(store, run.id)
        expect([final.state, final.owner, final.fencingToken]).toEqual(["success", "b", 2])
        expect(Option.getOrThrow(final.endedAt) - Option.getOrThrow(final.startedAt)).toBeGreaterThan(5 * 60_000)
        const attempts = yield* store.listAttempts(run.id)
        expect(attempts.map((x) => [x.fencingToken, x.state])).toEqual([[1, "running"], [2, "success"]])
      })
    ))

  it.scoped("pause, unpause (latest missed slot runs), trigger now, cancel", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(utc("2024-06-01T12:00"))
        const log = yield* makeLog
        const job = loggingJob("ctl", log, { timetable: daily, catchup: "latest" }, Effect.sleep("1 hour"))
        const scheduler = yield* Scheduler.make({ jobs: [job], instanceId: "a", ...quiet })
        yield* scheduler.pause("ctl")
        expect((yield* scheduler.list)[0]).toMatchObject({ name: "ctl", paused: true, timetable: `cron "0 0 * * *" (UTC)` })
        yield* advance("2 days", "1 hour")
        expect(yield* log.get).toEqual([])
        yield* scheduler.unpause("ctl")
        yield* settle
        expect(yield* log.get).toEqual(["2024-06-03T00:00:00.000Z"])
        const list = yield* scheduler.list
        expect(Option.map(list[0]!.nextRun, iso)).toEqual(Option.some("2024-06-04T00:00:00.000Z"))
        // trigger now: a manual run with data interval [last slot, now).
        const manual = yield* scheduler.trigger("ctl")
        expect([manual.kind, iso(manual.intervalStart), iso(manual.intervalEnd)]).toEqual([
          "manual",
          "2024-06-03T00:00:00.000Z",
          "2024-06-03T12:00:00.000Z"
        ])
        yield* advance("1 minute")
        yield* scheduler.cancel(manual.id)
        yield* settle
        const cancelled = yield* getRun(store, manual.id)
        expect([cancelled.state, Option.getOrNull(cancelled.error)]).toEqual(["cancelled", "cancelled on request"])
        const attempts = yield* store.listAttempts(manual.id)
        expect(attempts.map((x) => [x.state, Option.getOrNull(x.error)])).toEqual([["failed", "interrupted"]])
        const missing = yield* Effect.flip(scheduler.trigger("nope"))
        expect(missing.message).toBe(`no job named "nope" (jobs: ctl)`)
        expect((yield* Effect.flip(scheduler.cancel(manual.id)))._tag).toBe("NotFound")
      })
    ))

  it.scoped("start-up validation: a bad cron expression or an unknown pool is a clear error", () =>
    withMemoryStore(() =>
      Effect.gen(function*() {
        const dag = Either.getOrThrow(Dag.make("j", [Dag.task("t", { pool: "api", run: () => Effect.void })]))
        const badCron = yield* Effect.flip(
          Scheduler.make({ jobs: [Job.make(dag, { timetable: Timetable.cron("0 25 * * *", { zone: "UTC" }) })], pools: { api: 1 } })
        )
        expect(badCron.message).toMatch(/^job "j": invalid cron timetable "0 25 \* \* \*" in zone "UTC"/)
        const badPool = yield* Effect.flip(Scheduler.make({ jobs: [Job.make(dag, { timetable: daily })] }))
        expect(badPool.message).toBe(`job "j", task "t": unknown pool "api" (pools: none)`)
      })
    ))

  it.scoped("a pool of size 1 serialises tasks of different jobs", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        const mk = (name: string) =>
          Job.make(
            Either.getOrThrow(Dag.make(name, [Dag.task("call", { pool: "api", run: () => Effect.sleep("1 minute") })])),
            { timetable: Timetable.manual }
          )
        const scheduler = yield* Scheduler.make({ jobs: [mk("x"), mk("y")], pools: { api: 1 }, instanceId: "a", ...quiet })
        const rx = yield* scheduler.trigger("x")
        const ry = yield* scheduler.trigger("y")
        yield* advance("3 minutes")
        const ax = (yield* store.listAttempts(rx.id))[0]!
        const ay = (yield* store.listAttempts(ry.id))[0]!
        expect(Math.abs(ax.startedAt - ay.startedAt)).toBe(60_000)
      })
    ))

  it.scoped("supervise: a failing service restarts with backoff and each start is a recorded run", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        let starts = 0
        const service = Effect.suspend(() => {
          starts += 1
          return starts < 3 ? Effect.zipRight(Effect.sleep("1 minute"), Effect.fail(`crash ${starts}`)) : Effect.never
        })
        const fiber = yield* Effect.fork(
          Supervisor.supervise(service, { name: "process", backoff: Schedule.exponential("10 seconds"), instanceId: "a" })
        )
        yield* advance("5 minutes")
        const runs = yield* runsOf(store, "process")
        expect(runs.map((r) => [r.kind, r.state, Option.getOrNull(r.error)])).toEqual([
          ["service", "failed", "crash 1"],
          ["service", "failed", "crash 2"],
          ["service", "running", null]
        ])
        // Restarted after 10 s, then 20 s of backoff.
        expect(runs.map((r) => r.slot / 1000)).toEqual([0, 70, 150])
        const attempts = yield* store.listAttempts(runs[2]!.id)
        expect(attempts.map((a) => [a.task, a.attempt])).toEqual([["process", 3]])
        yield* Fiber.interrupt(fiber)
        void Duration
      })
    ))
})

describe("Scheduler.config", () => {
  const read = (env: Record<string, string>) =>
    Effect.either(Effect.withConfigProvider(Scheduler.config, ConfigProvider.fromMap(new Map(Object.entries(env)), { pathDelim: "_" })))

  it.effect("defaults, overrides, and a heartbeat that must be shorter than the lease", () =>
    Effect.gen(function*() {
      const defaults = Either.getOrThrow(yield* read({}))
      expect(defaults.instanceId).toBeUndefined()
      expect(Duration.toMillis(defaults.lease ?? 0)).toBe(30_000)
      expect(Duration.toMillis(defaults.heartbeat ?? 0)).toBe(10_000)
      expect(defaults.maxBackfill).toBe(1000)
      const set = Either.getOrThrow(yield* read({
        PANDAFLOW_SCHEDULER_INSTANCE_ID: "node-1",
        PANDAFLOW_SCHEDULER_LEASE: "1 minute",
        PANDAFLOW_SCHEDULER_HEARTBEAT: "15 seconds",
        PANDAFLOW_SCHEDULER_MAX_BACKFILL: "5"
      }))
      expect([set.instanceId, Duration.toMillis(set.lease ?? 0), Duration.toMillis(set.heartbeat ?? 0), set.maxBackfill])
        .toEqual(["node-1", 60_000, 15_000, 5])
      expect(Either.isLeft(yield* read({ PANDAFLOW_SCHEDULER_HEARTBEAT: "30 seconds" }))).toBe(true)
      expect(Either.isLeft(yield* read({ PANDAFLOW_SCHEDULER_MAX_BACKFILL: "0" }))).toBe(true)
    }))
})
