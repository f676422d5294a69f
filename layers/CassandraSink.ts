/**
 * The Cassandra sink: writes `UserRow`s into the classic pipeline's table,
 * `spark_streams.created_users` (id uuid primary key and ten text columns), so tools
 * built for the classic pipeline keep reading it.
 *
 * The table holds only the classic columns; `scan` derives `email_domain` and
 * `registered_year` again from `email` and `registered_date`, the same way the row
 * transform did, so a row reads back equal to the one written.
 *
 * @since 0.1.0
 */
import cassandra from "cassandra-driver"
import { Effect, Schema } from "effect"
import { type RowSink, SinkError } from "../src/Sink.js"
import { classicColumns, emailDomain, registeredYear, UserRow } from "../src/UserRow.js"
import { CassandraClient, classify } from "./CassandraClient.js"

/** Options of the Cassandra sink. */
export interface Options {
  /** Shown in progress lines and errors. Default `cassandra`. */
  readonly name?: string | undefined
  /** Default: the client's keyspace (`PANDAFLOW_CASSANDRA_KEYSPACE`, `spark_streams`). */
  readonly keyspace?: string | undefined
  /** Default `created_users`, the classic pipeline's table. */
  readonly table?: string | undefined
  /** Replication factor if the keyspace has to be created (SimpleStrategy). Default 1. */
  readonly replicationFactor?: number | undefined
  /** Inserts in flight at once. Default 64. */
  readonly concurrency?: number | undefined
}

const identifier = /^[a-zA-Z_][a-zA-Z0-9_]{0,47}$/
const isUserRow = Schema.is(UserRow)


const text = (value: unknown): string => (value === null || value === undefined ? "" : String(value))

const fromRow = (row: cassandra.types.Row): UserRow => {
  const email = text(row.get("email"))
  const registeredDate = text(row.get("registered_date"))
  return {
    id: text(row.get("id")),
    first_name: text(row.get("first_name")),
    last_name: text(row.get("last_name")),
    gender: text(row.get("gender")),
    address: text(row.get("address")),
    post_code: text(row.get("post_code")),
    email,
    username: text(row.get("username")),
    registered_date: registeredDate,
    phone: text(row.get("phone")),
    picture: text(row.get("picture")),
    email_domain: emailDomain(email),
    registered_year: registeredYear(registeredDate)
  }
}

/**
 * Creates the keyspace and table if they are missing and returns the sink.
 *
 * Cassandra inserts are upserts, so `write` is idempotent; it is not atomic, but a batch
 * that failed half-way is simply written again by the retry. Rows the table would refuse
 * are caught before any is sent, so a `Rejected` batch writes nothing.
 */
export const make = (options: Options = {}): Effect.Effect<RowSink<UserRow>, SinkError, CassandraClient> =>
  Effect.gen(function*() {
    const { client, keyspace: defaultKeyspace } = yield* CassandraClient
    const name = options.name ?? "cassandra"
    const keyspace = options.keyspace ?? defaultKeyspace
    const table = options.table ?? "created_users"
    const concurrency = Math.max(1, options.concurrency ?? 64)
    const replicationFactor = Math.max(1, Math.trunc(options.replicationFactor ?? 1))
    for (const id of [keyspace, table]) {
      if (!identifier.test(id)) {
        return yield* new SinkError({ sink: name, reason: "Rejected", message: `${JSON.stringify(id)} is not a plain identifier` })
      }
    }
    const qualified = `${keyspace}.${table}`
    const run = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: (e) => classify(name, e) })

    yield* run(() =>
      client.execute(
        `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ` +
          `{'class': 'SimpleStrategy', 'replication_factor': ${replicationFactor}}`
      )
    )
    yield* run(() =>
      client.execute(
        `CREATE TABLE IF NOT EXISTS ${qualified} (` +
          classicColumns.map((c) => (c === "id" ? "id uuid PRIMARY KEY" : `${c} text`)).join(", ") +
          ")"
      )
    )

    const insert = `INSERT INTO ${qualified} (${classicColumns.join(", ")}) VALUES (${classicColumns.map(() => "?").join(", ")})`
    const select = `SELECT ${classicColumns.join(", ")} FROM ${qualified}`

    const write = (rows: ReadonlyArray<UserRow>): Effect.Effect<void, SinkError> =>
      Effect.suspend(() => {
        if (rows.length === 0) return Effect.void
        const bad = rows.findIndex((row) => !isUserRow(row))
        if (bad >= 0) {
          return new SinkError({
            sink: name,
            reason: "Rejected",
            message: `row ${bad} (id ${String(rows[bad]?.id)}) does not match the UserRow schema`
          })
        }
        // Concurrent inserts of one key would race: keep the last row a key.
        const byId = new Map<string, UserRow>()
        for (const row of rows) byId.set(row.id.toLowerCase(), row)
        const params = Array.from(byId.values(), (row) => classicColumns.map((c) => row[c]))
        return run(() =>
          cassandra.concurrent.executeConcurrent(client, insert, params, {
            concurrencyLevel: concurrency,
            raiseOnFirstError: true,
            collectResults: false
          })
        ).pipe(Effect.asVoid)
      })

    const scan: Effect.Effect<ReadonlyArray<UserRow>, SinkError> = run(async () => {
      const rows: Array<UserRow> = []
      // The result set is async-iterable and fetches the following pages as it goes.
      const result = await client.execute(select, [], { prepare: true, fetchSize: 5000 })
      for await (const row of result) rows.push(fromRow(row))
      // Token order is not id order: sort like the other sinks.
      return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    })

    return { name, write, scan }
  })
