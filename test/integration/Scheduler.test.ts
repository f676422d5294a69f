/**
 * The scheduler on the real Postgres (PANDAFLOW_PG_URL), under the real clock: short and
 * bounded. Two instances share one PostgresRunStore; every slot must run exactly once,
 * and a run whose owner dies must be taken over. Also measures scheduling latency
 * (slot time → task start). Without PANDAFLOW_PG_URL this FAILS, never skips.
 */
import { describe, expect, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Either, Exit, Layer, Option, Redacted, Ref, Scope } from "effect"
import * as PostgresRunStore from "../../layers/PostgresRunStore.js"
import * as Dag from "../../src/scheduler/Dag.js"
import * as Job from "../../src/scheduler/Job.js"
import { RunStore } from "../../src/scheduler/RunStore.js"
import * as Scheduler from "../../src/scheduler/Scheduler.js"
import * as Timetable from "../../src/scheduler/Timetable.js"

const schema = "pandaflow_scheduler_it"

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

const percentile = (xs: ReadonlyArray<number>, p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN
}

describe("Scheduler on the real Postgres", () => {
  it.live("two instances share one store: each 1-second slot runs exactly once; latency measured", () =>
    Effect.gen(function*() {
      const runStore = yield* store
      const name = `it_shared_${crypto.randomUUID().slice(0, 8)}`
      const starts = yield* Ref.make<ReadonlyArray<{ readonly slot: number; readonly latency: number }>>([])
      const work = Dag.task("work", {
        run: (ctx) =>
          Effect.flatMap(
            Effect.clockWith((c) => c.currentTimeMillis),
            (now) => Ref.update(starts, (xs) => [...xs, { slot: ctx.slot, latency: now - ctx.slot }])
          )
      })
      const job = Job.make(Either.getOrThrow(Dag.make(name, [work])), {
        timetable: Timetable.interval("1 second"),
        catchup: "none"
      })
      const options = { jobs: [job], heartbeat: "1 second", lease: "5 seconds" } as const
      const scope = yield* Scope.make()
      yield* Scheduler.make({ ...options, instanceId: "it-a" }).pipe(Effect.provideService(RunStore, runStore), Scope.extend(scope))
      yield* Scheduler.make({ ...options, instanceId: "it-b" }).pipe(Effect.provideService(RunStore, runStore), Scope.extend(scope))
      yield* Effect.sleep("6500 millis")
      yield* Scope.close(scope, Exit.void)

      const executed = yield* Ref.get(starts)
      const slots = executed.map((e) => e.slot)
      expect(slots.length).toBeGreaterThanOrEqual(5)
      expect(new Set(slots).size).toBe(slots.length) // no slot ran twice
      const runs = yield* runStore.listRuns({ job: name, limit: 100 })
      expect(runs.length).toBe(slots.length)
      expect(runs.every((r) => r.state === "success")).toBe(true)
      expect(new Set(runs.map((r) => r.owner)).size).toBeGreaterThanOrEqual(1)
      // Consecutive slots, none missing between the first and the last.
      const sorted = [...slots].sort((a, b) => a - b)
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBe(1000)

      const latencies = executed.map((e) => e.latency)
      const claimLatency = runs.map((r) => Option.getOrThrow(r.startedAt) - r.slot)
      console.log(
        `scheduling latency, slot → task start, ${latencies.length} slots, 2 instances on Postgres: ` +
          `min ${Math.min(...latencies)} ms, p50 ${percentile(latencies, 0.5)} ms, max ${Math.max(...latencies)} ms; ` +
          `slot → run recorded as started: p50 ${percentile(claimLatency, 0.5)} ms, max ${Math.max(...claimLatency)} ms; ` +
          `owners: ${[...new Set(runs.map((r) => r.owner))].join(", ")}`
      )
      expect(Math.max(...latencies)).toBeLessThan(1000)
    }).pipe(Effect.scoped), 60_000)

  it.live("a run whose owner dies is taken over by the other instance after the lease expires", () =>
    Effect.gen(function*() {
      const runStore = yield* store
      const name = `it_takeover_${crypto.randomUUID().slice(0, 8)}`
      const executions = yield* Ref.make<ReadonlyArray<string>>([])
      const work = Dag.task("work", {
        run: (ctx) => Effect.zipRight(Ref.update(executions, (xs) => [...xs, `attempt ${ctx.attempt}`]), Effect.sleep("1500 millis"))
      })
      const job = Job.make(Either.getOrThrow(Dag.make(name, [work])), { timetable: Timetable.manual })
      const options = { jobs: [job], heartbeat: "300 millis", lease: "1 second" } as const
      const scopeA = yield* Scope.make()
      const a = yield* Scheduler.make({ ...options, instanceId: "it-a" }).pipe(
        Effect.provideService(RunStore, runStore),
        Scope.extend(scopeA)
      )
      yield* Scheduler.make({ ...options, instanceId: "it-b" }).pipe(Effect.provideService(RunStore, runStore))
      const run = yield* a.trigger(name)
      yield* Effect.sleep("300 millis")
      yield* Scope.close(scopeA, Exit.void) // A "dies"
      // Lease 1 s + reaper period 0.3 s + the 1.5 s task, with margin.
      let final = Option.getOrThrow(yield* runStore.getRun(run.id))
      for (let i = 0; i < 50 && final.state !== "success"; i++) {
        yield* Effect.sleep("100 millis")
        final = Option.getOrThrow(yield* runStore.getRun(run.id))
      }
      expect([final.state, final.owner, final.fencingToken]).toEqual(["success", "it-b", 2])
      expect(yield* Ref.get(executions)).toEqual(["attempt 1", "attempt 1"])
      const attempts = yield* runStore.listAttempts(run.id)
      expect(attempts.map((x) => [x.fencingToken, x.state])).toEqual([[1, "failed"], [2, "success"]])
    }).pipe(Effect.scoped), 60_000)
})
