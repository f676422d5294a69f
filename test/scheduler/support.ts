/**
 * Helpers for the scheduler tests: drive TestClock in steps and let forked fibers run.
 */
import { Duration, Effect, Option, Ref, TestClock } from "effect"
import * as MemoryRunStore from "../../layers/MemoryRunStore.js"
import type { RunRecord, RunStoreService } from "../../src/scheduler/RunStore.js"
import { RunStore } from "../../src/scheduler/RunStore.js"

/** Midnight UTC of a date, epoch ms. */
export const utc = (iso: string): number => Date.parse(iso.endsWith("Z") ? iso : `${iso}Z`)

/** Lets background fibers (scheduler loops, runs) make progress without moving time. */
export const settle = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
})

/**
 * Moves TestClock forward by `total` in `step`s, letting fibers settle at each step,
 * so work that a wake-up starts (claims, heartbeats) happens at the right simulated time.
 */
export const advance = (total: Duration.DurationInput, step: Duration.DurationInput = "1 second") =>
  Effect.gen(function*() {
    let left = Duration.toMillis(total)
    const stepMs = Duration.toMillis(step)
    yield* settle
    while (left > 0) {
      const d = Math.min(left, stepMs)
      yield* TestClock.adjust(Duration.millis(d))
      yield* settle
      left -= d
    }
  })

/** A fresh memory store, provided as RunStore, plus the service for assertions. */
export const withMemoryStore = <A, E, R>(
  f: (store: RunStoreService) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, RunStore>> =>
  Effect.flatMap(MemoryRunStore.make, (store) => Effect.provideService(f(store), RunStore, store))

/** Runs of a job, oldest slot first. */
export const runsOf = (store: RunStoreService, job: string) =>
  Effect.map(store.listRuns({ job, limit: 1000 }), (runs) => [...runs].reverse())

/** A counter of task executions keyed by slot. */
export const makeLog = Effect.map(Ref.make<ReadonlyArray<string>>([]), (ref) => ({
  ref,
  add: (entry: string) => Ref.update(ref, (xs) => [...xs, entry]),
  get: Ref.get(ref)
}))

/** ISO rendering of a slot. */
export const iso = (ms: number): string => new Date(ms).toISOString()

/** The run, asserted present. */
export const getRun = (store: RunStoreService, id: string): Effect.Effect<RunRecord, unknown> =>
  Effect.flatMap(store.getRun(id), Option.match({ onNone: () => Effect.fail(`no run ${id}`), onSome: Effect.succeed }))
