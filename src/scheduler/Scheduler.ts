/**
 * The scheduler runtime: scheduled fibers instead of Airflow.
 *
 * One fiber per job sleeps (on Clock) until the job's next slot, claims the slot in the
 * RunStore and runs the DAG. Several instances may share one store: the unique claim
 * makes each (job, slot) run once, and a reaper fiber takes over runs whose owner
 * stopped heartbeating. Everything is scoped: closing the scheduler's scope interrupts
 * its fibers, and their leases then expire so another instance can take over.
 *
 * @since 0.1.0
 */
import {
  Cause,
  Context,
  Data,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  FiberSet,
  Layer,
  Option,
  Queue,
  type Scope
} from "effect"
import * as Dag from "./Dag.js"
import type { Job } from "./Job.js"
import { overlapLimit } from "./Job.js"
import type { AttemptRecord, Fence, RunKind, RunQuery, RunRecord, RunState } from "./RunStore.js"
import { RunStore, type RunStoreError, slotKey } from "./RunStore.js"
import * as Timetable from "./Timetable.js"

/** A job or run named in a request does not exist. */
export class NotFound extends Data.TaggedError("NotFound")<{
  readonly kind: "job" | "run"
  readonly name: string
  readonly message: string
}> {}

/** A job definition is unusable: bad timetable, unknown pool, duplicate job. Raised at start-up. */
export class InvalidJob extends Data.TaggedError("InvalidJob")<{
  readonly job: string
  readonly message: string
}> {}

/** Errors of the control operations. */
export type SchedulerError = NotFound | RunStoreError

/** Options of `make` / `layer`. */
export interface Options<R> {
  readonly jobs: ReadonlyArray<Job<R>>
  /** Named concurrency pools and their sizes, e.g. `{ api: 1 }`. Per instance. */
  readonly pools?: Readonly<Record<string, number>> | undefined
  /** This instance's identity in the store (lease owner). Default: a random id. */
  readonly instanceId?: string | undefined
  /** How long a lease lasts without a heartbeat. Default 30 seconds. */
  readonly lease?: Duration.DurationInput | undefined
  /** Heartbeat and reaper period; must be well under `lease`. Default 10 seconds. */
  readonly heartbeat?: Duration.DurationInput | undefined
  /** Most slots one backfill request may cover. Default 1000. */
  readonly maxBackfill?: number | undefined
}

/** A job as listed by `list`. */
export interface JobInfo {
  readonly name: string
  readonly timetable: string
  readonly paused: boolean
  /** Next slot (epoch ms) after now; none for manual jobs. */
  readonly nextRun: Option.Option<number>
  readonly catchup: string
  readonly overlap: string
  readonly tasks: ReadonlyArray<string>
}

/** A run with its task attempts. */
export interface RunDetail {
  readonly run: RunRecord
  readonly attempts: ReadonlyArray<AttemptRecord>
}

/** What a backfill request planned. */
export interface BackfillPlan {
  readonly job: string
  /** Slots that will run, oldest first. Slots already claimed are skipped when their turn comes. */
  readonly slots: ReadonlyArray<number>
}

/** The control surface of a running scheduler (what `pandaflow dags …` and the HTTP API call). */
export interface SchedulerService {
  readonly instanceId: string
  /** Jobs with their next run times. */
  readonly list: Effect.Effect<ReadonlyArray<JobInfo>, SchedulerError>
  /** Starts a manual run now (ignores the overlap policy: an explicit request wins). */
  readonly trigger: (job: string) => Effect.Effect<RunRecord, SchedulerError>
  readonly pause: (job: string) => Effect.Effect<void, SchedulerError>
  readonly unpause: (job: string) => Effect.Effect<void, SchedulerError>
  /** Runs every slot in `[start, end]` (epoch ms) one after another, in the background. */
  readonly backfill: (job: string, range: { readonly start: number; readonly end: number }) => Effect.Effect<BackfillPlan, SchedulerError>
  /** Cancels an active run, wherever it runs (its owner sees the request on its next heartbeat). */
  readonly cancel: (runId: string) => Effect.Effect<void, SchedulerError>
  readonly runs: (query: RunQuery) => Effect.Effect<ReadonlyArray<RunRecord>, SchedulerError>
  readonly run: (runId: string) => Effect.Effect<RunDetail, SchedulerError>
}

