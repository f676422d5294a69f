/**
 * The live-or-embedded assembly of pandaflow's services, chosen from the environment:
 * every service whose address is configured runs live; the rest fall back to the
 * embedded default. The CLI (`pnpm start`, `pandaflow run`) and the reliability worker
 * use the same wiring, so a crash test exercises exactly what users run.
 *
 * Every setting is read and checked first (`load`, see ./Settings.ts), before anything
 * connects; a service that cannot be reached at start-up fails with one `ServiceError`
 * naming it, its address (no secret) and the variable that set it.
 *
 * @since 0.1.0
 */
import { Data, Effect, Layer, Logger, Option, Redacted } from "effect"
import * as CassandraClient from "./CassandraClient.js"
import * as EmbeddedPostgres from "./EmbeddedPostgres.js"
import * as KafkaBroker from "./KafkaBroker.js"
import * as MemoryBroker from "./MemoryBroker.js"
import * as PostgresClient from "./PostgresClient.js"
import * as PostgresRunStore from "./PostgresRunStore.js"
import * as RandomUserEmulator from "./RandomUserEmulator.js"
import * as RandomUserSource from "./RandomUserSource.js"
import * as Settings from "./Settings.js"

export { InvalidSetting } from "./Settings.js"

/** The embedded Postgres could not start. */
export class EmbeddedStartError extends Data.TaggedError("EmbeddedStartError")<{ readonly message: string }> {}

/**
 * A configured service could not be used at start-up: nothing answered at its address
 * (`Unreachable`), or it answered and refused us (`Rejected`: bad credentials, no such
 * database). `message` is one line, e.g. `postgres at 127.0.0.1:1/pandaflow
 * (PANDAFLOW_PG_URL) is unreachable: connect ECONNREFUSED 127.0.0.1:1`.
 */
export class ServiceError extends Data.TaggedError("ServiceError")<{
  readonly service: "kafka broker" | "postgres" | "cassandra"
  /** Where it was looked for, without user or password. */
  readonly address: string
  /** The variable that set the address. */
  readonly variable: string
  readonly reason: "Unreachable" | "Rejected"
  readonly detail: string
}> {
  override get message(): string {
    const what = this.reason === "Unreachable" ? "is unreachable" : "refused the connection"
    return `${this.service} at ${this.address} (${this.variable}) ${what}: ${this.detail}`
  }
}

/**
 * Every setting, read and checked (see ./Settings.ts): as a `Config`, a bad value fails as
 * a `ConfigError` with the `InvalidSetting` line; `load` is the same with the typed error.
 */
export const Mode = Settings.config
/** @since 0.1.0 */
export type Mode = Settings.Settings

/**
 * Reads and checks every setting, the randomuser source's own checks included; the first
 * bad one fails as `InvalidSetting`. Nothing connects.
 */
export const load: Effect.Effect<Mode, Settings.InvalidSetting> = Effect.zipLeft(
  Settings.load,
  Effect.mapError(RandomUserSource.config, (e) => Settings.fromConfigError(e, "PANDAFLOW_API_TIMEOUT=30 seconds"))
)

/** A URL with its password and secret-like query parameters replaced by `***`. */
export const redactUrl = Settings.redactUrl

/**
 * The first line the CLI prints: which mode runs and how to switch. `source` names the
 * pipeline's source (`randomuser` gets the API's address; none: its topic is fed by others).
 */
