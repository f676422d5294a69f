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
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

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
  /**
   * Where a fresh cluster's data directory is cached (a gzipped tarball), for in-memory
   * servers: PGlite's `initdb` runs in a second WebAssembly instance whose memory stays
   * reserved for the life of the process (~350 MiB resident); starting from the cached
   * tarball skips it and halves the embedded mode's peak RSS. Default
   * `$PANDAFLOW_CACHE/pglite-<version>.tgz` (`~/.cache/pandaflow`); `false` turns it off.
   */
  readonly template?: string | false | undefined
  /**
   * `postgresql.conf` lines. The default sizes memory for a development database in a
   * process it shares with the pipeline: `shared_buffers = 16MB` (Postgres's 128MB lives
   * inside PGlite's WebAssembly heap) and 32MB of WAL before a checkpoint (the in-memory
   * filesystem keeps every segment until then): 128 MiB less at start, ~130 MiB less after
   * 50,000 rows (measured).
   */
  readonly settings?: ReadonlyArray<string> | undefined
}

/** See `Options.settings`. */
export const defaultSettings: ReadonlyArray<string> = ["shared_buffers = 16MB", "min_wal_size = 32MB", "max_wal_size = 32MB"]

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

/** The default template path: the cache directory and PGlite's version, so an upgrade makes a new one. */
const defaultTemplate = (): string => {
  let version = "unknown"
  try {
    const main = fileURLToPath(import.meta.resolve("@electric-sql/pglite"))
    version = (JSON.parse(readFileSync(join(dirname(main), "..", "package.json"), "utf8")) as { version?: string }).version ?? version
  } catch {
    // A template of another version fails to load and is made again (see `start`).
  }
  return join(process.env.PANDAFLOW_CACHE ?? join(homedir(), ".cache", "pandaflow"), `pglite-${version}.tgz`)
}

/** Creates PGlite in memory from the template when there is one, else afresh (and saves the template). */
const start = async (template: string | undefined, settings: ReadonlyArray<string>): Promise<PGlite> => {
  const postgresqlconf = [...settings]
  if (template !== undefined && existsSync(template)) {
    try {
      return await PGlite.create({ loadDataDir: new Blob([readFileSync(template)]), postgresqlconf })
    } catch {
      rmSync(template, { force: true }) // stale or damaged: make it again below
    }
  }
  const db = await PGlite.create({ postgresqlconf })
  if (template !== undefined) {
    try {
      const dump = Buffer.from(await (await db.dumpDataDir("gzip")).arrayBuffer())
      mkdirSync(dirname(template), { recursive: true })
      const partial = `${template}.${process.pid}.tmp`
      writeFileSync(partial, dump)
      renameSync(partial, template) // atomic: a concurrent start never reads half a file
    } catch {
      // No cache directory (read-only home): the next start runs initdb again, nothing else.
    }
  }
  return db
}

/** Starts PGlite and its socket server; both stop when the scope closes. */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const maxConnections = options.maxConnections ?? 16
    const template = options.dataDir !== undefined || options.template === false
      ? undefined
      : options.template ?? defaultTemplate()
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          options.dataDir === undefined
            ? start(template, options.settings ?? defaultSettings)
            : PGlite.create({ dataDir: options.dataDir, postgresqlconf: [...(options.settings ?? defaultSettings)] }),
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
