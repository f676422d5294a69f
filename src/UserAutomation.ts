/**
 * The reference DAG `user_automation`: the classic Airflow DAG of the student pipeline,
 * which streamed users from randomuser.me into Kafka on a daily schedule, done right.
 *
 * Each run's users come from a seed derived from its slot, so a retried or taken-over run
 * produces the very same records (same keys), and the sinks' upserts make the retry
 * harmless; the run, its attempts and errors are recorded in the run store.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Schedule } from "effect"
import * as Pipeline from "./Pipeline.js"
import type * as Progress from "./Progress.js"
import * as Dag from "./scheduler/Dag.js"
import * as Job from "./scheduler/Job.js"
import * as Timetable from "./scheduler/Timetable.js"

/** How the DAG runs. */
export interface Options {
  /** Users each run streams into the raw topic. */
  readonly records: number
  /** Base seed; each slot's seed is `<seed>@<slot ISO time>`. */
  readonly seed: string
  readonly pageSize: number
  /** Cron expression (five fields); default daily at midnight. */
  readonly cron: string
  /** IANA zone of the cron expression; default UTC. */
  readonly zone: string
}

/** The seed of one slot: stable across retries and instances, new every slot. */
export const seedOf = (seed: string, slot: number): string => `${seed}@${new Date(slot).toISOString()}`

/** The DAG's one task: stream `records` users from the API into the raw topic. */
export const ingestTask = (options: Options, progress?: Progress.Progress) =>
  Dag.task("ingest", {
    run: (ctx) =>
      Pipeline.ingest({ total: options.records, seed: seedOf(options.seed, ctx.slot), pageSize: options.pageSize }, progress).pipe(
        Effect.tap((n) => Effect.logInfo(`user_automation: slot ${new Date(ctx.slot).toISOString()} ingested ${n} users`))
      ),
    // The API is flaky and rate limited: back off for minutes, not seconds.
    retry: Schedule.exponential("10 seconds").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3))),
    timeout: "30 minutes",
    pool: "api"
  })

/**
 * The `user_automation` job: the DAG on its cron schedule, catching up the latest missed
 * slot. A first start counts the last day as missed, so a newcomer sees a run at once
 * instead of waiting for midnight; after that, the run history decides.
 */
export const job = (options: Options, progress?: Progress.Progress) =>
  Effect.gen(function*() {
    const dag = yield* Dag.makeEffect("user_automation", [ingestTask(options, progress)])
    const now = yield* Clock.currentTimeMillis
    return Job.make(dag, {
      timetable: Timetable.cron(options.cron, { zone: options.zone }),
      catchup: "latest",
      overlap: "skip",
      start: now - 24 * 60 * 60 * 1000
    })
  })

/** The concurrency pools the reference DAG needs: one API request stream at a time. */
export const pools = { api: 1 } as const
