/**
 * RunStore on PostgreSQL through @effect/sql (any SqlClient; @effect/sql-pg in practice).
 *
 * Tables `jobs`, `runs`, `task_attempts` live in their own schema (default
 * `pandaflow_scheduler`) so they never collide with the pipeline's tables; they are
 * created idempotently when the layer is built, under an advisory lock so several
 * instances starting together do not race on `CREATE … IF NOT EXISTS`.
 *
 * Coordination is plain SQL: a claim is `INSERT … ON CONFLICT DO NOTHING RETURNING`
 * (only one instance gets the row); every owner write is `… WHERE fencing_token = $t`;
 * a takeover is one conditional `UPDATE … SET fencing_token = fencing_token + 1`.
 * Times come from the caller (Clock), never from `now()`.
 *
 * Set-up failures (bad schema name, tables not created) are this adapter's
 * `PostgresRunStoreError`; the store's operations fail with the port's `RunStoreError`,
 * its message classified by `PgErrors.classify`.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Config, type ConfigError, Data, Effect, Layer, Option, type Redacted } from "effect"
import type { HeartbeatResult, RunStoreService } from "../src/scheduler/RunStore.js"
import { RunStore, RunStoreError } from "../src/scheduler/RunStore.js"
import * as PgErrors from "./PgErrors.js"
import { type AttemptRow, at, type JobRow, opt, type RunRow, toAttempt, toJob, toRun } from "./PostgresRunRows.js"

/** The store could not be set up: an unusable schema name, or its tables could not be created. */
export class PostgresRunStoreError extends Data.TaggedError("PostgresRunStoreError")<{
  readonly reason: "InvalidSchema" | "Setup"
  /** True when setting up again may succeed (the server or connection was the problem). */
  readonly retryable: boolean
  readonly message: string
  readonly cause?: unknown
}> {}

/** Options of the Postgres store. */
export interface Options {
  /** Schema holding the scheduler's tables. Default `pandaflow_scheduler`. */
  readonly schema?: string | undefined
}

const VALID_SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/

