/**
 * The per-job run loop: one fiber per job sleeps (on Clock) until the job's next slot,
 * claims the slot and starts its run. Missed slots are caught up by the job's `catchup`
 * policy, one after another; a slot that comes while runs are active is queued or
 * skipped by its `overlap` policy. `launch` is also what manual triggers and backfills use.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Either, Option, Queue } from "effect"
import { InvalidJob, type Job, overlapLimit } from "./Job.js"
import type * as Lease from "./Lease.js"
import type { RunKind, RunRecord, RunState, RunStoreError } from "./RunStore.js"
import { RunStore, slotKey } from "./RunStore.js"
import * as Timetable from "./Timetable.js"

/** A job validated at start-up, with its compiled timetable. */
export interface CompiledJob<R> {
  readonly job: Job<R>
  readonly timetable: Timetable.Compiled
  /** Wakes the job's loop early (unpause). */
  readonly wake: Queue.Queue<void>
}

/** Options of `make`. */
export interface Options<R> {
  /** The instance's leases: claims are made through them. */
  readonly lease: Lease.LeaseService
  /** Polling period of `awaitFinal`, and the pause before a failed loop restarts. */
  readonly heartbeat: Duration.Duration
  /** Starts a claimed run in the background (the DAG runner, in the scheduler's scope). */
  readonly start: (compiled: CompiledJob<R>, run: RunRecord) => Effect.Effect<void>
}

/** The run loop of one scheduler instance. */
export interface RunLoopService<R> {
  /**
   * Claims (job, slot) under `key` and starts the run; with `applyOverlap`, the job's
   * overlap policy decides whether it runs, queues or is recorded as skipped. None if
   * another instance (or an earlier request) has the key.
   */
  readonly launch: (
    compiled: CompiledJob<R>,
    slot: number,
    kind: RunKind,
    key: string,
    applyOverlap: boolean
  ) => Effect.Effect<Option.Option<RunRecord>, RunStoreError>
  /** The job's loop, forever: ticks its timetable, catches up, restarts after a failure. */
  readonly loop: (compiled: CompiledJob<R>) => Effect.Effect<never>
  /** Waits (on Clock) until a run is final. */
  readonly awaitFinal: (runId: string) => Effect.Effect<void, RunStoreError>
}

/** The overlap policy as shown by `list` and in skip reasons, e.g. `skip` or `allow 2`. */
export const describeOverlap = (job: Job<unknown>): string =>
  typeof job.overlap === "string" ? job.overlap : `allow ${job.overlap.allow}`

/**
 * Validates the jobs: unique names, timetables that parse, and only the `pools` given
 * named by tasks. Fails with `InvalidJob` naming the job and the problem.
 */
export const compile = <R>(
  jobs: ReadonlyArray<Job<R>>,
  pools: ReadonlySet<string>
): Effect.Effect<ReadonlyMap<string, CompiledJob<R>>, InvalidJob> =>
  Effect.gen(function*() {
    const compiled = new Map<string, CompiledJob<R>>()
    for (const job of jobs) {
      if (compiled.has(job.name)) return yield* new InvalidJob({ job: job.name, message: `job "${job.name}" is defined twice` })
      const timetable = Timetable.compile(job.timetable)
      if (Either.isLeft(timetable)) {
        return yield* new InvalidJob({ job: job.name, message: `job "${job.name}": ${timetable.left.message}` })
      }
      for (const task of job.dag.tasks) {
        if (Option.isSome(task.pool) && !pools.has(task.pool.value)) {
          return yield* new InvalidJob({
            job: job.name,
            message: `job "${job.name}", task "${task.name}": unknown pool "${task.pool.value}" (pools: ${
              [...pools].join(", ") || "none"
            })`
          })
        }
      }
      compiled.set(job.name, { job, timetable: timetable.right, wake: yield* Queue.sliding<void>(1) })
    }
    return compiled
  })

const now = Effect.clockWith((clock) => clock.currentTimeMillis)

