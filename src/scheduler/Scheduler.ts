/**
 * The scheduler runtime: scheduled fibers instead of Airflow.
 *
 * One fiber per job sleeps (on Clock) until the job's next slot, claims the slot in the
 * RunStore and runs the DAG. Several instances may share one store: the unique claim
 * makes each (job, slot) run once, and a reaper fiber takes over runs whose owner
 * stopped heartbeating. Everything is scoped: closing the scheduler's scope interrupts
 * its fibers, and their leases then expire so another instance can take over.
 *
 * This module holds the service and composes the parts: `Lease` (claims, leases,
 * fencing, reaper), `RunLoop` (timetable ticking, catch-up, overlap) and `DagRunner`
 * (running a held run's DAG and recording it).
 *
 * @since 0.1.0
 */
import { Config, type ConfigError, Context, Data, Duration, Effect, FiberSet, Layer, Option, Queue, type Scope } from "effect"
import * as DagRunner from "./DagRunner.js"
import type { InvalidJob, Job } from "./Job.js"
import * as Lease from "./Lease.js"
import type { AttemptRecord, RunQuery, RunRecord } from "./RunStore.js"
import { RunStore, type RunStoreError, slotKey } from "./RunStore.js"
import * as RunLoop from "./RunLoop.js"
import * as Timetable from "./Timetable.js"

/** A job or run named in a request does not exist. */
export class NotFound extends Data.TaggedError("NotFound")<{
  readonly kind: "job" | "run"
  readonly name: string
  readonly message: string
}> {}

/** A job definition is unusable (defined in `Job`, re-exported here). */
export { InvalidJob } from "./Job.js"

/** Errors of the control operations. */
export type SchedulerError = NotFound | RunStoreError

/** The settings of an instance that `config` can read from the environment. */
export interface Settings {
  /** This instance's identity in the store (lease owner). Default: a random id. */
  readonly instanceId?: string | undefined
  /** How long a lease lasts without a heartbeat. Default 30 seconds. */
  readonly lease?: Duration.DurationInput | undefined
  /** Heartbeat and reaper period; must be well under `lease`. Default 10 seconds. */
  readonly heartbeat?: Duration.DurationInput | undefined
  /** Most slots one backfill request may cover. Default 1000. */
  readonly maxBackfill?: number | undefined
}

/** Options of `make` / `layer`: the jobs, the pools, and the instance's settings. */
export interface Options<R> extends Settings {
  readonly jobs: ReadonlyArray<Job<R>>
  /** Named concurrency pools and their sizes, e.g. `{ api: 1 }`. Per instance. */
  readonly pools?: Readonly<Record<string, number>> | undefined
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
  /** Stops scheduling new runs of the job (active runs go on). */
  readonly pause: (job: string) => Effect.Effect<void, SchedulerError>
  /** Resumes scheduling; the job's catchup policy decides about slots missed meanwhile. */
  readonly unpause: (job: string) => Effect.Effect<void, SchedulerError>
  /** Runs every slot in `[start, end]` (epoch ms) one after another, in the background. */
  readonly backfill: (job: string, range: { readonly start: number; readonly end: number }) => Effect.Effect<BackfillPlan, SchedulerError>
  /** Cancels an active run, wherever it runs (its owner sees the request on its next heartbeat). */
  readonly cancel: (runId: string) => Effect.Effect<void, SchedulerError>
  /** Runs, newest slot first, filtered by `query`. */
  readonly runs: (query: RunQuery) => Effect.Effect<ReadonlyArray<RunRecord>, SchedulerError>
  /** One run with its task attempts. */
  readonly run: (runId: string) => Effect.Effect<RunDetail, SchedulerError>
}

/** The scheduler service tag. */
export class Scheduler extends Context.Tag("pandaflow/scheduler/Scheduler")<Scheduler, SchedulerService>() {}

