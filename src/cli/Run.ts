/**
 * The two run modes of a pipeline module: `--once` (ingest, consume everything, print a
 * summary, exit) and the long-running service (its jobs on their schedules, the consume
 * job under supervision, the control API). Which implementations run is decided by the
 * composition root (bin/pandaflow.ts); this module only asks for services by tag.
 *
 * @since 0.1.0
 */
import { Console, Duration, Effect, Fiber, Layer, Schedule } from "effect"
import * as IngestJob from "../IngestJob.js"
import * as Pipeline from "../Pipeline.js"
import * as Progress from "../Progress.js"
import * as Control from "../scheduler/Control.js"
import * as Scheduler from "../scheduler/Scheduler.js"
import * as Supervisor from "../scheduler/Supervisor.js"
import type * as Module from "./Module.js"

/** What one run does. */
export interface RunOptions {
  readonly records: number
  readonly seed: string
  readonly pageSize: number
  /** Partitions of new topics; the topic's own count when absent. */
  readonly partitions: number | undefined
  readonly groupId: string
  readonly progressSeconds: number
}

/** Prints a progress line every `seconds` until interrupted. */
const printEvery = (progress: Progress.Progress, seconds: number) =>
  progress.snapshot.pipe(
    Effect.flatMap((s) => Console.log(`pandaflow: ${Progress.format(s)}`)),
    Effect.schedule(Schedule.spaced(Duration.seconds(seconds))),
    Effect.forever,
    Effect.fork
  )

/** `--once`: ingest `records` (when the pipeline has a source), consume everything, print a summary. */
export const once = (module: Module.PipelineModule, options: RunOptions) =>
  Effect.gen(function*() {
    const pipeline = module.pipeline
    yield* Pipeline.setup(pipeline, { partitions: options.partitions })
    const progress = yield* Progress.make
    const printer = yield* printEvery(progress, options.progressSeconds)
    if (pipeline.source !== undefined) {
      yield* Pipeline.ingest(pipeline, { records: options.records, seed: options.seed, pageSize: options.pageSize }, progress)
    }
    yield* Pipeline.drain(pipeline, { groupId: options.groupId }, progress)
    yield* Fiber.interrupt(printer)
    const summary = yield* progress.snapshot
    yield* Console.log(`pandaflow: done in ${(summary.elapsedMillis / 1000).toFixed(1)} s · ${Progress.format(summary)}`)
    return summary
  })

/** What the long-running mode adds: the schedule of the ingest job and the control API. */
export interface ServeOptions extends RunOptions {
  readonly cron: string
  readonly zone: string
  readonly controlPort: number
}

/** The module's jobs, or one ingest job on `--cron` when it has a source and declares none. */
const jobsOf = (module: Module.PipelineModule, options: ServeOptions, progress: Progress.Progress) =>
  module.jobs !== undefined
    ? module.jobs({ pipeline: module.pipeline, options, progress })
    : module.pipeline.source === undefined
    ? Effect.succeed([])
    : Effect.map(IngestJob.make(module.pipeline, options, progress), (job) => [job])

/**
 * The long-running mode: the scheduler runs the module's jobs on their schedules (the
 * latest missed slot at once), the consume job runs under supervision (restarted with
 * backoff, each start recorded), and the control API serves `pandaflow dags …`.
 */
export const serve = (module: Module.PipelineModule, options: ServeOptions) =>
  Effect.gen(function*() {
    const pipeline = module.pipeline
    yield* Pipeline.setup(pipeline, { partitions: options.partitions })
    const progress = yield* Progress.make
    yield* printEvery(progress, options.progressSeconds)
    const jobs = yield* jobsOf(module, options, progress)
    const services = Control.layerServer({ port: options.controlPort }).pipe(
      Layer.provideMerge(Scheduler.layer({ jobs, pools: { ...IngestJob.pools, ...module.pools } }))
    )
    const consumeJob = Supervisor.supervise(Pipeline.consume(pipeline, { groupId: options.groupId }, progress), {
      name: "process",
      backoff: Schedule.exponential("1 second").pipe(Schedule.either(Schedule.spaced("30 seconds")))
    })
    yield* Effect.gen(function*() {
      const names = jobs.map((j) => j.name).join(", ") || "no scheduled jobs"
      yield* Console.log(
        `pandaflow: scheduler running ${names} (${options.cron}, ${options.zone}); control API http://127.0.0.1:${options.controlPort} — try: pnpm pandaflow dags list`
      )
      return yield* consumeJob
    }).pipe(Effect.provide(services))
  })
