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
import * as Argv from "./Argv.js"
import * as Dags from "./Dags.js"
import type * as Module from "./Module.js"
import type * as Run from "./Run.js"
import type { RunStore } from "../scheduler/RunStore.js"

const loadRun = Effect.promise(() => import("./Run.js"))
const loadModule = Effect.promise(() => import("./Module.js"))

/** Where the CLI's services come from. */
export interface Environment {
  /** The first line a run of `module` prints: which mode runs and how to switch. */
  readonly describe: (
    module: Module.PipelineModule
  ) => Effect.Effect<string, ConfigError.ConfigError | { readonly _tag: "InvalidSetting"; readonly message: string }>
  /** Broker, sinks' clients and sources for `--once` (what a loaded module needs is only known at run time). */
  readonly layer: Layer.Layer<never, unknown>
  /** The same plus the scheduler's run store, for the long-running mode. */
  readonly layerWithRunStore: Layer.Layer<never, unknown>
  /** The module `pandaflow` runs when no file is given. */
  readonly reference: Effect.Effect<Module.PipelineModule, Module.ModuleError>
  /**
   * The run store `pandaflow dags list/runs/run` read directly when no pandaflow answers
   * (as Airflow's CLI reads its metadata database); none when no store is configured.
   */
  readonly runStore?: Effect.Effect<Option.Option<Layer.Layer<RunStore, unknown>>> | undefined
}

const o = (name: string) => Argv.describe(Argv.spec(Argv.runOptions, name))
const records = Options.integer("records").pipe(Options.withDefault(1000), Options.withDescription(o("records")))
const seed = Options.text("seed").pipe(Options.withDefault("pandaflow"), Options.withDescription(o("seed")))
const pageSize = Options.integer("page-size").pipe(Options.withDefault(1000), Options.withDescription(o("page-size")))
const partitions = Options.integer("partitions").pipe(Options.optional, Options.withDescription(o("partitions")))
const groupId = Options.text("group").pipe(Options.optional, Options.withDescription(o("group")))
const once = Options.boolean("once").pipe(Options.withDescription(o("once")))
const exact = Options.boolean("exact").pipe(Options.withDescription(o("exact")))
const quiet = Options.boolean("quiet").pipe(Options.withDescription(o("quiet")))
const logFormat = Options.choice("log-format", ["text", "json"]).pipe(
  Options.withFallbackConfig(Config.literal("text", "json")("PANDAFLOW_LOG_FORMAT").pipe(Config.withDefault("text" as const))),
  Options.withDescription(o("log-format"))
)
const progressSeconds = Options.integer("progress-seconds").pipe(Options.withDefault(2), Options.withDescription(o("progress-seconds")))
const cron = Options.text("cron").pipe(
  Options.withFallbackConfig(Config.string("PANDAFLOW_INGEST_CRON").pipe(Config.withDefault("0 0 * * *"))),
  Options.withDescription(o("cron"))
)
const zone = Options.text("zone").pipe(
  Options.withFallbackConfig(Config.string("PANDAFLOW_INGEST_ZONE").pipe(Config.withDefault("UTC"))),
  Options.withDescription(o("zone"))
)
const controlPort = Options.integer("control-port").pipe(
  Options.withFallbackConfig(Config.integer("PANDAFLOW_CONTROL_PORT").pipe(Config.withDefault(8787))),
  Options.withDescription(o("control-port"))
)
const runOptions = { records, seed, pageSize, partitions, groupId, once, exact, progressSeconds, quiet, logFormat, cron, zone, controlPort }
type CliOptions = Omit<Run.ServeOptions, "groupId" | "partitions"> & {
  readonly once: boolean
  readonly groupId: Option.Option<string>
  readonly partitions: Option.Option<number>
}

const runModule = (env: Environment, module: Module.PipelineModule, cliOptions: CliOptions) =>
  Effect.gen(function*() {
    const Run = yield* loadRun
    const modeLine = yield* env.describe(module)
    if (!cliOptions.quiet) yield* Run.say(cliOptions, "info", modeLine.replace(/^pandaflow: /, ""))
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
    const logged = Run.withLogging(options)
    if (options.once) yield* logged(provided(Run.once(module, options), withOwn(env.layer)))
    else yield* logged(provided(Run.serve(module, options), withOwn(env.layerWithRunStore)))
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
    Command.withSubcommands([run, Dags.make(env.runStore)])
  )
}

