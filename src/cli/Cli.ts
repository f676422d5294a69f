/**
 * The `pandaflow` command line, generic in where its services come from: the
 * composition root (bin/pandaflow.ts) hands it an `Environment` that chooses the Layers,
 * so src/ never imports an implementation.
 *
 *   pandaflow [options]             the reference pipeline (examples/randomuser)
 *   pandaflow run <file> [options]  a pipeline module of yours, same modes and options
 *   pandaflow dags …                control a running pandaflow
 *
 * @since 0.2.0
 */
import { Args, Command, Options } from "@effect/cli"
// Subpath imports and lazy modules keep `pandaflow --help` fast: the `effect` barrel
// alone loads fast-check, and the pipeline machinery is only needed by a run.
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Dags from "./Dags.js"
import type * as Module from "./Module.js"
import type * as Run from "./Run.js"

const loadRun = Effect.promise(() => import("./Run.js"))
const loadModule = Effect.promise(() => import("./Module.js"))

/** Where the CLI's services come from. */
export interface Environment {
  /** The first line a run of `module` prints: which mode runs and how to switch. */
  readonly describe: (module: Module.PipelineModule) => Effect.Effect<string, ConfigError.ConfigError>
  /** Broker, sinks' clients and sources for `--once` (what a loaded module needs is only known at run time). */
  readonly layer: Layer.Layer<never, unknown>
  /** The same plus the scheduler's run store, for the long-running mode. */
  readonly layerWithRunStore: Layer.Layer<never, unknown>
  /** The module `pandaflow` runs when no file is given. */
  readonly reference: Effect.Effect<Module.PipelineModule, Module.ModuleError>
}

const records = Options.integer("records").pipe(Options.withDefault(1000), Options.withDescription("records to ingest a run"))
const seed = Options.text("seed").pipe(Options.withDefault("pandaflow"), Options.withDescription("source seed: the same seed gives the same records"))
const pageSize = Options.integer("page-size").pipe(Options.withDefault(1000), Options.withDescription("records per source request (randomuser: max 5000)"))
const partitions = Options.integer("partitions").pipe(Options.optional, Options.withDescription("partitions of new topics (default: the topic's, 3 unless it says)"))
const groupId = Options.text("group").pipe(Options.optional, Options.withDescription("consumer group of the consume job (default: the pipeline's, `<name>-process`)"))
const once = Options.boolean("once").pipe(Options.withDescription("ingest, consume everything, print a summary and exit"))
const progressSeconds = Options.integer("progress-seconds").pipe(Options.withDefault(2), Options.withDescription("seconds between progress lines"))
const cron = Options.text("cron").pipe(
  Options.withFallbackConfig(Config.string("PANDAFLOW_INGEST_CRON").pipe(Config.withDefault("0 0 * * *"))),
  Options.withDescription("schedule of the ingest job (cron, five fields; default daily at midnight)")
)
const zone = Options.text("zone").pipe(
  Options.withFallbackConfig(Config.string("PANDAFLOW_INGEST_ZONE").pipe(Config.withDefault("UTC"))),
  Options.withDescription("IANA time zone of --cron")
)
const controlPort = Options.integer("control-port").pipe(
  Options.withFallbackConfig(Config.integer("PANDAFLOW_CONTROL_PORT").pipe(Config.withDefault(8787))),
  Options.withDescription("port of the control API on 127.0.0.1 (pandaflow dags …)")
)
const runOptions = { records, seed, pageSize, partitions, groupId, once, progressSeconds, cron, zone, controlPort }
type CliOptions = Omit<Run.ServeOptions, "groupId" | "partitions"> & {
  readonly once: boolean
  readonly groupId: Option.Option<string>
  readonly partitions: Option.Option<number>
}

