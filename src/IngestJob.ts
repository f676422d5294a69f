/**
 * A scheduled ingest: the Airflow DAG of the classic pipeline (pull from an API into
 * Kafka on a cron schedule), for any pipeline with a source, done right.
 *
 * Each run reads with a seed derived from its slot, so a retried or taken-over run
 * produces the very same records (same keys) and the sinks' upserts make the retry
 * harmless; the run, its attempts and errors are recorded in the run store.
 *
 * @since 0.2.0
 */
import { Clock, Effect, Schedule } from "effect"
import * as Pipeline from "./Pipeline.js"
import type * as Progress from "./Progress.js"
import * as Dag from "./scheduler/Dag.js"
import * as Job from "./scheduler/Job.js"
import * as Timetable from "./scheduler/Timetable.js"

/** How the job runs. */
export interface Options {
  /** The job's name (default `<pipeline>_ingest`). */
  readonly name?: string | undefined
  /** Records each run ingests. */
  readonly records: number
  /** Base seed; each slot's seed is `<seed>@<slot ISO time>`. */
  readonly seed: string
  readonly pageSize?: number | undefined
  /** Cron expression (five fields). */
  readonly cron: string
  /** IANA zone of the cron expression. */
  readonly zone: string
}

/** The seed of one slot: stable across retries and instances, new every slot. */
export const seedOf = (seed: string, slot: number): string => `${seed}@${new Date(slot).toISOString()}`

/** The pool every ingest task runs in: one upstream request stream at a time. */
export const pools = { source: 1 } as const

/** The DAG's one task: ingest `records` values of the slot's seed into the topic. */
export const task = <W, B, ESource, RSource, RTransform, ESink, RSink>(
  pipeline: Pipeline.Pipeline<W, B, ESource, RSource, RTransform, ESink, RSink>,
  options: Options,
  progress?: Progress.Progress
) =>
  Dag.task("ingest", {
    run: (ctx) =>
      Pipeline.ingest(pipeline, { records: options.records, seed: seedOf(options.seed, ctx.slot), pageSize: options.pageSize }, progress)
        .pipe(
          Effect.tap((s) =>
            Effect.logInfo(
              `${options.name ?? `${pipeline.name}_ingest`}: slot ${new Date(ctx.slot).toISOString()} ingested ${s.produced} of ${s.requested} records` +
                (s.duplicates > 0 ? `, ${s.duplicates} duplicates skipped` : "") +
                (s.rejected > 0 ? `, ${s.rejected} dead-lettered at the source` : "")
            )
          )
        ),
    // Upstream APIs are flaky and rate limited: back off for minutes, not seconds.
    retry: Schedule.exponential("10 seconds").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3))),
    timeout: "30 minutes",
    pool: "source"
  })

/**
 * The job: the DAG on its cron schedule, catching up the latest missed slot. A first
 * start counts the last day as missed, so a newcomer sees a run at once instead of
 * waiting for midnight; after that, the run history decides.
 */
export const make = <W, B, ESource, RSource, RTransform, ESink, RSink>(
  pipeline: Pipeline.Pipeline<W, B, ESource, RSource, RTransform, ESink, RSink>,
  options: Options,
  progress?: Progress.Progress
) =>
  Effect.gen(function*() {
    const dag = yield* Dag.makeEffect(options.name ?? `${pipeline.name}_ingest`, [task(pipeline, options, progress)])
    const now = yield* Clock.currentTimeMillis
    return Job.make(dag, {
      timetable: Timetable.cron(options.cron, { zone: options.zone }),
      catchup: "latest",
      overlap: "skip",
      start: now - 24 * 60 * 60 * 1000
    })
  })