const now = Effect.clockWith((clock) => clock.currentTimeMillis)

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
    const heartbeat = Duration.decode(options.heartbeat ?? "10 seconds")
    const maxBackfill = options.maxBackfill ?? 1000
    const context = yield* Effect.context<R>()
    // Start-up validation: every problem is reported before anything runs.
    const pools = yield* DagRunner.makePools(options.pools ?? {})
    const jobs = yield* RunLoop.compile(options.jobs, new Set(pools.keys()))

    const lease = yield* Lease.make({ owner: instanceId, lease: options.lease })
    const runner = yield* DagRunner.make({ lease, pools, heartbeat })
    const runFibers = yield* FiberSet.make()
    const start = (compiled: RunLoop.CompiledJob<R>, run: RunRecord) =>
      FiberSet.run(runFibers, Effect.provide(runner.execute(compiled.job, run), context)).pipe(Effect.asVoid)
    const loop = yield* RunLoop.make<R>({ lease, heartbeat, start })

    const findJob = (name: string): Effect.Effect<RunLoop.CompiledJob<R>, NotFound> => {
      const job = jobs.get(name)
      return job === undefined
        ? Effect.fail(new NotFound({ kind: "job", name, message: `no job named "${name}" (jobs: ${[...jobs.keys()].join(", ")})` }))
        : Effect.succeed(job)
    }

    const t0 = yield* now
    for (const { job } of jobs.values()) {
      yield* store.registerJob({ name: job.name, timetable: Timetable.describe(job.timetable), now: t0 })
    }
    for (const compiled of jobs.values()) yield* Effect.forkScoped(loop.loop(compiled))
    yield* Effect.forkScoped(lease.reaper(heartbeat, {
      adopt: (run) => jobs.has(run.job),
      resume: (taken) => {
        const compiled = jobs.get(taken.job)
        return compiled === undefined ? Effect.void : start(compiled, taken)
      }
    }))
    yield* Effect.logInfo(`scheduler ${instanceId} started with ${jobs.size} job(s)`)

    let triggerSeq = 0
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
          overlap: RunLoop.describeOverlap(job),
          tasks: job.dag.tasks.map((task) => task.name)
        }))
      }),
      trigger: (name) =>
        Effect.gen(function*() {
          const compiled = yield* findJob(name)
          const t = yield* now
          triggerSeq += 1
          const run = yield* loop.launch(compiled, t, "manual", `m:${t}:${instanceId}:${triggerSeq}`, false)
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
            loop.launch(compiled, slot, "backfill", slotKey(slot), false).pipe(
              Effect.flatMap(Option.match({ onNone: () => Effect.void, onSome: (run) => loop.awaitFinal(run.id) })),
              Effect.catchAll((error) => Effect.logWarning(`backfill of ${name} slot ${slot} failed`, error))
            ), { discard: true })
          yield* FiberSet.run(runFibers, runAll)
          return { job: name, slots }
        }),
      cancel: (runId) =>
        Effect.gen(function*() {
          if (!(yield* store.requestCancel(runId))) {
            return yield* new NotFound({ kind: "run", name: runId, message: `no active run with id ${runId}` })
          }
          yield* runner.cancelLocal(runId)
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
    return service
  })

/** The scheduler as a scoped layer. */
export const layer = <R = never>(options: Options<R>): Layer.Layer<Scheduler, InvalidJob | RunStoreError, R | RunStore> =>
  Layer.scoped(Scheduler, make(options))

/**
 * The instance settings `layerConfig` reads: `PANDAFLOW_SCHEDULER_INSTANCE_ID` (default:
 * random), `PANDAFLOW_SCHEDULER_LEASE` (30 seconds), `PANDAFLOW_SCHEDULER_HEARTBEAT`
 * (10 seconds, must be shorter than the lease), `PANDAFLOW_SCHEDULER_MAX_BACKFILL` (1000).
 */
export const config: Config.Config<Settings> = Config.all({
  instanceId: Config.option(Config.nonEmptyString("PANDAFLOW_SCHEDULER_INSTANCE_ID")),
  lease: Config.duration("PANDAFLOW_SCHEDULER_LEASE").pipe(Config.withDefault(Duration.seconds(30))),
  heartbeat: Config.duration("PANDAFLOW_SCHEDULER_HEARTBEAT").pipe(Config.withDefault(Duration.seconds(10))),
  maxBackfill: Config.integer("PANDAFLOW_SCHEDULER_MAX_BACKFILL").pipe(
    Config.validate({ message: "must be a positive integer", validation: (n) => n >= 1 }),
    Config.withDefault(1000)
  )
}).pipe(
  Config.validate({
    message: "PANDAFLOW_SCHEDULER_HEARTBEAT must be shorter than PANDAFLOW_SCHEDULER_LEASE",
    validation: (s) => Duration.lessThan(s.heartbeat, s.lease)
  }),
  Config.map(({ instanceId, ...rest }) => ({ ...rest, instanceId: Option.getOrUndefined(instanceId) }))
)

/** `layer` with the jobs and pools given and the instance settings from `config`. */
export const layerConfig = <R = never>(
  options: Pick<Options<R>, "jobs" | "pools">
): Layer.Layer<Scheduler, InvalidJob | RunStoreError | ConfigError.ConfigError, R | RunStore> =>
  Layer.scoped(Scheduler, Effect.flatMap(config, (settings) => make({ ...settings, ...options })))
