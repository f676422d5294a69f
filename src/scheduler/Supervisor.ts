/**
 * Supervision of long-running services (e.g. the stream processor): restart on failure
 * with backoff, and record every start in the run store as a run of kind `service`
 * with one attempt, so restarts show up in `dags runs` like any other run.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Exit, Option, type Schedule } from "effect"
import * as Lease from "./Lease.js"
import { RunStore, type RunStoreError } from "./RunStore.js"
import { renderError } from "./TaskOutcome.js"

/** Options of `supervise`. */
export interface Options<Out, E, RS> {
  /** The service's name: the job name its runs are recorded under. */
  readonly name: string
  /** When (and whether) to restart after a failure; fed the error. Ends → the failure propagates. */
  readonly backoff: Schedule.Schedule<Out, E, RS>
  /** Lease owner recorded on the runs. Default: a random id. */
  readonly instanceId?: string | undefined
  /** Lease length; the lease is renewed every third of it. Default 30 seconds. */
  readonly lease?: Duration.DurationInput | undefined
}

/**
 * Runs `service` under supervision. Each start is a run (`kind: "service"`, task =
 * the service name, attempt = 1, 2, … across restarts) that heartbeats its lease while
 * alive; a failure finishes the run as `failed` with the error, then `backoff` decides
 * whether to restart. If the process dies, the lease expires and a scheduler's reaper
 * marks the run failed. Returns the service's value if it ever completes.
 */
export const supervise = <A, E, R, Out, RS>(
  service: Effect.Effect<A, E, R>,
  options: Options<Out, E, RS>
): Effect.Effect<A, E | RunStoreError, R | RS | RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const owner = options.instanceId ?? `supervisor-${crypto.randomUUID().slice(0, 8)}`
    const lease = yield* Lease.make({ owner, lease: options.lease })
    const now = Effect.clockWith((clock) => clock.currentTimeMillis)
    yield* store.registerJob({ name: options.name, timetable: "service", now: yield* now })
    let attempt = 0

    // Recording is best effort: the service matters more than its record, so a store
    // failure is logged and the service runs (unrecorded) anyway.
    const record = <X>(what: string, effect: Effect.Effect<X, RunStoreError>): Effect.Effect<Option.Option<X>> =>
      effect.pipe(
        Effect.map(Option.some),
        Effect.catchAll((error) => Effect.as(Effect.logWarning(`service ${options.name}: ${what} failed`, error), Option.none()))
      )

    const once: Effect.Effect<A, E, R> = Effect.gen(function*() {
      attempt += 1
      const n = attempt
      const t = yield* now
      const claimed = Option.flatten(
        yield* record(
          "recording the start",
          lease.claim({
            job: options.name,
            key: `r:${t}:${owner}:${n}`,
            kind: "service",
            slot: t,
            intervalStart: t,
            intervalEnd: t,
            state: "running",
            now: t
          })
        )
      )
      const fence = Option.map(claimed, lease.fence)
      if (Option.isSome(fence)) yield* record("recording the attempt", store.startAttempt(fence.value, options.name, n, t))
      if (n > 1) yield* Effect.logWarning(`service ${options.name} restarted (start ${n})`)

      const beat = Option.match(fence, {
        onNone: () => Effect.never,
        onSome: (f) =>
          lease.keepAlive(f, {
            every: Duration.millis(lease.millis / 3),
            onError: (error) => Effect.logWarning(`service ${options.name}: heartbeat failed`, error)
          })
      })
      // The heartbeat never ends on its own: the race ends when the service does.
      const exit = yield* Effect.exit(Effect.raceFirst(service, beat))
      if (Option.isSome(fence)) {
        const end = yield* now
        const error = Exit.isSuccess(exit) ? Option.none() : Option.some(renderError(exit.cause))
        const state = Exit.isSuccess(exit) ? "success" as const : "failed" as const
        yield* record("recording the end", store.endAttempt(fence.value, options.name, n, state, end, error))
        yield* record("recording the end", store.finish(fence.value, state, end, error))
      }
      return yield* exit
    })

    const logged: Effect.Effect<A, E, R> = Effect.tapError(
      once,
      (error) => Effect.logError(`service ${options.name} failed`, error)
    )
    return yield* Effect.retry(logged, options.backoff)
  })
