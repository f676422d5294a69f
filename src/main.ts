/**
 * The composition root behind `pnpm start`: the one place in src/ that imports layers/
 * and chooses them. Every service whose address is configured runs live; the rest fall
 * back to the embedded default, so a fresh clone runs with nothing installed.
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect } from "effect"
import * as Live from "../layers/Live.js"
import * as Dags from "./cli/Dags.js"
import * as Run from "./cli/Run.js"

const records = Options.integer("records").pipe(Options.withDefault(1000), Options.withDescription("users to ingest"))
const seed = Options.text("seed").pipe(Options.withDefault("pandaflow"), Options.withDescription("API seed: the same seed gives the same users"))
const pageSize = Options.integer("page-size").pipe(Options.withDefault(1000), Options.withDescription("users per API request (max 5000)"))
const partitions = Options.integer("partitions").pipe(Options.withDefault(3), Options.withDescription("partitions of new topics"))
const groupId = Options.text("group").pipe(Options.withDefault("pandaflow-process"), Options.withDescription("consumer group of the process job"))
const once = Options.boolean("once").pipe(Options.withDescription("ingest, process everything, print a summary and exit"))
const progressSeconds = Options.integer("progress-seconds").pipe(Options.withDefault(2), Options.withDescription("seconds between progress lines"))
const cron = Options.text("cron").pipe(
  Options.withFallbackConfig(Config.string("PANDAFLOW_INGEST_CRON").pipe(Config.withDefault("0 0 * * *"))),
  Options.withDescription("schedule of user_automation (cron, five fields; default daily at midnight)")
)
const zone = Options.text("zone").pipe(
  Options.withFallbackConfig(Config.string("PANDAFLOW_INGEST_ZONE").pipe(Config.withDefault("UTC"))),
  Options.withDescription("IANA time zone of --cron")
)
const controlPort = Options.integer("control-port").pipe(
  Options.withFallbackConfig(Config.integer("PANDAFLOW_CONTROL_PORT").pipe(Config.withDefault(8787))),
  Options.withDescription("port of the control API on 127.0.0.1 (pandaflow dags …)")
)

const pandaflow = Command.make(
  "pandaflow",
  { records, seed, pageSize, partitions, groupId, once, progressSeconds, cron, zone, controlPort },
  (options) =>
    Effect.gen(function*() {
      const mode = yield* Live.Mode
      yield* Console.log(Live.describeMode(mode))
      if (options.once) yield* Run.run(options).pipe(Effect.provide(Live.layersFor(mode)))
      else yield* Run.serve(options).pipe(Effect.provide(Live.serviceLayersFor(mode)))
    })
).pipe(
  Command.withDescription(
    "Streams randomuser.me users through Redpanda into Postgres and Cassandra: user_automation on its schedule, the process job always on."
  ),
  Command.withSubcommands([Dags.command])
)

const cli = Command.run(pandaflow, { name: "pandaflow", version: "0.1.0" })

// `pnpm start -- --once` passes the `--` through; @effect/cli would read it as "end of options".
const argv = process.argv.filter((a, i) => !(a === "--" && i === 2))

/** The one line a known failure deserves; anything else keeps Effect's full report. */
const explain = (e: { readonly _tag: string }): string | undefined => {
  switch (e._tag) {
    case "BrokerError":
    case "SourceError":
    case "EmbeddedStartError":
    case "PoisonRecordError":
    case "InvalidJob":
      return `pandaflow: ${e._tag}: ${"message" in e ? String(e.message) : ""}`
    case "SinkError":
      return `pandaflow: SinkError (${"sink" in e ? String(e.sink) : "sink"}): ${"message" in e ? String(e.message) : ""}`
    case "ControlError":
      return "" // `pandaflow dags` already said what went wrong
    default:
      return undefined
  }
}

cli(argv).pipe(
  Effect.catchIf(
    (e): e is Extract<typeof e, { readonly _tag: string }> =>
      typeof e === "object" && e !== null && "_tag" in e && explain(e as { _tag: string }) !== undefined,
    (e) =>
      Effect.gen(function*() {
        const line = explain(e)
        if (line) yield* Console.error(line)
        process.exitCode = 1
      })
  ),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