/** The one line a known failure deserves; anything else keeps Effect's full report. */
export const explain = (e: unknown): string | undefined => {
  if (isConfigError(e)) {
    // A setting read through Config (PANDAFLOW_*): its first problem, on one line.
    const leaf = configLeaf(e)
    return leaf === undefined ? undefined : `pandaflow: ${leaf}`
  }
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
    case "InvalidSetting":
    case "ServiceError":
    case "UsageError":
    case "Shortfall":
      return message.startsWith("pandaflow") ? message : `pandaflow: ${message}`
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

const configOps = ["And", "Or", "InvalidData", "MissingData", "SourceUnavailable", "Unsupported"]
const isConfigError = (e: unknown): e is object =>
  typeof e === "object" && e !== null && "_op" in e && typeof e._op === "string" && configOps.includes(e._op) && (!("_tag" in e) || e._tag === "ConfigError")
const configLeaf = (e: object): string | undefined => {
  if ("left" in e && typeof e.left === "object" && e.left !== null) return configLeaf(e.left)
  return "message" in e && typeof e.message === "string" ? e.message.split("\n")[0] : undefined
}

/** The exit code of a known failure: 2 for a mistake in the options or settings (usage), 1 otherwise. */
export const exitCode = (e: unknown): number =>
  typeof e === "object" && e !== null && "_tag" in e && (e._tag === "InvalidSetting" || e._tag === "UsageError" || 
      e._tag === "InvalidValue" || e._tag === "MissingValue" || e._tag === "CommandMismatch" || e._tag === "MissingFlag")
    ? 2
    : isConfigError(e) ? 2 : 1

const ansi = /\x1b\[[0-9;]*m/g

/** Whether a stream gets colour: a terminal, and no `NO_COLOR` (https://no-color.org). */
export const colour = (stream: { readonly isTTY?: boolean | undefined }, env: Readonly<Record<string, string | undefined>>): boolean =>
  stream.isTTY === true && (env["NO_COLOR"] === undefined || env["NO_COLOR"] === "")

/**
 * The console @effect/cli and the commands print through: ANSI codes dropped where there
 * is no colour (@effect/cli renders help with @effect/printer-ansi and has no switch for
 * it), and a subcommand's usage line named in full (`$ pandaflow dags runs`, not `$ runs`).
 */
export const plainConsole = (
  base: Console.Console,
  options: { readonly colourOut: boolean; readonly colourErr: boolean; readonly path: ReadonlyArray<string> }
): Console.Console => {
  const leaf = options.path.at(-1)
  const usage = leaf === undefined ? undefined : new RegExp(`^((?:\x1b\\[[0-9;]*m)*)\\$ ${leaf.replace(/[-]/g, "\\-")}\\b`, "gm")
  const fix = (colourOn: boolean) => (arg: unknown) => {
    if (typeof arg !== "string") return arg
    const named = usage === undefined ? arg : arg.replace(usage, `$1$ pandaflow ${options.path.join(" ")}`)
    return colourOn ? named : named.replace(ansi, "")
  }
  const out = fix(options.colourOut)
  const err = fix(options.colourErr)
  return {
    ...base,
    log: (...args) => base.log(...args.map(out)),
    info: (...args) => base.info(...args.map(out)),
    error: (...args) => base.error(...args.map(err)),
    warn: (...args) => base.warn(...args.map(err))
  }
}

/**
 * Runs the CLI on `argv` (as `process.argv`). The arguments and the settings the options
 * fall back to are checked first; a known failure prints one line and sets the exit code
 * (2 for a usage mistake or a bad setting, 1 otherwise).
 */
export const run = (env: Environment, argv: ReadonlyArray<string>) => {
  const cli = Command.run(make(env), { name: "pandaflow", version: "0.2.0" })
  // `pnpm start -- --once` passes the `--` through; @effect/cli would read it as "end of options".
  const args = argv.filter((a, i) => !(a === "--" && i === 2))
  const checked = Argv.check(args.slice(2))
  const path = checked._tag === "Right" ? checked.right.path : []
  const body = Effect.gen(function*() {
    if (checked._tag === "Left") return yield* checked.left
    if (!checked.right.help) {
      const problem = Argv.checkEnv(process.env, path[0] === "dags" ? [] : Argv.runOptions)
      if (problem !== undefined) return yield* new Argv.UsageError({ message: problem })
    }
    return yield* cli(args)
  })
  return body.pipe(
    Effect.catchAll((e) => {
      const line = explain(e)
      if (line === undefined) return Effect.fail(e)
      return Effect.zipRight(line ? Console.error(line) : Effect.void, Effect.sync(() => { process.exitCode = exitCode(e) }))
    }),
    (effect) =>
      Console.consoleWith((base) =>
        Effect.withConsole(
          effect,
          plainConsole(base, { colourOut: colour(process.stdout, process.env), colourErr: colour(process.stderr, process.env), path })
        )
      )
  )
}