export const describeMode = (m: Mode, source: string | undefined = "randomuser"): string => {
  const embedded = Option.isNone(m.brokers) && Option.isNone(m.postgres)
  const parts = [
    `broker ${Option.match(m.brokers, { onNone: () => "in-memory", onSome: (b) => `Kafka API at ${b.join(",")}` })}`,
    `postgres ${Option.match(m.postgres, { onNone: () => "embedded (PGlite)", onSome: (p) => p.shown })}`,
    `cassandra ${Option.match(m.cassandra, { onNone: () => "off", onSome: (c) => c.contactPoints.join(",") })}`,
    source === undefined
      ? "no source (the topic is fed by others)"
      : source === "randomuser"
      ? `source ${Option.match(m.apiUrl, { onNone: () => "built-in randomuser emulator", onSome: redactUrl })}`
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

/** Replaces every occurrence of the secrets in `text` by `***` (raw and URL-decoded forms). */
const scrub = (text: string, secrets: ReadonlyArray<string | undefined>): string => {
  let out = text
  for (const secret of secrets) {
    if (secret === undefined || secret.length < 2) continue
    for (const form of new Set([secret, safeDecode(secret), encodeURIComponent(secret)])) out = out.split(form).join("***")
  }
  return out
}
const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** The secrets of a Postgres URL: its password and its secret-like query parameters. */
const pgSecrets = (p: Settings.Postgres): ReadonlyArray<string> => {
  const url = new URL(Redacted.value(p.url))
  const out = [url.password]
  for (const [k, v] of url.searchParams) if (/pass|secret|token|key|credential|auth/i.test(k)) out.push(v)
  return out.filter((s) => s !== "")
}

const kafkaLogLevel = (m: Mode): KafkaBroker.KafkaBrokerOptions["logLevel"] =>
  m.logLevel._tag === "All" || m.logLevel._tag === "Trace" ? "debug" : m.logLevel._tag === "Debug" ? "info" : "warn"

/**
 * The embedded broker's tuning: a partition drops what the consume job committed, and a
 * produce waits while the topic holds this many records, so the embedded mode's memory
 * stays flat however many records a run ingests (at 50,000 records, keeping them all was
 * ~134 MiB live) and a source faster than the sink waits instead of filling the heap.
 * 2,000 still keeps the consume job's three concurrent batches of 500 supplied.
 */
export const embeddedBroker: MemoryBroker.MemoryBrokerOptions = { retention: "committed", maxRetainedRecords: 2000 }

/** The broker: Kafka API when `PANDAFLOW_BROKERS` is set, the in-memory double otherwise (see `embeddedBroker`). */
export const brokerLayer = (m: Mode, options: LiveOptions = {}) =>
  Option.match(m.brokers, {
    onNone: () => MemoryBroker.layer(embeddedBroker),
    onSome: (brokers) =>
      KafkaBroker.layer({
        clientId: m.kafkaClientId,
        connectTimeout: m.kafkaConnectTimeout,
        logLevel: kafkaLogLevel(m),
        ...options.broker,
        brokers
      }).pipe(
        Layer.catchAll((e) =>
          Layer.fail(
            e.reason === "Unavailable"
              ? new ServiceError({
                service: "kafka broker",
                address: brokers.join(","),
                variable: "PANDAFLOW_BROKERS",
                reason: "Unreachable",
                detail: KafkaBroker.rootMessage(e.cause ?? e.message)
              })
              : e
          )
        )
      )
  })

/**
 * The randomuser source with its own config (`PANDAFLOW_API_URL`, `PANDAFLOW_API_TIMEOUT`):
 * the configured API, or the built-in emulator served over HTTP (with the timeout).
 */
export const sourceLayer = (m: Mode) =>
  Option.match(m.apiUrl, {
    onSome: () => RandomUserSource.layerConfigNode,
    onNone: () =>
      Layer.unwrapEffect(
        Effect.zipWith(RandomUserEmulator.RandomUserEmulator, RandomUserSource.config, ({ url }, config) =>
          RandomUserSource.layerNode({ ...config, baseUrl: url }))
      ).pipe(Layer.provide(RandomUserEmulator.layer()))
  })

/** Postgres: the configured server (bounded connect, one-line failure), or an embedded PGlite. */
export const postgresLayer = (m: Mode) =>
  Option.match(m.postgres, {
    onNone: () => Layer.mapError(EmbeddedPostgres.layerWithClient(), (e) => new EmbeddedStartError({ message: `embedded Postgres: ${e.message}` })),
    onSome: (p) =>
      PostgresClient.layer({ url: p.url, maxConnections: p.maxConnections, connectTimeout: p.connectTimeout }).pipe(
        Layer.mapError((e) =>
          new ServiceError({
            service: "postgres",
            address: p.address,
            variable: "PANDAFLOW_PG_URL",
            reason: e.reason === "Unavailable" ? "Unreachable" : "Rejected",
            detail: scrub(e.message, pgSecrets(p))
          })
        )
      )
  })

/** Cassandra: the configured cluster (bounded connect, one-line failure), or off (Cassandra sinks say so at start-up). */
export const cassandraLayer = (m: Mode) =>
  Option.match(m.cassandra, {
    onNone: () => CassandraClient.layerOff("PANDAFLOW_CASSANDRA_CONTACT_POINTS is not set"),
    onSome: (c) =>
      CassandraClient.layer(c).pipe(
        Layer.mapError((e) =>
          new ServiceError({
            service: "cassandra",
            address: c.contactPoints.join(","),
            variable: "PANDAFLOW_CASSANDRA_CONTACT_POINTS",
            reason: e.reason === "Unavailable" ? "Unreachable" : "Rejected",
            detail: scrub(CassandraClient.shortMessage(e.cause ?? e.message), [c.password === undefined ? undefined : Redacted.value(c.password)])
          })
        )
      )
  })

/** Effect's minimum log level from `PANDAFLOW_LOG_LEVEL` (default info). */
export const loggingLayer = (m: Mode) => Logger.minimumLogLevel(m.logLevel)

/** Every service a pipeline's jobs may need, for a mode: broker, Postgres, Cassandra, the randomuser source. */
export const layer = (m: Mode, options: LiveOptions = {}) =>
  Layer.mergeAll(brokerLayer(m, options), sourceLayer(m), postgresLayer(m), cassandraLayer(m)).pipe(
    Layer.provideMerge(loggingLayer(m))
  )

/**
 * The services plus the scheduler's run store, kept in the same Postgres (live or
 * embedded) under its own schema (`PANDAFLOW_SCHEDULER_SCHEMA`): what the long-running mode needs.
 */
export const layerWithRunStore = (m: Mode, options: LiveOptions = {}) =>
  Layer.provideMerge(PostgresRunStore.layer({ schema: m.scheduler.schema }), layer(m, options))
