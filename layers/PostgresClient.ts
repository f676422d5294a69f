/**
 * A Postgres connection pool (`PgClient` / `SqlClient` of @effect/sql-pg) for the Postgres
 * sinks and the scheduler's run store, from explicit settings or the environment.
 *
 * @since 0.2.0
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type { SqlClient } from "@effect/sql/SqlClient"
import { Config, type ConfigError, Data, Duration, Effect, Layer } from "effect"
import * as PgErrors from "./PgErrors.js"

/** The pool could not be set up: the server is unreachable (`Unavailable`) or refused us (`Rejected`). */
export class PostgresClientError extends Data.TaggedError("PostgresClientError")<{
  readonly reason: "Unavailable" | "Rejected"
  readonly message: string
  readonly cause?: unknown
}> {}

/** Maps a failure to connect. */
export const classify = (error: unknown): PostgresClientError => {
  const { message, retryable } = PgErrors.classify(error)
  return new PostgresClientError({ reason: retryable ? "Unavailable" : "Rejected", message, cause: error })
}

/** Settings from the environment. */
export const config = Config.all({
  url: Config.redacted("PANDAFLOW_PG_URL"),
  maxConnections: Config.integer("PANDAFLOW_PG_MAX_CONNECTIONS").pipe(Config.withDefault(4)),
  connectTimeout: Config.duration("PANDAFLOW_PG_CONNECT_TIMEOUT").pipe(Config.withDefault(Duration.seconds(5)))
})

/** A pool from explicit settings; it connects when the layer is built. */
export const layer = (settings: PgClient.PgClientConfig): Layer.Layer<PgClient.PgClient | SqlClient, PostgresClientError> =>
  Layer.mapError(PgClient.layer(settings), classify)

/**
 * A pool from `PANDAFLOW_PG_URL` (secret), `PANDAFLOW_PG_MAX_CONNECTIONS` (default 4) and
 * `PANDAFLOW_PG_CONNECT_TIMEOUT` (default 5 seconds).
 */
export const layerConfig: Layer.Layer<PgClient.PgClient | SqlClient, PostgresClientError | ConfigError.ConfigError> = Layer
  .unwrapEffect(Effect.map(config, layer))
