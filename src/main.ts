/**
 * The composition root behind `pnpm start`: the one place in src/ that imports layers/
 * and chooses them. Every service whose address is configured runs live; the rest fall
 * back to the embedded default, so a fresh clone runs with nothing installed.
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import * as Live from "../layers/Live.js"
import * as Run from "./cli/Run.js"

const records = Options.integer("records").pipe(Options.withDefault(1000), Options.withDescription("users to ingest"))
const seed = Options.text("seed").pipe(Options.withDefault("pandaflow"), Options.withDescription("API seed: the same seed gives the same users"))
const pageSize = Options.integer("page-size").pipe(Options.withDefault(1000), Options.withDescription("users per API request (max 5000)"))
const partitions = Options.integer("partitions").pipe(Options.withDefault(3), Options.withDescription("partitions of new topics"))
const groupId = Options.text("group").pipe(Options.withDefault("pandaflow-process"), Options.withDescription("consumer group of the process job"))
const once = Options.boolean("once").pipe(Options.withDescription("ingest, process everything, print a summary and exit"))
const progressSeconds = Options.integer("progress-seconds").pipe(Options.withDefault(2), Options.withDescription("seconds between progress lines"))

const pandaflow = Command.make(
  "pandaflow",
  { records, seed, pageSize, partitions, groupId, once, progressSeconds },
  (options) =>
    Effect.gen(function*() {
      const mode = yield* Live.Mode
      yield* Console.log(Live.describeMode(mode))
      yield* Run.run(options).pipe(Effect.provide(Live.layersFor(mode)))
    })
).pipe(Command.withDescription("Streams randomuser.me users through Redpanda into Postgres and Cassandra."))

const cli = Command.run(pandaflow, { name: "pandaflow", version: "0.1.0" })

// `pnpm start -- --once` passes the `--` through; @effect/cli would read it as "end of options".
const argv = process.argv.filter((a, i) => !(a === "--" && i === 2))

cli(argv).pipe(
  Effect.tapErrorTag("BrokerError", (e) => Console.error(`pandaflow: broker: ${e.message}`)),
  Effect.tapErrorTag("SinkError", (e) => Console.error(`pandaflow: sink ${e.sink}: ${e.message}`)),
  Effect.tapErrorTag("SourceError", (e) => Console.error(`pandaflow: source: ${e.message}`)),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
