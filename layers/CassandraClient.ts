/**
 * A `cassandra-driver` client as a service: connected when the layer is built, shut down
 * when its scope closes; or, where Cassandra does not run (the embedded mode), switched
 * off with a reason (`layerOff`), so Cassandra sinks build as `RowSink.off`.
 *
 * Code that needs the driver takes it from `connected`, which fails if Cassandra is off.
 *
 * @since 0.1.0
 */
import cassandra from "cassandra-driver"
import { Config, type ConfigError, Context, Duration, Effect, Layer, Option, Redacted, type Scope } from "effect"
import { SinkError } from "../src/RowSink.js"

/** A connected client and the keyspace the application's tables live in. */
export interface Connected {
  readonly _tag: "Connected"
  readonly client: cassandra.Client
  /** Tables are named `keyspace.table` in every statement: the client has no session keyspace. */
  readonly keyspace: string
}

/** Cassandra is switched off where this runs; `reason` says why and how to switch it on. */
export interface Off {
  readonly _tag: "Off"
  readonly reason: string
}

/** The Cassandra client: connected, or off. */
export type CassandraClient = Connected | Off

/** The Cassandra client service. */
export const CassandraClient = Context.GenericTag<CassandraClient>("pandaflow/CassandraClient")

/**
 * The connected client; fails with `SinkError` `Rejected` (sink `cassandra`) naming the
 * reason when Cassandra is off.
 */
export const connected: Effect.Effect<Connected, SinkError, CassandraClient> = Effect.flatMap(
  CassandraClient,
  (c) =>
    c._tag === "Connected"
      ? Effect.succeed(c)
      : Effect.fail(new SinkError({ sink: "cassandra", reason: "Rejected", message: `Cassandra is off: ${c.reason}` }))
)

/** Provides `CassandraClient` switched off: Cassandra sinks build as `RowSink.off(name, reason)`. */
export const layerOff = (reason: string): Layer.Layer<CassandraClient> =>
  Layer.succeed(CassandraClient, { _tag: "Off", reason })

/** Settings of the client. */
export interface Options {
  /** `host` or `host:port` entries. */
  readonly contactPoints: ReadonlyArray<string>
  /** The load-balancing policy only routes to this datacenter; a single node's is `datacenter1`. */
  readonly localDataCenter: string
  readonly keyspace: string
  readonly username?: string | undefined
  readonly password?: Redacted.Redacted | undefined
  /** How long to wait for a node to accept a connection. Default 5 seconds. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** How long to wait for a node's answer before the request fails. Default 12 seconds. */
  readonly readTimeout?: Duration.DurationInput | undefined
}

const keyspaceName = /^[a-zA-Z_][a-zA-Z0-9_]{0,47}$/

/**
 * Maps a `cassandra-driver` error: no node reachable, a client-side timeout, or a
 * coordinator reporting unavailable replicas, a server timeout, overload or bootstrap
 * become `Unavailable`; everything else (invalid query, bad value, syntax) `Rejected`.
 */
export const classify = (sink: string, error: unknown): SinkError => {
  const codes = cassandra.types.responseErrorCodes
  const retryableCodes: ReadonlySet<number> = new Set([
    codes.unavailableException,
    codes.overloaded,
    codes.isBootstrapping,
    codes.truncateError,
    codes.writeTimeout,
    codes.readTimeout
  ])
  const unavailable = error instanceof cassandra.errors.NoHostAvailableError ||
    error instanceof cassandra.errors.OperationTimedOutError ||
    error instanceof cassandra.errors.BusyConnectionError ||
    (error instanceof cassandra.errors.ResponseError && retryableCodes.has(error.code))
  const message = error instanceof Error ? error.message : String(error)
  return new SinkError({ sink, reason: unavailable ? "Unavailable" : "Rejected", message, cause: error })
}