/** Builds the run loop on the ambient RunStore. */
export const make = <R>(options: Options<R>): Effect.Effect<RunLoopService<R>, never, RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const { heartbeat, lease, start } = options

    /** The state a new run starts in under the overlap policy, and why it was skipped. */
    const overlapState = (job: Job<R>) =>
      Effect.gen(function*() {
        const limit = overlapLimit(job.overlap)
        const active = yield* store.countActive(job.name)
        if (active < limit.running) return { state: "running" as RunState, reason: undefined }
        const queued = limit.queue ? yield* store.countActive(job.name, { state: "queued" }) : 1
        return limit.queue && queued === 0
          ? { state: "queued" as RunState, reason: undefined }
          : {
            state: "skipped" as RunState,
            reason: `overlap: ${active} run(s) still active (policy ${describeOverlap(job)})`
          }
      })

    const launch: RunLoopService<R>["launch"] = (compiled, slot, kind, key, applyOverlap) =>
      Effect.gen(function*() {
        const t = yield* now
        const interval = Timetable.dataInterval(compiled.timetable, slot)
        const { reason, state } = applyOverlap
          ? yield* overlapState(compiled.job)
          : { state: "running" as RunState, reason: undefined }
        const claimed = yield* lease.claim({
          job: compiled.job.name,
          key,
          kind,
          slot,
          intervalStart: interval.start,
          intervalEnd: interval.end,
          state,
          now: t,
          error: reason
        })
        if (Option.isSome(claimed)) {
          const run = claimed.value
          yield* Effect.logInfo(
            `claimed ${kind} run ${run.id} of ${run.job} for slot ${new Date(slot).toISOString()} (${state}); latency ${Duration.format(Duration.millis(Math.max(0, Math.round((t - slot) / 1000) * 1000)))}`
          )
          if (state !== "skipped") yield* start(compiled, run)
        }
        return claimed
      })

    const awaitFinal = (runId: string): Effect.Effect<void, RunStoreError> =>
      Effect.gen(function*() {
        for (;;) {
          const run = yield* store.getRun(runId)
          if (Option.isNone(run) || (run.value.state !== "queued" && run.value.state !== "running")) return
          yield* Effect.sleep(Duration.min(heartbeat, Duration.seconds(1)))
        }
      })

    const loop = (compiled: CompiledJob<R>): Effect.Effect<never> =>
      Effect.gen(function*() {
        const { job, timetable } = compiled
        // A manual job has no slots: its loop just parks (returning would make `forever` spin).
        if (timetable._tag === "Manual") return yield* Effect.never
        const t0 = yield* now
        const latest = yield* store.latestScheduledSlot(job.name)
        // Where missed slots begin: after the last scheduled run, else the job's start,
        // else now (a job with no history and no start has missed nothing).
        let cursor = Option.getOrElse(latest, () => job.start !== undefined ? job.start - 1 : t0)
        if (job.start !== undefined) cursor = Math.max(cursor, job.start - 1)
        if (job.catchup === "none") cursor = Math.max(cursor, t0)

        for (;;) {
          const t = yield* now
          const paused = yield* store.getJob(job.name).pipe(
            Effect.map(Option.match({ onNone: () => false, onSome: (j) => j.paused }))
          )
          if (!paused) {
            const limit = job.catchup === "all" ? Math.max(1, job.maxCatchup) : 1
            const due = Timetable.slotsBetween(timetable, cursor, t, limit)
            for (const [i, slot] of due.entries()) {
              const run = yield* launch(compiled, slot, "scheduled", slotKey(slot), true)
              // Catch-up runs go one after another (else the overlap policy would skip
              // all but the first); the newest one runs under the normal policy.
              if (i < due.length - 1 && Option.isSome(run)) yield* awaitFinal(run.value.id)
            }
            cursor = Math.max(cursor, t)
          } else if (job.catchup === "none") {
            cursor = Math.max(cursor, t)
          }
          const next = Timetable.next(timetable, Math.max(cursor, t))
          if (Option.isNone(next)) return yield* Effect.never
          // Sleep on Clock until the next slot, or until unpaused.
          yield* Effect.raceFirst(Effect.sleep(Duration.millis(Math.max(0, next.value - t))), Queue.take(compiled.wake))
        }
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logError(`scheduler loop of ${compiled.job.name} failed; restarting`, cause).pipe(
            Effect.zipRight(Effect.sleep(heartbeat))
          )
        ),
        Effect.forever,
        Effect.annotateLogs({ job: compiled.job.name, instance: lease.owner })
      )

    const service: RunLoopService<R> = { launch, loop, awaitFinal }
    return service
  })