/** The tag. */
export class Scheduler extends Context.Tag("pandaflow/scheduler/Scheduler")<Scheduler, SchedulerService>() {}

interface Compiled<R> {
  readonly job: Job<R>
  readonly timetable: Timetable.Compiled
  /** Wakes the job's loop early (unpause). */
  readonly wake: Queue.Queue<void>
}

interface LocalRun {
  readonly cancel: Deferred.Deferred<void>
}

const describeOverlap = (job: Job<unknown>): string =>
  typeof job.overlap === "string" ? job.overlap : `allow ${job.overlap.allow}`

/**
 * Validates the jobs (timetables parsed now, pools known) and starts the scheduler in
 * the current scope. Fails with `InvalidJob` naming the job and the problem.
 */
export const make = <R = never>(
  options: Options<R>
): Effect.Effect<SchedulerService, InvalidJob | RunStoreError, R | RunStore | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const instanceId = options.instanceId ?? `scheduler-${crypto.randomUUID().slice(0, 8)}`
    const leaseMillis = Duration.toMillis(options.lease ?? "30 seconds")
    const heartbeat = Duration.decode(options.heartbeat ?? "10 seconds")
    const maxBackfill = options.maxBackfill ?? 1000
    const context = yield* Effect.context<R>()

    // Start-up validation: every problem is reported before anything runs.
    const pools = new Map<string, Effect.Semaphore>()
    for (const [name, size] of Object.entries(options.pools ?? {})) {
      if (!Number.isInteger(size) || size < 1) {
        return yield* new InvalidJob({ job: "*", message: `pool "${name}" must have a positive integer size, got ${size}` })
      }
      pools.set(name, yield* Effect.makeSemaphore(size))
    }
    const jobs = new Map<string, Compiled<R>>()
    for (const job of options.jobs) {
      if (jobs.has(job.name)) {
        return yield* new InvalidJob({ job: job.name, message: `job "${job.name}" is defined twice` })
      }
      const timetable = Timetable.compile(job.timetable)
      if (Either.isLeft(timetable)) {
        return yield* new InvalidJob({ job: job.name, message: `job "${job.name}": ${timetable.left.message}` })
      }
      for (const task of job.dag.tasks) {
        if (Option.isSome(task.pool) && !pools.has(task.pool.value)) {
          return yield* new InvalidJob({
            job: job.name,
            message: `job "${job.name}", task "${task.name}": unknown pool "${task.pool.value}" (pools: ${
              [...pools.keys()].join(", ") || "none"
            })`
          })
        }
      }
      jobs.set(job.name, { job, timetable: timetable.right, wake: yield* Queue.sliding<void>(1) })
    }

    const runFibers = yield* FiberSet.make()
    const local = new Map<string, LocalRun>()
    let triggerSeq = 0

    const now = Effect.clockWith((clock) => clock.currentTimeMillis)
    const leaseFrom = (t: number) => t + leaseMillis
    const logged = <A, E>(what: string, effect: Effect.Effect<A, E>): Effect.Effect<void> =>
      effect.pipe(
        Effect.asVoid,
        Effect.catchAllCause((cause) => Effect.logWarning(`${what} failed`, Cause.squash(cause)))
      )

    const findJob = (name: string): Effect.Effect<Compiled<R>, NotFound> => {
      const job = jobs.get(name)
      return job === undefined
        ? Effect.fail(new NotFound({ kind: "job", name, message: `no job named "${name}" (jobs: ${[...jobs.keys()].join(", ")})` }))
        : Effect.succeed(job)
    }

    // ---- running one run -------------------------------------------------------------

    /** Runs the DAG of `run`, which this instance holds; records attempts and the outcome. */
    const runDag = (compiled: Compiled<R>, run: RunRecord, fence: Fence): Effect.Effect<Option.Option<string>, never, R> =>
      Effect.gen(function*() {
        const dag = compiled.job.dag
        const outcomes = new Map<string, Deferred.Deferred<Dag.Upstream<unknown>>>()
        for (const task of dag.tasks) outcomes.set(task.name, yield* Deferred.make<Dag.Upstream<unknown>>())
        const failures: Array<string> = []
        const base = { job: run.job, runId: run.id, slot: run.slot, interval: { start: run.intervalStart, end: run.intervalEnd } }

        const runTask = (task: Dag.AnyTask) =>
          Effect.gen(function*() {
            const names = task.trigger === "always" ? [] : (dag.upstream.get(task.name) ?? [])
            const upstream = new Map<string, Dag.Upstream<unknown>>()
            for (const name of names) upstream.set(name, yield* Deferred.await(outcomes.get(name)!))
            const decision = Dag.decide(task.trigger, [...upstream.values()])
            let outcome: Dag.Upstream<unknown>
            if (decision === "run") {
              const pool = Option.flatMap(task.pool, (name) => Option.fromNullable(pools.get(name)))
              const hooks: Dag.AttemptHooks = {
                onStart: (attempt) =>
                  logged("record attempt start", Effect.flatMap(now, (t) => store.startAttempt(fence, task.name, attempt, t))),
                onEnd: (attempt, exit) =>
                  logged(
                    "record attempt end",
                    Effect.flatMap(now, (t) =>
                    {
                      const outcome = Dag.upstreamOf(exit)
                      const state = outcome._tag === "Success" ? "success" as const
                        : outcome._tag === "Skipped" ? "skipped" as const
                        : "failed" as const
                      const error = Exit.isFailure(exit) ? Option.some(Dag.renderError(exit.cause)) : Option.none()
                      return store.endAttempt(fence, task.name, attempt, state, t, error)
                    })
                  ),
                around: (attempt) => Option.isSome(pool) ? pool.value.withPermits(1)(attempt) : attempt
              }
              const exit = yield* Effect.exit(task.execute(upstream, base, hooks) as Effect.Effect<unknown, unknown, R>)
              outcome = Dag.upstreamOf(exit)
              if (outcome._tag === "Failed") failures.push(`task "${task.name}" failed: ${outcome.error}`)
            } else if (decision === "upstream_failed") {
              outcome = { _tag: "Failed", error: "upstream failed" }
              failures.push(`task "${task.name}" not run: upstream failed`)
            } else {
              outcome = { _tag: "Skipped" }
            }
            yield* Deferred.succeed(outcomes.get(task.name)!, outcome)
          })

        yield* Effect.forEach(dag.tasks, runTask, { concurrency: "unbounded", discard: true })
        return failures.length === 0 ? Option.none() : Option.some(failures.join("; "))
      })

    /**
     * Executes a run this instance holds (just claimed or taken over): heartbeats its
     * lease, waits if queued, runs the DAG, and finishes it — unless it lost the lease,
     * in which case it stops and writes nothing (the fencing token would refuse it anyway).
     */
    const execute = (compiled: Compiled<R>, claimed: RunRecord): Effect.Effect<void, never, R> =>
      Effect.gen(function*() {
        const fence: Fence = { runId: claimed.id, owner: instanceId, fencingToken: claimed.fencingToken }
        const cancel = yield* Deferred.make<void>()
        const lost = yield* Deferred.make<void>()
        local.set(claimed.id, { cancel })

        const beat = Effect.gen(function*() {
          yield* Effect.sleep(heartbeat)
          const t = yield* now
          const result = yield* store.heartbeat(fence, leaseFrom(t))
          if (!result.owned) yield* Deferred.succeed(lost, undefined)
          if (result.cancelRequested) yield* Deferred.succeed(cancel, undefined)
        }).pipe(
          Effect.catchAll((error) => Effect.logWarning("heartbeat failed", error)),
          Effect.forever
        )

        const waitTurn = claimed.state !== "queued" ? Effect.void : Effect.gen(function*() {
          const poll = Duration.min(heartbeat, Duration.seconds(1))
          for (;;) {
            const running = yield* store.countActive(claimed.job, { state: "running", exceptRunId: claimed.id }).pipe(
              Effect.orElseSucceed(() => 1)
            )
            if (running === 0 && (yield* store.markRunning(fence, yield* now).pipe(Effect.orElseSucceed(() => false)))) {
              return
            }
            yield* Effect.sleep(poll)
          }
        })

        const body = Effect.zipRight(waitTurn, runDag(compiled, claimed, fence))
        const outcome = yield* Effect.forkScoped(beat).pipe(
          Effect.zipRight(Effect.raceAll([
            Effect.map(body, (error) => ({ _tag: "Done" as const, error })),
            Effect.as(Deferred.await(cancel), { _tag: "Cancelled" as const }),
            Effect.as(Deferred.await(lost), { _tag: "Lost" as const })
          ])),
          // The heartbeat stops with the run, before the final write.
          Effect.scoped,
          Effect.ensuring(Effect.sync(() => local.delete(claimed.id)))
        )

        const t = yield* now
        switch (outcome._tag) {
          case "Done":
            yield* logged(
              "finish run",
              store.finish(fence, Option.isNone(outcome.error) ? "success" : "failed", t, outcome.error)
            )
            yield* Effect.logInfo(`run ${claimed.id} of ${claimed.job} ${Option.isNone(outcome.error) ? "succeeded" : "failed"}`)
            return
          case "Cancelled":
            yield* logged("finish run", store.finish(fence, "cancelled", t, Option.some("cancelled on request")))
            yield* Effect.logInfo(`run ${claimed.id} of ${claimed.job} cancelled`)
            return
          case "Lost":
            yield* Effect.logWarning(`run ${claimed.id} of ${claimed.job}: lease lost to another instance; stopped`)
            return
        }
      }).pipe(Effect.annotateLogs({ job: claimed.job, run: claimed.id, instance: instanceId }))

    const start = (compiled: Compiled<R>, run: RunRecord) =>
      FiberSet.run(runFibers, Effect.provide(execute(compiled, run), context)).pipe(Effect.asVoid)

    /** Claims a (job, slot) and starts it, applying the overlap policy; None if another instance has it. */
    const launch = (
      compiled: Compiled<R>,
      slot: number,
      kind: RunKind,
      key: string,
      applyOverlap: boolean
    ): Effect.Effect<Option.Option<RunRecord>, RunStoreError> =>
      Effect.gen(function*() {
        const t = yield* now
        const interval = Timetable.dataInterval(compiled.timetable, slot)
        let state: RunState = "running"
        let reason: string | undefined
        if (applyOverlap) {
          const limit = overlapLimit(compiled.job.overlap)
          const active = yield* store.countActive(compiled.job.name)
          if (active >= limit.running) {
            const queued = limit.queue ? yield* store.countActive(compiled.job.name, { state: "queued" }) : 1
            if (limit.queue && queued === 0) {
              state = "queued"
            } else {
              state = "skipped"
              reason = `overlap: ${active} run(s) still active (policy ${describeOverlap(compiled.job)})`
            }
          }
        }
        const claimed = yield* store.claim({
          job: compiled.job.name,
          key,
          kind,
          slot,
          intervalStart: interval.start,
          intervalEnd: interval.end,
          state,
          owner: instanceId,
          leaseUntil: leaseFrom(t),
          now: t,
          error: reason
        })
        if (Option.isSome(claimed)) {
          const run = claimed.value
          yield* Effect.logInfo(
            `claimed ${kind} run ${run.id} of ${run.job} for slot ${new Date(slot).toISOString()} (${state}); latency ${t - slot} ms`
          )
          if (state !== "skipped") yield* start(compiled, run)
        }
        return claimed
      })

    // ---- the per-job loop -------------------------------------------------------------

    const jobLoop = (compiled: Compiled<R>) =>
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
        Effect.annotateLogs({ job: compiled.job.name, instance: instanceId })
      )

    // ---- reaper: take over runs whose owner stopped heartbeating ------------------------

    const reap = Effect.gen(function*() {
      const t = yield* now
      for (const run of yield* store.expired(t)) {
        if (run.kind === "service") {
          // A supervised service is not re-run by another instance: mark it dead.
          const taken = yield* store.takeover(run.id, instanceId, t, leaseFrom(t))
          if (Option.isSome(taken)) {
            yield* store.finish(
              { runId: run.id, owner: instanceId, fencingToken: taken.value.fencingToken },
              "failed",
              t,
              Option.some(`owner ${run.owner} stopped heartbeating`)
            )
          }
          continue
        }
        const compiled = jobs.get(run.job)
        if (compiled === undefined) continue
        const taken = yield* store.takeover(run.id, instanceId, t, leaseFrom(t))
        if (Option.isSome(taken)) {
          yield* Effect.logWarning(
            `took over run ${run.id} of ${run.job} from ${run.owner} (lease expired); fencing token ${taken.value.fencingToken}`
          )
          yield* start(compiled, taken.value)
        }
      }
    }).pipe(
      Effect.catchAll((error) => Effect.logWarning("reaper failed", error)),
      Effect.zipRight(Effect.sleep(heartbeat)),
      Effect.forever
    )

    // ---- start-up ----------------------------------------------------------------------

    const t0 = yield* now
    for (const { job } of jobs.values()) {
      yield* store.registerJob({ name: job.name, timetable: Timetable.describe(job.timetable), now: t0 })
    }
    for (const compiled of jobs.values()) yield* Effect.forkScoped(Effect.provide(jobLoop(compiled), context))
    yield* Effect.forkScoped(reap)
    yield* Effect.logInfo(`scheduler ${instanceId} started with ${jobs.size} job(s)`)

    // ---- control -----------------------------------------------------------------------

    const service: SchedulerService = {
      instanceId,
      list: Effect.gen(function*() {
        const t = yield* now
        const records = new Map((yield* store.listJobs).map((j) => [j.name, j]))
        return [...jobs.values()].map(({ job, timetable }) => ({
          name: job.name,
          timetable: Timetable.describe(job.timetable),
          paused: records.get(job.name)?.paused ?? false,
          nextRun: Timetable.next(timetable, t),
          catchup: job.catchup,
          overlap: describeOverlap(job),
          tasks: job.dag.tasks.map((task) => task.name)
        }))
      }),
      trigger: (name) =>
        Effect.gen(function*() {
          const compiled = yield* findJob(name)
          const t = yield* now
          triggerSeq += 1
          const run = yield* launch(compiled, t, "manual", `m:${t}:${instanceId}:${triggerSeq}`, false)
          return yield* Option.match(run, {
            onNone: () => Effect.dieMessage("a unique manual trigger key was already taken"),
            onSome: Effect.succeed
          })
        }),
      pause: (name) =>
        Effect.gen(function*() {
          yield* findJob(name)
          yield* store.setPaused(name, true, yield* now)
        }),
      unpause: (name) =>
        Effect.gen(function*() {
          const compiled = yield* findJob(name)
          yield* store.setPaused(name, false, yield* now)
          yield* Queue.offer(compiled.wake, undefined)
        }),
      backfill: (name, range) =>
        Effect.gen(function*() {
          const compiled = yield* findJob(name)
          const slots = Timetable.slotsInRange(compiled.timetable, range.start, range.end, maxBackfill)
          // One slot after another, waiting for each run: a backfill must not flood the pools.
          const runAll = Effect.forEach(slots, (slot) =>
            launch(compiled, slot, "backfill", slotKey(slot), false).pipe(
              Effect.flatMap(Option.match({
                onNone: () => Effect.void,
                onSome: (run) => awaitFinal(run.id)
              })),
              Effect.catchAll((error) => Effect.logWarning(`backfill of ${name} slot ${slot} failed`, error))
            ), { discard: true })
          yield* FiberSet.run(runFibers, runAll)
          return { job: name, slots }
        }),
      cancel: (runId) =>
        Effect.gen(function*() {
          const requested = yield* store.requestCancel(runId)
          if (!requested) {
            return yield* new NotFound({ kind: "run", name: runId, message: `no active run with id ${runId}` })
          }
          const mine = local.get(runId)
          if (mine !== undefined) yield* Deferred.succeed(mine.cancel, undefined)
        }),
      runs: (query) => store.listRuns(query),
      run: (runId) =>
        Effect.gen(function*() {
          const run = yield* store.getRun(runId)
          if (Option.isNone(run)) {
            return yield* new NotFound({ kind: "run", name: runId, message: `no run with id ${runId}` })
          }
          return { run: run.value, attempts: yield* store.listAttempts(runId) }
        })
    }

    /** Waits (on Clock) until a run is final. */
    const awaitFinal = (runId: string): Effect.Effect<void, RunStoreError> =>
      Effect.gen(function*() {
        for (;;) {
          const run = yield* store.getRun(runId)
          if (Option.isNone(run) || (run.value.state !== "queued" && run.value.state !== "running")) return
          yield* Effect.sleep(Duration.min(heartbeat, Duration.seconds(1)))
        }
      })

    return service
  })

/** The scheduler as a scoped layer. */
export const layer = <R = never>(options: Options<R>): Layer.Layer<Scheduler, InvalidJob | RunStoreError, R | RunStore> =>
  Layer.scoped(Scheduler, make(options))