/** Connects a client; it is shut down when the scope closes. Fails `Unavailable` if no node answers. */
export const make = (options: Options): Effect.Effect<Connected, SinkError, Scope.Scope> =>
  Effect.gen(function*() {
    if (!keyspaceName.test(options.keyspace)) {
      return yield* new SinkError({
        sink: "cassandra",
        reason: "Rejected",
        message: `keyspace name ${JSON.stringify(options.keyspace)} is not a plain identifier`
      })
    }
    const client = new cassandra.Client({
      contactPoints: [...options.contactPoints],
      localDataCenter: options.localDataCenter,
      ...(options.username !== undefined && options.password !== undefined
        ? { credentials: { username: options.username, password: Redacted.value(options.password) } }
        : {}),
      // The driver's default waits 1, 2, 4 … s up to 10 minutes between reconnection
      // attempts: a node back after a minute's outage would be retried only at ~2 minutes,
      // past the sink's retry budget. Capped at 5 s, like the sink's backoff.
      policies: { reconnection: new cassandra.policies.reconnection.ExponentialReconnectionPolicy(500, 5_000, false) },
      // LOCAL_QUORUM: a write counts once most local replicas have it (with RF 1, the one).
      queryOptions: { consistency: cassandra.types.consistencies.localQuorum },
      socketOptions: {
        connectTimeout: Duration.toMillis(options.connectTimeout ?? Duration.seconds(5)),
        readTimeout: Duration.toMillis(options.readTimeout ?? Duration.seconds(12))
      }
    })
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => client.connect(),
        catch: (e) => classify("cassandra", e)
      }).pipe(
        // A failed connect leaves reconnection timers behind: shut the client down.
        Effect.tapError(() => Effect.promise(() => client.shutdown()).pipe(Effect.ignore))
      ),
      () => Effect.promise(() => client.shutdown()).pipe(Effect.ignore)
    )
    const value: Connected = { _tag: "Connected", client, keyspace: options.keyspace }
    return value
  })

/** Settings from the environment. */
export const config: Config.Config<Options> = Config.all({
  contactPoints: Config.string("PANDAFLOW_CASSANDRA_CONTACT_POINTS").pipe(
    Config.map((s) => s.split(",").map((p) => p.trim()).filter((p) => p.length > 0)),
    Config.validate({ message: "needs at least one host:port", validation: (a) => a.length > 0 })
  ),
  localDataCenter: Config.string("PANDAFLOW_CASSANDRA_LOCAL_DC").pipe(Config.withDefault("datacenter1")),
  keyspace: Config.string("PANDAFLOW_CASSANDRA_KEYSPACE").pipe(Config.withDefault("spark_streams")),
  username: Config.option(Config.string("PANDAFLOW_CASSANDRA_USERNAME")),
  password: Config.option(Config.redacted("PANDAFLOW_CASSANDRA_PASSWORD"))
}).pipe(Config.map(({ password, username, ...rest }) => ({
  ...rest,
  username: Option.getOrUndefined(username),
  password: Option.getOrUndefined(password)
})))

/** Provides `CassandraClient` from explicit settings. */
export const layer = (options: Options): Layer.Layer<CassandraClient, SinkError> =>
  Layer.scoped(CassandraClient, make(options))

/**
 * Provides `CassandraClient` from `PANDAFLOW_CASSANDRA_CONTACT_POINTS` (comma list of
 * `host:port`), `PANDAFLOW_CASSANDRA_LOCAL_DC` (default `datacenter1`),
 * `PANDAFLOW_CASSANDRA_KEYSPACE` (default `spark_streams`) and, optionally,
 * `PANDAFLOW_CASSANDRA_USERNAME` / `PANDAFLOW_CASSANDRA_PASSWORD` (secret).
 */
export const layerConfig: Layer.Layer<CassandraClient, SinkError | ConfigError.ConfigError> = Layer.scoped(
  CassandraClient,
  Effect.flatMap(config, make)
)
