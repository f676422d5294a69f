/**
 * An embedded Postgres: PGlite (Postgres compiled to WebAssembly) served over TCP by
 * `@electric-sql/pglite-socket`, so `pg` and @effect/sql-pg talk to it exactly as to a
 * real server and the Postgres sink runs unchanged. The embedded run mode and tests use
 * it when no real Postgres is configured. A fresh cluster lives in a directory of its own,
 * copied from a template made once (see `Options.storage`).
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
import { execFile } from "node:child_process"
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs"
import { homedir, tmpdir } from "node:os"
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
  /** Keeps the data in this directory across runs; a fresh cluster every start when absent. */
  readonly dataDir?: string | undefined
  /**
   * Connections the socket server accepts at once. It must be at least the client pool
   * size (plus one for a LISTEN client): the server closes connections over the limit,
   * which a pool reports as "Connection terminated unexpectedly". Default 16.
   */
  readonly maxConnections?: number | undefined
  /**
   * Where a fresh cluster lives when there is no `dataDir`: `"disk"` (the default), a
   * directory of its own under `runsDir`, copied from the template and removed when the
   * server stops; or `"memory"`, PGlite's in-memory filesystem. On disk the data sits in
   * the OS page cache instead of the process: PGlite's in-memory files are JavaScript
   * ArrayBuffers that grow with every table and WAL segment (measured, 50,000 rows:
   * ~230 MiB RSS on disk against ~370–400 MiB in memory, and a start in ~0.8 s against ~4 s).
   * When no directory can be written the cluster falls back to memory.
   */
  readonly storage?: "disk" | "memory" | undefined
  /** Parent of the per-run data directories. Default `$PANDAFLOW_CACHE/pglite-runs` (`~/.cache/pandaflow`). */
  readonly runsDir?: string | undefined
  /**
   * A fresh cluster's data directory, made once and copied for every start: PGlite's
   * `initdb` runs in a second WebAssembly instance whose memory stays reserved for the
   * life of the process (~350 MiB resident), so the template is made by a short-lived
   * child process. Default `$PANDAFLOW_CACHE/pglite-<version>` (`~/.cache/pandaflow`).
   */
  readonly template?: string | undefined
  /**
   * `postgresql.conf` lines. The default sizes memory for a development database in a
   * process it shares with the pipeline: `shared_buffers = 16MB` (Postgres's 128MB lives
   * inside PGlite's WebAssembly heap) and 32MB of WAL before a checkpoint: 128 MiB less
   * at start, ~130 MiB less after 50,000 rows (measured in memory).
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

const cacheDir = (): string => process.env.PANDAFLOW_CACHE ?? join(homedir(), ".cache", "pandaflow")

const pgliteEntry = (): string => fileURLToPath(import.meta.resolve("@electric-sql/pglite"))

/** The default template path: the cache directory and PGlite's version, so an upgrade makes a new one. */
const defaultTemplate = (): string => {
  let version = "unknown"
  try {
    version = (JSON.parse(readFileSync(join(dirname(pgliteEntry()), "..", "package.json"), "utf8")) as { version?: string }).version ?? version
  } catch {
    // A template of another version fails to start and is made again (see `startOnDisk`).
  }
  return join(cacheDir(), `pglite-${version}`)
}

// Run in a child process: initdb's WebAssembly memory dies with it.
const makeTemplateScript = `const { PGlite } = await import(process.env.PGLITE_URL); const db = await PGlite.create({ dataDir: process.argv[1] }); await db.close()`

/** Makes the template directory once (atomically: concurrent starts may race, one wins). */
const ensureTemplate = async (template: string): Promise<void> => {
  if (existsSync(join(template, "PG_VERSION"))) return
  mkdirSync(dirname(template), { recursive: true })
  const partial = `${template}.${process.pid}.tmp`
  rmSync(partial, { recursive: true, force: true })
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, ["--input-type=module", "-e", makeTemplateScript, partial], {
      env: { ...process.env, PGLITE_URL: import.meta.resolve("@electric-sql/pglite") },
      timeout: 120_000
    }, (error, _stdout, stderr) => error === null ? resolve() : reject(new Error(`initdb failed: ${stderr.trim() || error.message}`))))
  try {
    renameSync(partial, template)
  } catch (e) {
    rmSync(partial, { recursive: true, force: true })
    if (!existsSync(join(template, "PG_VERSION"))) throw e // not a lost race
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Removes the run directories of processes that died without removing their own. */
const sweep = (runsDir: string): void => {
  for (const name of readdirSync(runsDir)) {
    const pid = Number(name.split("-")[0])
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) rmSync(join(runsDir, name), { recursive: true, force: true })
  }
}

let runs = 0

/** A fresh cluster in its own directory, copied from the template; the directory goes with `close`. */
const startOnDisk = async (template: string, runsDir: string, settings: ReadonlyArray<string>): Promise<{ db: PGlite; dir: string }> => {
  mkdirSync(runsDir, { recursive: true })
  sweep(runsDir)
  const dir = join(runsDir, `${process.pid}-${++runs}-${Date.now().toString(36)}`)
  for (let attempt = 1; ; attempt++) {
    await ensureTemplate(template)
    cpSync(template, dir, { recursive: true })
    try {
      return { db: await PGlite.create({ dataDir: dir, postgresqlconf: [...settings] }), dir }
    } catch (e) {
      rmSync(dir, { recursive: true, force: true })
      if (attempt > 1) throw e
      rmSync(template, { recursive: true, force: true }) // stale or damaged: make it again
    }
  }
}

/** The cluster the options ask for: `dataDir`, a fresh one on disk, or (as a fallback too) in memory. */
const start = async (options: Options): Promise<{ db: PGlite; dir?: string }> => {
  const settings = [...(options.settings ?? defaultSettings)]
  if (options.dataDir !== undefined) return { db: await PGlite.create({ dataDir: options.dataDir, postgresqlconf: settings }) }
  if (options.storage !== "memory") {
    const template = options.template ?? defaultTemplate()
    const dirs = options.runsDir !== undefined ? [options.runsDir] : [join(cacheDir(), "pglite-runs"), join(tmpdir(), "pandaflow-pglite-runs")]
    for (const runsDir of dirs) {
      try {
        return await startOnDisk(template, runsDir, settings)
      } catch {
        // No writable directory there (read-only home): try the next, then memory.
      }
    }
  }
  return { db: await PGlite.create({ postgresqlconf: settings }) }
}

/** Starts PGlite and its socket server; both stop when the scope closes. */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const maxConnections = options.maxConnections ?? 16
    const { db } = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => start(options),
        catch: (cause) => new EmbeddedPostgresError({ message: `PGlite failed to start: ${String(cause)}`, cause })
      }),
      ({ db, dir }) =>
        Effect.promise(() => db.close()).pipe(
          Effect.ignore,
          Effect.zipRight(dir === undefined ? Effect.void : Effect.sync(() => rmSync(dir, { recursive: true, force: true })).pipe(Effect.ignore))
        )
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
