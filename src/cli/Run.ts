/**
 * `pandaflow` (the default command): runs ingest + process and shows progress. Which
 * implementations run is decided by the composition root (src/main.ts); this module only
 * asks for services by tag.
 *
 * @since 0.1.0
 */
import { Console, Duration, Effect, Fiber, Schedule } from "effect"
import * as Pipeline from "../Pipeline.js"
import * as Progress from "../Progress.js"

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

/** Runs the reference pipeline with whatever Layers the caller provides. */
export const run = (options: RunOptions) =>
  Effect.gen(function*() {
    yield* Pipeline.setup({ partitions: options.partitions })
    const progress = yield* Progress.make
    const printer = yield* progress.snapshot.pipe(
      Effect.flatMap((s) => Console.log(`pandaflow: ${Progress.format(s)}`)),
      Effect.schedule(Schedule.spaced(Duration.seconds(options.progressSeconds))),
      Effect.forever,
      Effect.fork
    )
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
