/**
 * The two run modes of a pipeline module: `--once` (ingest while consuming, until
 * everything is committed; print a summary, exit) and the long-running service (its
 * jobs on their schedules, the consume job under supervision, the control API). Which
 * implementations run is decided by the composition root (bin/pandaflow.ts); this
 * module only asks for services by tag.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Console, Data, Effect, Fiber, FiberRef, HashSet, Layer, Logger, LogLevel, Schedule } from "effect"
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
  /** `--once`: fail when the source delivers fewer distinct records than `records`. */
  readonly exact?: boolean | undefined
  /** No progress lines: the summary, warnings and errors only. */
  readonly quiet?: boolean | undefined
  /** `json`: every line one JSON object (for a supervisor). */
  readonly logFormat?: "text" | "json" | undefined
}

/** `--exact` and the source delivered fewer distinct records than requested. */
export class Shortfall extends Data.TaggedError("Shortfall")<{ readonly message: string; readonly summary: Pipeline.IngestSummary }> {}

/** Prints one line the way the run's options say: `pandaflow: …`, or a JSON object. */
export const say = (
  options: Pick<RunOptions, "logFormat">,
  level: "info" | "warning" | "error",
  message: string,
  fields?: object
): Effect.Effect<void> =>
  options.logFormat === "json"
    ? Effect.flatMap(Clock.currentTimeMillis, (now) => Console.log(Progress.jsonLine(now, level, message, fields)))
    : level === "error"
    ? Console.error(`pandaflow: ${message}`)
    : Console.log(`pandaflow: ${message}`)

/**
 * The run's logs as its options say: `json` turns Effect's log lines (the scheduler's,
 * the sinks') into JSON objects too; `quiet` keeps warnings and errors only.
 */
export const withLogging = (options: Pick<RunOptions, "logFormat" | "quiet">) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  options.logFormat !== "json" && !options.quiet ? effect : Effect.locallyWith(effect, FiberRef.currentLoggers, (loggers) => {
    // Through the loggers, not the minimum level: the environment's layers set that level.
    const formatted = options.logFormat === "json"
      ? loggers.pipe(HashSet.remove(Logger.defaultLogger), HashSet.remove(Logger.prettyLoggerDefault), HashSet.add(jsonLogger))
      : loggers
    return options.quiet
      ? HashSet.map(formatted, (l) => Logger.filterLogLevel(l, (level) => LogLevel.greaterThanEqual(level, LogLevel.Warning)))
      : formatted
  })

/** Effect's log lines in the shape of the run's own JSON lines: `time`, `level`, `message`, annotations, cause. */
const jsonLogger = Logger.make(({ annotations, cause, date, logLevel, message }) => {
  const text = (Array.isArray(message) ? message : [message]).map((m) => typeof m === "string" ? m : JSON.stringify(m)).join(" ")
  const level = logLevel._tag === "Warning" ? "warning" : logLevel.label.toLowerCase()
  const fields: Record<string, unknown> = {}
  for (const [k, v] of annotations) fields[k] = v
  if (!Cause.isEmpty(cause)) fields["cause"] = Cause.pretty(cause)
  globalThis.console.log(JSON.stringify({ time: date.toISOString(), level, message: text, ...fields }))
})

/** Prints progress lines (unless quiet) until interrupted. */
const printProgress = (progress: Progress.Progress, options: RunOptions) =>
  options.quiet
    ? Effect.never
    : Progress.report(progress, { everySeconds: options.progressSeconds, format: options.logFormat }, Console.log)

/** How the ingest accounted for what was asked: `requested 3, received 1, distinct 1, duplicates 0, dead-lettered 0`. */
export const accounting = (i: Pipeline.IngestSummary): string =>
  `requested ${i.requested}, received ${i.received}, distinct ${i.produced}, duplicates ${i.duplicates}, dead-lettered ${i.rejected}`

/** Ends the run's effect with the line saying what was committed, when it is interrupted (Ctrl-C). */
const onStop = <A, E, R>(effect: Effect.Effect<A, E, R>, progress: Progress.Progress, options: RunOptions) =>
  Effect.onInterrupt(effect, () =>
    Effect.flatMap(progress.snapshot, (s) =>
      options.logFormat === "json" ? say(options, "info", "stopped", Progress.fields(s)) : say(options, "info", Progress.formatStopped(s))))

/**
 * Ingests while the consume job runs, and ends once the ingest ended and the group has
 * committed everything on the topic (`Pipeline.drainAfter`). Consuming alongside lets the
 * embedded broker drop committed records as the run goes and hold a source that outruns
 * the sink (Live.embeddedBroker), instead of holding the whole run in memory until the
 * ingest ends.
 */
const ingestWhileConsuming = (pipeline: Pipeline.Any, options: RunOptions, progress: Progress.Progress) =>
  Pipeline.drainAfter(
    pipeline,
    { groupId: options.groupId },
    Pipeline.ingest(pipeline, { records: options.records, seed: options.seed, pageSize: options.pageSize }, progress),
    progress
  )

/** `--once`: ingest `records` (when the pipeline has a source) while consuming, until everything is committed; print a summary. */
export const once = (module: Module.PipelineModule, options: RunOptions) =>
  Effect.gen(function*() {
    const pipeline = module.pipeline
    yield* Pipeline.setup(pipeline, { partitions: options.partitions })
    const progress = yield* Progress.make
    return yield* onStop(
      Effect.gen(function*() {
        const printer = yield* Effect.fork(printProgress(progress, options))
        const ingest = pipeline.source === undefined
          ? yield* Effect.as(Pipeline.drain(pipeline, { groupId: options.groupId }, progress), undefined)
          : yield* ingestWhileConsuming(pipeline, options, progress)
        yield* Fiber.interrupt(printer)
        const summary = yield* progress.snapshot
        if (options.logFormat === "json") yield* say(options, "info", "done", { ...Progress.fields(summary), ...(ingest ? { ingest } : {}) })
        else yield* say(options, "info", `done in ${(summary.elapsedMillis / 1000).toFixed(1)} s · ${Progress.format(summary)}`)
        if (ingest !== undefined && ingest.produced < ingest.requested) {
          const missing = ingest.requested - ingest.produced
          const line = `short ingest — ${accounting(ingest)}: ${missing} fewer than requested`
          if (options.exact) return yield* new Shortfall({ message: `${line} (--exact)`, summary: ingest })
          yield* say(options, "warning", `warning: ${line} (--exact makes this a failure)`, options.logFormat === "json" ? { ingest } : undefined)
        }
        return summary
      }),
      progress,
      options
    )
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
    yield* Effect.forkScoped(printProgress(progress, options))
    const jobs = yield* jobsOf(module, options, progress)
    const services = Control.layerServer({ port: options.controlPort }).pipe(
      Layer.provideMerge(Scheduler.layerConfig({ jobs, pools: { ...IngestJob.pools, ...module.pools } }))
    )
    const consumeJob = Supervisor.supervise(Pipeline.consume(pipeline, { groupId: options.groupId }, progress), {
      name: "process",
      backoff: Schedule.exponential("1 second").pipe(Schedule.either(Schedule.spaced("30 seconds")))
    })
    yield* onStop(
      Effect.gen(function*() {
        const names = jobs.map((j) => j.name).join(", ") || "no scheduled jobs"
        yield* say(
          options,
          "info",
          `scheduler running ${names} (${options.cron}, ${options.zone}); control API http://127.0.0.1:${options.controlPort} — try: pnpm pandaflow dags list`
        )
        return yield* consumeJob
      }).pipe(Effect.provide(services)),
      progress,
      options
    )
  }).pipe(Effect.scoped)
