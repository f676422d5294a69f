/**
 * Running a run this instance holds: heartbeat its lease, wait its turn if it is queued,
 * run the DAG's tasks (each as soon as its upstream outcomes allow, by trigger rule;
 * retries and timeouts are the task's own; attempts take a pool permit), record every
 * attempt, and finish the run — unless the lease was lost, in which case it stops and
 * writes nothing (the fencing token would refuse the write anyway).
 *
 * @since 0.1.0
 */
import { Cause, Deferred, Duration, Effect, Exit, Option } from "effect"
import * as Dag from "./Dag.js"
import { InvalidJob, type Job } from "./Job.js"
import type * as Lease from "./Lease.js"
import type { Fence, RunRecord } from "./RunStore.js"
import { RunStore } from "./RunStore.js"

/** Options of `make`. */
export interface Options {
  /** The instance's leases: owner, lease length, heartbeat. */
  readonly lease: Lease.LeaseService
  /** Named pools (semaphores) that tasks take a permit from per attempt. */
  readonly pools: ReadonlyMap<string, Effect.Semaphore>
  /** Heartbeat period; also bounds how often a queued run polls for its turn. */
  readonly heartbeat: Duration.Duration
}

/** The DAG runner of one scheduler instance. */
export interface DagRunnerService {
  /**
   * Runs the DAG of `run`, which this instance holds under `fence`; records attempts.
   * None when every task succeeded or was skipped, else Some(summary of the failures).
   */
  readonly runDag: <R>(dag: Dag.Dag<R>, run: RunRecord, fence: Fence) => Effect.Effect<Option.Option<string>, never, R>
  /** Executes a held run (just claimed or taken over) to its end and records the outcome. */
  readonly execute: <R>(job: Job<R>, claimed: RunRecord) => Effect.Effect<void, never, R>
  /** Cancels `runId` if it executes in this instance (else does nothing). */
  readonly cancelLocal: (runId: string) => Effect.Effect<void>
}

const now = Effect.clockWith((clock) => clock.currentTimeMillis)

/** Runs `effect` for its side effect only; a failure or defect is logged as `what failed`. */
export const logged = <A, E>(what: string, effect: Effect.Effect<A, E>): Effect.Effect<void> =>
  effect.pipe(
    Effect.asVoid,
    Effect.catchAllCause((cause) => Effect.logWarning(`${what} failed`, Cause.squash(cause)))
  )

/** The pools' semaphores; fails with `InvalidJob` on a size that is not a positive integer. */
export const makePools = (
  sizes: Readonly<Record<string, number>>
): Effect.Effect<ReadonlyMap<string, Effect.Semaphore>, InvalidJob> =>
  Effect.gen(function*() {
    const pools = new Map<string, Effect.Semaphore>()
    for (const [name, size] of Object.entries(sizes)) {
      if (!Number.isInteger(size) || size < 1) {
        return yield* new InvalidJob({ job: "*", message: `pool "${name}" must have a positive integer size, got ${size}` })
      }
      pools.set(name, yield* Effect.makeSemaphore(size))
    }
    return pools
  })

/** Builds the runner on the ambient RunStore. */
export const make = (options: Options): Effect.Effect<DagRunnerService, never, RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const { heartbeat, lease, pools } = options
    const local = new Map<string, Deferred.Deferred<void>>()

    const runDag = <R>(dag: Dag.Dag<R>, run: RunRecord, fence: Fence): Effect.Effect<Option.Option<string>, never, R> =>
      Effect.gen(function*() {
        const outcomes = new Map<string, Deferred.Deferred<Dag.Upstream<unknown>>>()
        for (const task of dag.tasks) outcomes.set(task.name, yield* Deferred.make<Dag.Upstream<unknown>>())
        const failures: Array<string> = []
        const base = { job: run.job, runId: run.id, slot: run.slot, interval: { start: run.intervalStart, end: run.intervalEnd } }

        const hooksOf = (task: Dag.AnyTask): Dag.AttemptHooks => {
          const pool = Option.flatMap(task.pool, (name) => Option.fromNullable(pools.get(name)))
          return {
            onStart: (attempt) =>
              logged("record attempt start", Effect.flatMap(now, (t) => store.startAttempt(fence, task.name, attempt, t))),
            onEnd: (attempt, exit) =>
              logged(
                "record attempt end",
                Effect.flatMap(now, (t) => {
                  const error = Exit.isFailure(exit) ? Option.some(Dag.renderError(exit.cause)) : Option.none()
                  return store.endAttempt(fence, task.name, attempt, Dag.attemptStateOf(exit), t, error)
                })
              ),
            around: (attempt) => Option.isSome(pool) ? pool.value.withPermits(1)(attempt) : attempt
          }
        }

        const runTask = (task: Dag.AnyTask) =>
          Effect.gen(function*() {
            const names = task.trigger === "always" ? [] : (dag.upstream.get(task.name) ?? [])
            const upstream = new Map<string, Dag.Upstream<unknown>>()
            for (const name of names) upstream.set(name, yield* Deferred.await(outcomes.get(name)!))
            const decision = Dag.decide(task.trigger, [...upstream.values()])
            let outcome: Dag.Upstream<unknown>
            if (decision === "run") {
              const exit = yield* Effect.exit(task.execute(upstream, base, hooksOf(task)) as Effect.Effect<unknown, unknown, R>)
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

    /** Until the job has no other running run and this one moved from queued to running. */
    const waitTurn = (claimed: RunRecord, fence: Fence): Effect.Effect<void> =>
      claimed.state !== "queued" ? Effect.void : Effect.gen(function*() {
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

    const execute = <R>(job: Job<R>, claimed: RunRecord): Effect.Effect<void, never, R> =>
      Effect.gen(function*() {
        const fence = lease.fence(claimed)
        const cancel = yield* Deferred.make<void>()
        const lost = yield* Deferred.make<void>()
        local.set(claimed.id, cancel)

        const beat = lease.keepAlive(fence, {
          every: heartbeat,
          onLost: Deferred.succeed(lost, undefined),
          onCancel: Deferred.succeed(cancel, undefined)
        })
        const body = Effect.zipRight(waitTurn(claimed, fence), runDag(job.dag, claimed, fence))
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
      }).pipe(Effect.annotateLogs({ job: claimed.job, run: claimed.id, instance: lease.owner }))

    const service: DagRunnerService = {
      runDag,
      execute,
      cancelLocal: (runId) =>
        Effect.suspend(() => {
          const cancel = local.get(runId)
          return cancel === undefined ? Effect.void : Effect.asVoid(Deferred.succeed(cancel, undefined))
        })
    }
    return service
  })
