/**
 * `pandaflow` (the default command): runs ingest + process and shows progress. Which
 * implementations run is decided by the composition root (src/main.ts); this module only
 * asks for services by tag.
 *
 * @since 0.1.0
 */
import { Console, Duration, Effect, Fiber, Layer, Schedule } from "effect"
import * as Pipeline from "../Pipeline.js"
import * as Progress from "../Progress.js"
import * as Control from "../scheduler/Control.js"
import * as Scheduler from "../scheduler/Scheduler.js"
import * as Supervisor from "../scheduler/Supervisor.js"
import * as UserAutomation from "../UserAutomation.js"

/** What one run does. */
export interface RunOptions {
  readonly records: number
  readonly seed: string
  readonly pageSize: number
  readonly partitions: number
  readonly groupId: string
  /** Ingest, process everything, print a summary and exit; otherwise keep processing. */
  readonly once: boolean
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

/** Runs the reference pipeline once (`--once`) or as a plain stream, no scheduler. */
export const run = (options: RunOptions) =>
  Effect.gen(function*() {
    yield* Pipeline.setup({ partitions: options.partitions })
    const progress = yield* Progress.make
    const printer = yield* printEvery(progress, options.progressSeconds)
    // Ingest and process run side by side: processing starts with the first record.
    const ingest = Pipeline.ingest({ total: options.records, seed: options.seed, pageSize: options.pageSize }, progress)
    if (options.once) {
      yield* ingest
      yield* Pipeline.processUntilDrained({ groupId: options.groupId }, progress)
    } else {
      yield* Effect.all([ingest, Pipeline.process({ groupId: options.groupId }, progress)], { concurrency: 2, discard: true })
    }
    yield* Fiber.interrupt(printer)
    const summary = yield* progress.snapshot
    yield* Console.log(`pandaflow: done in ${(summary.elapsedMillis / 1000).toFixed(1)} s · ${Progress.format(summary)}`)
    return summary
  })

/** What the long-running service mode adds: the schedule of `user_automation` and the control API. */
export interface ServeOptions extends RunOptions {
  readonly cron: string
  readonly zone: string
  readonly controlPort: number
}

/**
 * The long-running mode: the scheduler runs `user_automation` on its cron schedule (the
 * latest missed slot at once), the process job runs under supervision (restarted with
 * backoff, each start recorded), and the control API serves `pandaflow dags …`.
 */
export const serve = (options: ServeOptions) =>
  Effect.gen(function*() {
    yield* Pipeline.setup({ partitions: options.partitions })
    const progress = yield* Progress.make
    yield* printEvery(progress, options.progressSeconds)
    const job = yield* UserAutomation.job(options, progress)
    const services = Control.layerServer({ port: options.controlPort }).pipe(
      Layer.provideMerge(Scheduler.layer({ jobs: [job], pools: UserAutomation.pools }))
    )
    const processJob = Supervisor.supervise(Pipeline.process({ groupId: options.groupId }, progress), {
      name: "process",
      backoff: Schedule.exponential("1 second").pipe(Schedule.either(Schedule.spaced("30 seconds")))
    })
    yield* Effect.gen(function*() {
      yield* Console.log(
        `pandaflow: scheduler running user_automation (${options.cron}, ${options.zone}); control API http://127.0.0.1:${options.controlPort} — try: pnpm pandaflow dags list`
      )
      return yield* processJob
    }).pipe(Effect.provide(services))
  })
