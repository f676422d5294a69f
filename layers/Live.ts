/**
 * The live-or-embedded assembly of pandaflow's services, chosen from the environment:
 * every service whose address is configured runs live; the rest fall back to the
 * embedded default. `src/main.ts` (`pnpm start`) and the reliability worker use the same
 * wiring, so a crash test exercises exactly what users run.
 *
 * @since 0.1.0
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import { Config, type ConfigError, Data, Effect, Layer, Option, Redacted } from "effect"
import * as Sink from "../src/Sink.js"
import type { SinkError } from "../src/Sink.js"
import * as CassandraClient from "./CassandraClient.js"
import * as CassandraSink from "./CassandraSink.js"
import * as EmbeddedPostgres from "./EmbeddedPostgres.js"
import * as KafkaBroker from "./KafkaBroker.js"
import * as MemoryBroker from "./MemoryBroker.js"
import * as PostgresRunStore from "./PostgresRunStore.js"
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

/** The first line `pnpm start` prints: which mode runs and how to switch. */
export const describeMode = (m: Mode): string => {
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

/** Where the sinks write and how the live broker is tuned; every field has a default. */
export interface LiveOptions {
  /** Postgres table (default `users`). */
  readonly postgresTable?: string | undefined
  /** Cassandra keyspace (default: `PANDAFLOW_CASSANDRA_KEYSPACE`, `spark_streams`). */
  readonly cassandraKeyspace?: string | undefined
  /** Cassandra table (default `created_users`). */
  readonly cassandraTable?: string | undefined
  /** Overrides of the live broker's options (session timeout, fetch size, …). */
  readonly broker?: Partial<KafkaBroker.KafkaBrokerOptions> | undefined
}

/** The broker: Kafka API when `PANDAFLOW_BROKERS` is set, the in-memory double otherwise. */
export const brokerLayer = (m: Mode, options: LiveOptions = {}) =>
  Option.match(m.brokers, {
    onNone: () => MemoryBroker.layer(),
    onSome: (brokers) => KafkaBroker.layer({ ...options.broker, brokers })
  })

/** The user source: the configured API, or the built-in emulator served over HTTP. */
export const sourceLayer = (m: Mode) =>
  Option.match(m.apiUrl, {
    onSome: (baseUrl) => RandomUserSource.layerNode({ baseUrl }),
    onNone: () =>
      Layer.unwrapEffect(Effect.map(RandomUserEmulator.RandomUserEmulator, ({ url }) => RandomUserSource.layerNode({ baseUrl: url })))
        .pipe(Layer.provide(RandomUserEmulator.layer()))
  })

/** Postgres (live or embedded) and, when configured, Cassandra, as one `UserSinks`. */
export const sinksLayer = (m: Mode, options: LiveOptions = {}) => {
  const pgClient: Layer.Layer<SqlClient, EmbeddedStartError | SinkError | ConfigError.ConfigError> = Option.isNone(m.pgUrl)
    ? Layer.mapError(EmbeddedPostgres.layerWithClient(), (e) => new EmbeddedStartError({ message: `embedded Postgres: ${e.message}` }))
    : PostgresSink.layerClient
  const postgres = PostgresSink.make({ table: options.postgresTable })
  // One layer for all sinks, so each client lives exactly as long as the sinks using it.
  // The Postgres client stays visible: the scheduler's run store shares it.
  return Option.isNone(m.cassandra)
    ? Sink.layer(postgres).pipe(Layer.provideMerge(pgClient))
    : Sink.layer(postgres, CassandraSink.make({ keyspace: options.cassandraKeyspace, table: options.cassandraTable })).pipe(
      Layer.provideMerge(Layer.merge(pgClient, CassandraClient.layerConfig))
    )
}

/** Every service the reference pipeline needs, for a mode. */
export const layersFor = (m: Mode, options: LiveOptions = {}) =>
  Layer.mergeAll(brokerLayer(m, options), sourceLayer(m), sinksLayer(m, options))

/**
 * The pipeline's services plus the scheduler's run store, kept in the same Postgres
 * (live or embedded) under its own schema: what the long-running mode needs.
 */
export const serviceLayersFor = (m: Mode, options: LiveOptions = {}) =>
  Layer.provideMerge(PostgresRunStore.layer(), layersFor(m, options))
