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
import { Config, type ConfigError, Context, Data, Duration, Effect, Layer, Option, Redacted, type Scope } from "effect"

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

/** The Cassandra client service: connected, or off. */
export class CassandraClient extends Context.Tag("pandaflow/CassandraClient")<CassandraClient, Connected | Off>() {}

/** The client could not connect (`Unavailable`), was refused (`Rejected`), or is off. */
export class CassandraClientError extends Data.TaggedError("CassandraClientError")<{
  readonly reason: "Unavailable" | "Rejected" | "Off"
  readonly message: string
  readonly cause?: unknown
}> {}

/** The connected client; fails with `CassandraClientError` `Off`, naming the reason, when Cassandra is off. */
export const connected: Effect.Effect<Connected, CassandraClientError, CassandraClient> = Effect.flatMap(
  CassandraClient,
  (c) =>
    c._tag === "Connected"
      ? Effect.succeed(c)
      : Effect.fail(new CassandraClientError({ reason: "Off", message: `Cassandra is off: ${c.reason}` }))
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
 * Whether a `cassandra-driver` error may heal by itself: no node reachable, a client-side
 * timeout, or a coordinator reporting unavailable replicas, a server timeout, overload or
 * bootstrap. Everything else (invalid query, bad value, syntax) is permanent.
 */
export const isRetryable = (error: unknown): boolean => {
  const codes = cassandra.types.responseErrorCodes
  const retryableCodes: ReadonlySet<number> = new Set([
    codes.unavailableException,
    codes.overloaded,
    codes.isBootstrapping,
    codes.truncateError,
    codes.writeTimeout,
    codes.readTimeout
  ])
  return error instanceof cassandra.errors.NoHostAvailableError ||
    error instanceof cassandra.errors.OperationTimedOutError ||
    error instanceof cassandra.errors.BusyConnectionError ||
    (error instanceof cassandra.errors.ResponseError && retryableCodes.has(error.code))
}

/** Maps a failure to connect. */
export const classify = (error: unknown): CassandraClientError =>
  new CassandraClientError({
    reason: isRetryable(error) ? "Unavailable" : "Rejected",
    message: error instanceof Error ? error.message : String(error),
    cause: error
  })

/**
 * The gist of a connect failure: for "no host available", the first host's own error
 * (`connect ECONNREFUSED 127.0.0.1:1`) instead of the driver's summary.
 */
export const shortMessage = (error: unknown): string => {
  if (error instanceof cassandra.errors.NoHostAvailableError) {
    const inner = Object.values((error as { innerErrors?: Record<string, unknown> }).innerErrors ?? {})[0]
    if (inner instanceof Error) return inner.message
  }
  return error instanceof Error ? error.message : String(error)
}

/** Connects a client; it is shut down when the scope closes. Fails `Unavailable` if no node answers. */
export const make = (options: Options): Effect.Effect<Connected, CassandraClientError, Scope.Scope> =>
  Effect.gen(function*() {
    if (!keyspaceName.test(options.keyspace)) {
      return yield* new CassandraClientError({
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
        catch: classify
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
export const layer = (options: Options): Layer.Layer<CassandraClient, CassandraClientError> =>
  Layer.scoped(CassandraClient, make(options))

/**
 * Provides `CassandraClient` from `PANDAFLOW_CASSANDRA_CONTACT_POINTS` (comma list of
 * `host:port`), `PANDAFLOW_CASSANDRA_LOCAL_DC` (default `datacenter1`),
 * `PANDAFLOW_CASSANDRA_KEYSPACE` (default `spark_streams`) and, optionally,
 * `PANDAFLOW_CASSANDRA_USERNAME` / `PANDAFLOW_CASSANDRA_PASSWORD` (secret).
 */
export const layerConfig: Layer.Layer<CassandraClient, CassandraClientError | ConfigError.ConfigError> = Layer.scoped(
  CassandraClient,
  Effect.flatMap(config, make)
)