/** Builds the store on the ambient SqlClient, creating its tables if needed. */
export const make = (options?: Options): Effect.Effect<RunStoreService, PostgresRunStoreError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const schema = options?.schema ?? "pandaflow_scheduler"
    if (!VALID_SCHEMA.test(schema)) {
      return yield* new PostgresRunStoreError({
        reason: "InvalidSchema",
        retryable: false,
        message: `invalid schema name "${schema}": use lower-case letters, digits and _`
      })
    }
    const jobs = sql(`${schema}.jobs`)
    const runs = sql(`${schema}.runs`)
    const attempts = sql(`${schema}.task_attempts`)

    const wrap = (operation: string) => <A>(effect: Effect.Effect<A, SqlError>): Effect.Effect<A, RunStoreError> =>
      Effect.mapError(
        effect,
        (cause) =>
          new RunStoreError({ operation, message: `run store ${operation} failed: ${PgErrors.classify(cause).message}`, cause })
      )

    // One advisory lock (keyed by the schema name) serialises concurrent set-ups.
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`SELECT pg_advisory_xact_lock(hashtext(${`pandaflow.scheduler.${schema}`}))`
      yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(schema)}`
      yield* sql`CREATE TABLE IF NOT EXISTS ${jobs} (
        name text PRIMARY KEY,
        timetable text NOT NULL,
        paused boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL
      )`
      yield* sql`CREATE TABLE IF NOT EXISTS ${runs} (
        id bigserial PRIMARY KEY,
        job text NOT NULL,
        key text NOT NULL,
        kind text NOT NULL,
        slot timestamptz NOT NULL,
        interval_start timestamptz NOT NULL,
        interval_end timestamptz NOT NULL,
        state text NOT NULL,
        owner text NOT NULL,
        fencing_token bigint NOT NULL DEFAULT 1,
        lease_until timestamptz NOT NULL,
        cancel_requested boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        started_at timestamptz,
        ended_at timestamptz,
        error text,
        UNIQUE (job, key)
      )`
      yield* sql`CREATE INDEX IF NOT EXISTS runs_active_idx ON ${runs} (lease_until) WHERE state IN ('queued', 'running')`
      yield* sql`CREATE INDEX IF NOT EXISTS runs_job_slot_idx ON ${runs} (job, slot DESC)`
      yield* sql`CREATE TABLE IF NOT EXISTS ${attempts} (
        run_id bigint NOT NULL REFERENCES ${runs} (id) ON DELETE CASCADE,
        fencing_token bigint NOT NULL,
        task text NOT NULL,
        attempt integer NOT NULL,
        state text NOT NULL,
        started_at timestamptz NOT NULL,
        ended_at timestamptz,
        error text,
        PRIMARY KEY (run_id, fencing_token, task, attempt)
      )`
    })).pipe(
      Effect.mapError((cause) => {
        const classified = PgErrors.classify(cause)
        return new PostgresRunStoreError({
          reason: "Setup",
          retryable: classified.retryable,
          message: `run store set-up in schema "${schema}" failed: ${classified.message}`,
          cause
        })
      })
    )

    // Run ids are bigserial: a non-numeric id names no run (and must not reach a bigint cast).
    const byId = <A>(runId: string, query: Effect.Effect<ReadonlyArray<A>, SqlError>) =>
      /^\d{1,18}$/.test(runId) ? query : Effect.succeed<ReadonlyArray<A>>([])

    const runColumns = sql.literal(
      "id::text AS id, job, key, kind, slot, interval_start, interval_end, state, owner, fencing_token, " +
        "lease_until, cancel_requested, created_at, started_at, ended_at, error"
    )

    const service: RunStoreService = {
      registerJob: ({ name, now, timetable }) =>
        sql`INSERT INTO ${jobs} (name, timetable, paused, updated_at) VALUES (${name}, ${timetable}, false, ${at(now)})
            ON CONFLICT (name) DO UPDATE SET timetable = EXCLUDED.timetable, updated_at = EXCLUDED.updated_at`.pipe(
          Effect.asVoid,
          wrap("registerJob")
        ),
      getJob: (name) =>
        sql<JobRow>`SELECT name, timetable, paused, updated_at FROM ${jobs} WHERE name = ${name}`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toJob)),
          wrap("getJob")
        ),
      listJobs: sql<JobRow>`SELECT name, timetable, paused, updated_at FROM ${jobs} ORDER BY name`.pipe(
        Effect.map((rows) => rows.map(toJob)),
        wrap("listJobs")
      ),
      setPaused: (name, paused, now) =>
        sql`UPDATE ${jobs} SET paused = ${paused}, updated_at = ${at(now)} WHERE name = ${name} RETURNING name`.pipe(
          Effect.map((rows) => rows.length > 0),
          wrap("setPaused")
        ),

      claim: (r) => {
        const final = r.state !== "queued" && r.state !== "running"
        return sql<RunRow>`INSERT INTO ${runs}
            (job, key, kind, slot, interval_start, interval_end, state, owner, fencing_token, lease_until,
             created_at, started_at, ended_at, error)
          VALUES (${r.job}, ${r.key}, ${r.kind}, ${at(r.slot)}, ${at(r.intervalStart)}, ${at(r.intervalEnd)},
             ${r.state}, ${r.owner}, 1, ${at(r.leaseUntil)}, ${at(r.now)},
             ${r.state === "running" ? at(r.now) : null}, ${final ? at(r.now) : null}, ${r.error ?? null})
          ON CONFLICT (job, key) DO NOTHING
          RETURNING ${runColumns}`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toRun)),
          wrap("claim")
        )
      },
      countActive: (job, options) => {
        const states = options?.state === undefined ? ["queued", "running"] : [options.state]
        const except = options?.exceptRunId === undefined ? sql`` : sql`AND id <> ${options.exceptRunId}`
        return sql<{ readonly n: string | number }>`SELECT count(*) AS n FROM ${runs}
            WHERE job = ${job} AND state IN ${sql.in(states)} ${except}`.pipe(
          Effect.map((rows) => Number(rows[0]?.n ?? 0)),
          wrap("countActive")
        )
      },
      latestScheduledSlot: (job) =>
        sql<{ readonly slot: Date | null }>`SELECT max(slot) AS slot FROM ${runs}
            WHERE job = ${job} AND kind = 'scheduled'`.pipe(
          Effect.map((rows) => opt(rows[0]?.slot ?? null)),
          wrap("latestScheduledSlot")
        ),
      markRunning: (fence, now) =>
        sql`UPDATE ${runs} SET state = 'running', started_at = ${at(now)}
            WHERE id = ${fence.runId} AND owner = ${fence.owner} AND fencing_token = ${fence.fencingToken}
              AND state = 'queued' RETURNING id`.pipe(
          Effect.map((rows) => rows.length > 0),
          wrap("markRunning")
        ),
      heartbeat: (fence, leaseUntil) =>
        Effect.gen(function*() {
          const updated = yield* sql<{ readonly cancel_requested: boolean }>`UPDATE ${runs}
              SET lease_until = ${at(leaseUntil)}
              WHERE id = ${fence.runId} AND owner = ${fence.owner} AND fencing_token = ${fence.fencingToken}
                AND state IN ('queued', 'running')
              RETURNING cancel_requested`
          if (updated[0] !== undefined) {
            return { owned: true, cancelRequested: updated[0].cancel_requested } satisfies HeartbeatResult
          }
          const current = yield* sql<{ readonly cancel_requested: boolean }>`SELECT cancel_requested FROM ${runs}
              WHERE id = ${fence.runId}`
          return { owned: false, cancelRequested: current[0]?.cancel_requested ?? false } satisfies HeartbeatResult
        }).pipe(wrap("heartbeat")),
      takeover: (runId, owner, now, leaseUntil) =>
        sql<RunRow>`UPDATE ${runs}
            SET owner = ${owner}, fencing_token = fencing_token + 1, lease_until = ${at(leaseUntil)}
            WHERE id = ${runId} AND state IN ('queued', 'running') AND lease_until < ${at(now)}
            RETURNING ${runColumns}`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toRun)),
          wrap("takeover")
        ),
      expired: (now) =>
        sql<RunRow>`SELECT ${runColumns} FROM ${runs}
            WHERE state IN ('queued', 'running') AND lease_until < ${at(now)} ORDER BY id`.pipe(
          Effect.map((rows) => rows.map(toRun)),
          wrap("expired")
        ),
      finish: (fence, state, now, error) =>
        sql`UPDATE ${runs} SET state = ${state}, ended_at = ${at(now)}, error = ${Option.getOrNull(error)}
            WHERE id = ${fence.runId} AND owner = ${fence.owner} AND fencing_token = ${fence.fencingToken}
              AND state IN ('queued', 'running') RETURNING id`.pipe(
          Effect.map((rows) => rows.length > 0),
          wrap("finish")
        ),
      requestCancel: (runId) =>
        byId(runId, sql`UPDATE ${runs} SET cancel_requested = true
            WHERE id = ${runId} AND state IN ('queued', 'running') RETURNING id`).pipe(
          Effect.map((rows) => rows.length > 0),
          wrap("requestCancel")
        ),

      // Attempt writes are fenced by joining on the run's current token in the same statement.
      startAttempt: (fence, task, attempt, now) =>
        sql`INSERT INTO ${attempts} (run_id, fencing_token, task, attempt, state, started_at)
            SELECT id, fencing_token, ${task}, ${attempt}, 'running', ${at(now)} FROM ${runs}
            WHERE id = ${fence.runId} AND owner = ${fence.owner} AND fencing_token = ${fence.fencingToken}
            ON CONFLICT DO NOTHING RETURNING run_id`.pipe(
          Effect.map((rows) => rows.length > 0),
          wrap("startAttempt")
        ),
      endAttempt: (fence, task, attempt, state, now, error) =>
        sql`UPDATE ${attempts} a SET state = ${state}, ended_at = ${at(now)}, error = ${Option.getOrNull(error)}
            FROM ${runs} r
            WHERE a.run_id = ${fence.runId} AND a.fencing_token = ${fence.fencingToken} AND a.task = ${task}
              AND a.attempt = ${attempt} AND r.id = a.run_id AND r.owner = ${fence.owner}
              AND r.fencing_token = ${fence.fencingToken}
            RETURNING a.run_id`.pipe(
          Effect.map((rows) => rows.length > 0),
          wrap("endAttempt")
        ),

      getRun: (runId) =>
        byId(runId, sql<RunRow>`SELECT ${runColumns} FROM ${runs} WHERE id = ${runId}`).pipe(
          Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toRun)),
          wrap("getRun")
        ),
      listRuns: (query) => {
        const byJob = query.job === undefined ? sql`` : sql`AND job = ${query.job}`
        const byState = query.states === undefined || query.states.length === 0
          ? sql``
          : sql`AND state IN ${sql.in(query.states)}`
        return sql<RunRow>`SELECT ${runColumns} FROM ${runs} WHERE true ${byJob} ${byState}
            ORDER BY slot DESC, id DESC LIMIT ${query.limit ?? 50}`.pipe(
          Effect.map((rows) => rows.map(toRun)),
          wrap("listRuns")
        )
      },
      listAttempts: (runId) =>
        byId(
          runId,
          sql<AttemptRow>`SELECT run_id::text AS run_id, task, attempt, state, fencing_token, started_at, ended_at, error
            FROM ${attempts} WHERE run_id = ${runId}
            ORDER BY fencing_token, started_at, task, attempt`
        ).pipe(
          Effect.map((rows) => rows.map(toAttempt)),
          wrap("listAttempts")
        )
    }
    return service
  })

/** The store on the ambient SqlClient. */
export const layer = (options?: Options): Layer.Layer<RunStore, PostgresRunStoreError, SqlClient.SqlClient> =>
  Layer.effect(RunStore, make(options))

/** The settings `layerConfig` reads. */
export interface ConfigOptions extends Options {
  readonly url: Redacted.Redacted
}

/** Settings from the environment: `PANDAFLOW_PG_URL` (required, secret), `PANDAFLOW_SCHEDULER_SCHEMA`. */
export const config: Config.Config<ConfigOptions> = Config.all({
  url: Config.redacted("PANDAFLOW_PG_URL"),
  schema: Config.string("PANDAFLOW_SCHEDULER_SCHEMA").pipe(Config.withDefault("pandaflow_scheduler"))
})

/**
 * The store with its own PgClient (4 connections), from config: `PANDAFLOW_PG_URL`
 * (required) and `PANDAFLOW_SCHEDULER_SCHEMA` (default `pandaflow_scheduler`).
 */
export const layerConfig: Layer.Layer<RunStore, PostgresRunStoreError | ConfigError.ConfigError | SqlError> = Layer
  .unwrapEffect(
    Effect.map(config, ({ schema, url }) => layer({ schema }).pipe(Layer.provide(PgClient.layer({ url, maxConnections: 4 }))))
  )