const runModule = (env: Environment, module: Module.PipelineModule, cliOptions: CliOptions) =>
  Effect.gen(function*() {
    yield* Console.log(yield* env.describe(module))
    const options = {
      ...cliOptions,
      groupId: Option.getOrElse(cliOptions.groupId, () => module.pipeline.group),
      partitions: Option.getOrUndefined(cliOptions.partitions)
    }
    const own = module.layer
    const withOwn = (base: Layer.Layer<never, unknown>): Layer.Layer<never, unknown> =>
      own === undefined ? base : Layer.provideMerge(own as unknown as Layer.Layer<never, unknown>, base)
    // A module is loaded at run time: the services it needs are checked when they are
    // asked for, not by the compiler (an unprovided one is a defect naming the service).
    const provided = <A, E>(effect: Effect.Effect<A, E, unknown>, layer: Layer.Layer<never, unknown>) =>
      Effect.provide(effect as Effect.Effect<A, E>, layer)
    const Run = yield* loadRun
    if (options.once) yield* provided(Run.once(module, options), withOwn(env.layer))
    else yield* provided(Run.serve(module, options), withOwn(env.layerWithRunStore))
  })

/** The command tree for an environment. */
export const make = (env: Environment) => {
  const run = Command.make("run", { file: Args.text({ name: "file" }).pipe(Args.withDescription("a module exporting a pipeline")), ...runOptions }, ({ file, ...options }) =>
    Effect.flatMap(Effect.flatMap(loadModule, (Module) => Module.load(file)), (module) => runModule(env, module, options))).pipe(
      Command.withDescription("run your own pipeline module with the same modes, scheduler and control API")
    )
  return Command.make("pandaflow", runOptions, (options) => Effect.flatMap(env.reference, (module) => runModule(env, module, options))).pipe(
    Command.withDescription(
      "Typed streaming pipelines on Redpanda. Without a subcommand it runs the reference pipeline (randomuser.me users into Postgres and Cassandra); `run <file>` runs yours. --once ingests, consumes everything and exits; otherwise the ingest runs on --cron and the consume job stays on."
    ),
    Command.withSubcommands([run, Dags.command])
  )
}

/** The one line a known failure deserves; anything else keeps Effect's full report. */
export const explain = (e: unknown): string | undefined => {
  if (typeof e !== "object" || e === null || !("_tag" in e) || typeof e._tag !== "string") return undefined
  const message = "message" in e ? String(e.message) : ""
  switch (e._tag) {
    case "BrokerError":
    case "SourceError":
    case "EmbeddedStartError":
    case "PoisonRecordError":
    case "InvalidJob":
    case "TableSchemaError":
    case "InvalidTopic":
    case "PostgresClientError":
    case "CassandraClientError":
    case "InvalidPipeline":
    case "TableMismatch":
      return `pandaflow: ${e._tag}: ${message}`
    case "ModuleError":
      return `pandaflow run: ${"file" in e ? String(e.file) : ""} ${message}`
    case "SinkError":
      return `pandaflow: SinkError (${"sink" in e ? String(e.sink) : "sink"}): ${message}`
    case "ControlError":
      return "" // `pandaflow dags` already said what went wrong
    // @effect/cli's validation errors: it already printed what was wrong with the arguments.
    case "CommandMismatch":
    case "CorrectedFlag":
    case "InvalidArgument":
    case "InvalidValue":
    case "MissingFlag":
    case "MissingValue":
    case "MissingSubcommand":
    case "MultipleValuesDetected":
    case "NoBuiltInMatch":
    case "UnclusteredFlag":
      return ""
    default:
      return undefined
  }
}

/** Runs the CLI on `argv` (as `process.argv`); a known failure prints one line and sets exit code 1. */
export const run = (env: Environment, argv: ReadonlyArray<string>) => {
  const cli = Command.run(make(env), { name: "pandaflow", version: "0.2.0" })
  // `pnpm start -- --once` passes the `--` through; @effect/cli would read it as "end of options".
  const args = argv.filter((a, i) => !(a === "--" && i === 2))
  return cli(args).pipe(
    Effect.catchAll((e) => {
      const line = explain(e)
      if (line === undefined) return Effect.fail(e)
      return Effect.zipRight(line ? Console.error(line) : Effect.void, Effect.sync(() => { process.exitCode = 1 }))
    })
  )
}
