/**
 * An embedded Postgres: PGlite (Postgres compiled to WebAssembly) served over TCP by
 * `@electric-sql/pglite-socket`, so `pg` and @effect/sql-pg talk to it exactly as to a
 * real server and the Postgres sink runs unchanged. The embedded run mode and tests use
 * it when no real Postgres is configured.
 *
 * PGlite runs one query at a time; the socket server queues the connections' queries
 * and keeps a transaction's statements together.
 *
 * @since 0.1.0
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { Context, Data, Effect, Layer, Redacted } from "effect"

/** The embedded server could not start. */
export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** Options of the embedded server. */
export interface Options {
  /** TCP port on 127.0.0.1; `0` (the default) picks a free one. */
  readonly port?: number | undefined
  /** Keeps the data in this directory across runs; in memory when absent. */
  readonly dataDir?: string | undefined
  /**
   * Connections the socket server accepts at once. It must be at least the client pool
   * size (plus one for a LISTEN client): the server closes connections over the limit,
   * which a pool reports as "Connection terminated unexpectedly". Default 16.
   */
  readonly maxConnections?: number | undefined
}

/** A running embedded Postgres. */
export interface Running {
  /** Connection string, e.g. `postgres://postgres@127.0.0.1:41234/postgres` (no password). */
  readonly url: string
  readonly port: number
  /** The connection limit the server was started with. */
  readonly maxConnections: number
}

/** The running embedded Postgres. */
export class EmbeddedPostgres extends Context.Tag("pandaflow/EmbeddedPostgres")<EmbeddedPostgres, Running>() {}

/** Starts PGlite and its socket server; both stop when the scope closes. */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const maxConnections = options.maxConnections ?? 16
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        catch: (cause) => new EmbeddedPostgresError({ message: `PGlite failed to start: ${String(cause)}`, cause })
      }),
      (db) => Effect.promise(() => db.close()).pipe(Effect.ignore)
    )
    const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: options.port ?? 0, maxConnections })
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => server.start(),
        catch: (cause) =>
          new EmbeddedPostgresError({
            message: `the PGlite socket server failed to listen on 127.0.0.1:${options.port ?? 0}: ${String(cause)}`,
            cause
          })
      }),
      () => Effect.promise(() => server.stop()).pipe(Effect.ignore)
    )
    // `getServerConn` is `host:port`, with the port the OS chose when asked for 0.
    const port = Number(server.getServerConn().split(":").pop())
    // PGlite holds one database and ignores the startup message's user and database.
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, maxConnections }
  })

/** Provides `EmbeddedPostgres`, started on acquire and stopped on release. */
export const layer = (options: Options = {}): Layer.Layer<EmbeddedPostgres, EmbeddedPostgresError> =>
  Layer.scoped(EmbeddedPostgres, make(options))

/**
 * A `PgClient`/`SqlClient` connected to the running embedded Postgres. The pool stays
 * below the server's connection limit; more than a few connections gain nothing, since
 * PGlite runs one query at a time.
 */
export const layerClient = (
  options: { readonly maxConnections?: number | undefined } = {}
): Layer.Layer<PgClient.PgClient | SqlClient, SqlError, EmbeddedPostgres> =>
  Layer.unwrapEffect(Effect.map(EmbeddedPostgres, (pg) =>
    PgClient.layer({
      url: Redacted.make(pg.url),
      maxConnections: Math.max(1, Math.min(options.maxConnections ?? 4, pg.maxConnections - 1))
    })))

/** Starts an embedded Postgres and connects a client to it: everything the Postgres sink needs. */
export const layerWithClient = (
  options: Options & { readonly poolSize?: number | undefined } = {}
): Layer.Layer<EmbeddedPostgres | PgClient.PgClient | SqlClient, EmbeddedPostgresError | SqlError> =>
  Layer.provideMerge(layerClient({ maxConnections: options.poolSize }), layer(options))
