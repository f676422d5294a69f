/**
 * The live-or-embedded assembly of pandaflow's services, chosen from the environment:
 * every service whose address is configured runs live; the rest fall back to the
 * embedded default. The CLI (`pnpm start`, `pandaflow run`) and the reliability worker
 * use the same wiring, so a crash test exercises exactly what users run.
 *
 * @since 0.1.0
 */
import { Config, Data, Effect, Layer, Option, Redacted } from "effect"
import * as CassandraClient from "./CassandraClient.js"
import * as EmbeddedPostgres from "./EmbeddedPostgres.js"
import * as KafkaBroker from "./KafkaBroker.js"
import * as MemoryBroker from "./MemoryBroker.js"
import * as PostgresRunStore from "./PostgresRunStore.js"
import * as PostgresClient from "./PostgresClient.js"
import * as PostgresSink from "./PostgresSink.js"
import * as RandomUserEmulator from "./RandomUserEmulator.js"
import * as RandomUserSource from "./RandomUserSource.js"

/** The embedded Postgres could not start. */
export class EmbeddedStartError extends Data.TaggedError("EmbeddedStartError")<{ readonly message: string }> {}

/** Which service runs where, read from the environment (see README, "Environment"). */
export const Mode = Config.all({
  brokers: Config.option(Config.array(Config.nonEmptyString(), "PANDAFLOW_BROKERS")),
  pgUrl: Config.option(Config.redacted("PANDAFLOW_PG_URL")),
  cassandra: Config.option(Config.string("PANDAFLOW_CASSANDRA_CONTACT_POINTS")),
  apiUrl: Config.option(Config.string("PANDAFLOW_API_URL"))
})
/** @since 0.1.0 */
export type Mode = Config.Config.Success<typeof Mode>

const redactUrl = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]+@/, "//$1:***@")

/**
 * The first line the CLI prints: which mode runs and how to switch. `source` names the
 * pipeline's source (`randomuser` gets the API's address; none: its topic is fed by others).
 */
export const describeMode = (m: Mode, source: string | undefined = "randomuser"): string => {
  const embedded = Option.isNone(m.brokers) && Option.isNone(m.pgUrl)
  const parts = [
    `broker ${Option.match(m.brokers, { onNone: () => "in-memory", onSome: (b) => `Kafka API at ${b.join(",")}` })}`,
    `postgres ${Option.match(m.pgUrl, { onNone: () => "embedded (PGlite)", onSome: (u) => redactUrl(Redacted.value(u)) })}`,
    `cassandra ${Option.getOrElse(m.cassandra, () => "off")}`,
    source === undefined
      ? "no source (the topic is fed by others)"
      : source === "randomuser"
      ? `source ${Option.getOrElse(m.apiUrl, () => "built-in randomuser emulator")}`
      : `source ${source}`
  ]
  return embedded
    ? `pandaflow: embedded mode — ${parts.join(", ")}. For real services set PANDAFLOW_BROKERS, PANDAFLOW_PG_URL, PANDAFLOW_CASSANDRA_CONTACT_POINTS (in a clone of pandaflow: pnpm services:up && source .pandaflow/env)`
    : `pandaflow: services mode — ${parts.join(", ")}`
}

/** How the live broker is tuned; every field has a default. */
export interface LiveOptions {
  /** Overrides of the live broker's options (session timeout, fetch size, …). */
  readonly broker?: Partial<KafkaBroker.KafkaBrokerOptions> | undefined
}

/** The broker: Kafka API when `PANDAFLOW_BROKERS` is set, the in-memory double otherwise. */
export const brokerLayer = (m: Mode, options: LiveOptions = {}) =>
  Option.match(m.brokers, {
    onNone: () => MemoryBroker.layer(),
    onSome: (brokers) => KafkaBroker.layer({ ...options.broker, brokers })
  })

/** The randomuser source: the configured API, or the built-in emulator served over HTTP. */
export const sourceLayer = (m: Mode) =>
  Option.match(m.apiUrl, {
    onSome: (baseUrl) => RandomUserSource.layerNode({ baseUrl }),
    onNone: () =>
      Layer.unwrapEffect(Effect.map(RandomUserEmulator.RandomUserEmulator, ({ url }) => RandomUserSource.layerNode({ baseUrl: url })))
        .pipe(Layer.provide(RandomUserEmulator.layer()))
  })

/** Postgres: the configured server, or an embedded PGlite. */
export const postgresLayer = (m: Mode) =>
  Option.isNone(m.pgUrl)
    ? Layer.mapError(EmbeddedPostgres.layerWithClient(), (e) => new EmbeddedStartError({ message: `embedded Postgres: ${e.message}` }))
    : PostgresClient.layerConfig

/** Cassandra: the configured cluster, or off (Cassandra sinks say so at start-up). */
export const cassandraLayer = (m: Mode) =>
  Option.isNone(m.cassandra)
    ? CassandraClient.layerOff("PANDAFLOW_CASSANDRA_CONTACT_POINTS is not set")
    : CassandraClient.layerConfig

/** Every service a pipeline's jobs may need, for a mode: broker, Postgres, Cassandra, the randomuser source. */
export const layer = (m: Mode, options: LiveOptions = {}) =>
  Layer.mergeAll(brokerLayer(m, options), sourceLayer(m), postgresLayer(m), cassandraLayer(m))

/**
 * The services plus the scheduler's run store, kept in the same Postgres (live or
 * embedded) under its own schema: what the long-running mode needs.
 */
export const layerWithRunStore = (m: Mode, options: LiveOptions = {}) => Layer.provideMerge(PostgresRunStore.layer(), layer(m, options))
