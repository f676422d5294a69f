/**
 * Two scheduler instances sharing the real Postgres run store, under the REAL clock: what
 * runs beside the scale-out workers (test/reliability/ScaleOut.test.ts). Real time promises
 * little on a loaded two-core box, so what is checked is only what it does promise: no slot
 * runs twice, no slot between the first and the last one run is skipped (`catchup: "all"`
 * runs late slots late rather than not at all), and the store's owner of each finished run
 * is the instance that ran it. No latency is asserted.
 */
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Either, Exit, Layer, Logger, LogLevel, Redacted, Ref, Scope } from "effect"
import * as PostgresRunStore from "../../layers/PostgresRunStore.js"
import * as Dag from "../../src/scheduler/Dag.js"
import * as Job from "../../src/scheduler/Job.js"
import { RunStore } from "../../src/scheduler/RunStore.js"
import * as Scheduler from "../../src/scheduler/Scheduler.js"
import * as Timetable from "../../src/scheduler/Timetable.js"
import { requireEnv } from "./env.js"

/** A slot an instance ran. */
export interface Execution {
  readonly slot: number
  readonly instance: string
}

/** What the two instances did, read once they are stopped. */
export interface SchedulerOutcome {
  readonly executions: ReadonlyArray<Execution>
  /** The store's runs of the job: slot, state, owner. */
  readonly runs: ReadonlyArray<{ readonly slot: number; readonly state: string; readonly owner: string }>
}

/**
 * Starts instances `a` and `b` of a 1-second job `name` on the real run store (schema
 * `pandaflow_scheduler_it`). `stop` ends both and returns what they did.
 */
export const startSchedulers = async (name: string): Promise<{ readonly stop: () => Promise<SchedulerOutcome> }> => {
  const url = requireEnv("PANDAFLOW_PG_URL")
  const scope = Effect.runSync(Scope.make())
  const setup = Effect.gen(function*() {
    const context = yield* Layer.build(
      PostgresRunStore.layer({ schema: "pandaflow_scheduler_it" }).pipe(Layer.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 4 })))
    )
    const store = Context.get(context, RunStore)
    const executed = yield* Ref.make<ReadonlyArray<Execution>>([])
    const jobFor = (instance: string) =>
      Job.make(
        Either.getOrThrow(Dag.make(name, [Dag.task("tick", { run: (ctx) => Ref.update(executed, (xs) => [...xs, { slot: ctx.slot, instance }]) })])),
        { timetable: Timetable.interval("1 second"), catchup: "all", maxCatchup: 1000 }
      )
    // Instances are separate schedulers in one process, sharing nothing but the store.
    const instances = yield* Effect.forEach(["a", "b"], (instance) =>
      Effect.gen(function*() {
        const own = yield* Scope.make()
        yield* Scheduler.make({ jobs: [jobFor(instance)], heartbeat: "1 second", lease: "5 seconds", instanceId: `scaleout-${instance}` }).pipe(
          Effect.provideService(RunStore, store),
          Scope.extend(own)
        )
        return own
      }))
    return { store, executed, instances }
  })
  const { executed, instances, store } = await Effect.runPromise(Scope.extend(setup, scope).pipe(
    // Their fibers inherit it: a line a slot would drown the test's output.
    Logger.withMinimumLogLevel(LogLevel.Warning)
  ))
  return {
    stop: () =>
      Effect.runPromise(Effect.gen(function*() {
        yield* Effect.forEach(instances, (s) => Scope.close(s, Exit.void), { concurrency: "unbounded", discard: true })
        const executions = yield* Ref.get(executed)
        const runs = yield* store.listRuns({ job: name, limit: 1000 })
        yield* Scope.close(scope, Exit.void)
        return { executions, runs: runs.map((r) => ({ slot: r.slot, state: r.state, owner: r.owner.replace(/^scaleout-/, "") })) }
      }))
  }
}
