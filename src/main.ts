/**
 * The composition root behind `pnpm start`: the one place in src/ that imports layers/
 * and chooses them. Every service whose address is configured runs live; the rest fall
 * back to the embedded default, so a fresh clone runs with nothing installed.
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import type { SqlClient } from "@effect/sql/SqlClient"
import { Config, type ConfigError, Console, Data, Effect, Layer, Option, Redacted } from "effect"
import * as CassandraClient from "../layers/CassandraClient.js"
import * as CassandraSink from "../layers/CassandraSink.js"
import * as EmbeddedPostgres from "../layers/EmbeddedPostgres.js"
import * as KafkaBroker from "../layers/KafkaBroker.js"
import * as MemoryBroker from "../layers/MemoryBroker.js"
import * as PostgresSink from "../layers/PostgresSink.js"
import * as RandomUserEmulator from "../layers/RandomUserEmulator.js"
import * as RandomUserSource from "../layers/RandomUserSource.js"
import * as Run from "./cli/Run.js"
import * as Sink from "./Sink.js"
import type { SinkError } from "./Sink.js"

/** The embedded Postgres could not start. */
class EmbeddedStartError extends Data.TaggedError("EmbeddedStartError")<{ readonly message: string }> {}

/** Which service runs where, read from the environment (see README, "Environment"). */
const Mode = Config.all({
  brokers: Config.option(Config.array(Config.nonEmptyString(), "PANDAFLOW_BROKERS")),
  pgUrl: Config.option(Config.redacted("PANDAFLOW_PG_URL")),
  cassandra: Config.option(Config.string("PANDAFLOW_CASSANDRA_CONTACT_POINTS")),
  apiUrl: Config.option(Config.string("PANDAFLOW_API_URL"))
})
type Mode = Config.Config.Success<typeof Mode>

const describeMode = (m: Mode): string => {
  const embedded = Option.isNone(m.brokers) && Option.isNone(m.pgUrl)
  const parts = [
    `broker ${Option.match(m.brokers, { onNone: () => "in-memory", onSome: (b) => `Kafka API at ${b.join(",")}` })}`,
    `postgres ${Option.match(m.pgUrl, { onNone: () => "embedded (PGlite)", onSome: (u) => redactUrl(Redacted.value(u)) })}`,
    `cassandra ${Option.getOrElse(m.cassandra, () => "off")}`,
    `source ${Option.getOrElse(m.apiUrl, () => "built-in randomuser emulator")}`
  ]
  return embedded
    ? `pandaflow: embedded mode — ${parts.join(", ")}. For real services: pnpm services:up && source .pandaflow/env`
    : `pandaflow: services mode — ${parts.join(", ")}`
}

const redactUrl = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]+@/, "//$1:***@")

/** The Layers for a mode: live where configured, embedded where not. */
const layersFor = (m: Mode) => {
  const broker = Option.match(m.brokers, {
    onNone: () => MemoryBroker.layer(),
    onSome: (brokers) => KafkaBroker.layer({ brokers })
  })
  const source = Option.match(m.apiUrl, {
    onSome: (baseUrl) => RandomUserSource.layerNode({ baseUrl }),
    onNone: () =>
      Layer.unwrapEffect(Effect.map(RandomUserEmulator.RandomUserEmulator, ({ url }) => RandomUserSource.layerNode({ baseUrl: url })))
        .pipe(Layer.provide(RandomUserEmulator.layer()))
  })
  const pgClient: Layer.Layer<SqlClient, EmbeddedStartError | SinkError | ConfigError.ConfigError> = Option.isNone(m.pgUrl)
    ? Layer.mapError(EmbeddedPostgres.layerWithClient(), (e) => new EmbeddedStartError({ message: `embedded Postgres: ${e.message}` }))
    : PostgresSink.layerClient
  // One layer for all sinks, so each client lives exactly as long as the sinks using it.
  const sinks = Option.isNone(m.cassandra)
    ? Sink.layer(PostgresSink.make()).pipe(Layer.provide(pgClient))
    : Sink.layer(PostgresSink.make(), CassandraSink.make()).pipe(
      Layer.provide(Layer.merge(pgClient, CassandraClient.layerConfig))
    )
  return Layer.mergeAll(broker, source, sinks)
}

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
      const mode = yield* Mode
      yield* Console.log(describeMode(mode))
      yield* Run.run(options).pipe(Effect.provide(layersFor(mode)))
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
