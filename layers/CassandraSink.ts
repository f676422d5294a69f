/**
 * The Cassandra sink: writes the rows of any `TableSchema` into `keyspace.table` with a
 * prepared insert, in unlogged batches of rows one replica set owns (`CassandraBatches`:
 * 32 rows or 24 KiB a batch, 16 batches in flight a write by default), or one insert a
 * statement with `batchRows: 1`.
 *
 * At start-up the keyspace and table are created if missing, or the table is checked
 * against the schema (`system_schema.columns`): an optional column the schema gained is
 * added; a column of an incompatible type, a new required column or another key fails
 * with `TableMismatch`, naming keyspace.table, the column and both types. The DDL and the
 * check are in `TableCql`.
 *
 * For the classic pipeline's `spark_streams.created_users`, use the `ClassicRow` schema.
 *
 * @since 0.1.0
 */
import cassandra from "cassandra-driver"
import { Effect } from "effect"
import * as RowSink from "../src/RowSink.js"
import { SinkError } from "../src/RowSink.js"
import * as TableSchema from "../src/TableSchema.js"
import * as CassandraBatches from "./CassandraBatches.js"
import { CassandraClient, connected, isRetryable } from "./CassandraClient.js"
import * as RowValues from "./RowValues.js"
import * as TableCql from "./TableCql.js"

/** Options of the Cassandra sink. */
export interface Options {
  /** Shown in progress lines and errors. Default `cassandra`. */
  readonly sinkName?: string | undefined
  /** Default: the client's keyspace (`PANDAFLOW_CASSANDRA_KEYSPACE`, `spark_streams`). */
  readonly keyspace?: string | undefined
  /** Replication factor if the keyspace has to be created (SimpleStrategy). Default 1. */
  readonly replicationFactor?: number | undefined
  /**
   * Rows an unlogged batch at most (default 32; 1 sends one prepared insert a row). Only
   * rows of partitions with the same replicas share a batch. Measured on the local node,
   * 50,000 rows: 32-row batches ~25,500 rows/s, single inserts ~16,000.
   */
  readonly batchRows?: number | undefined
  /**
   * Bytes of values a batch at most (default 24 KiB: under half of Cassandra's default
   * `batch_size_fail_threshold`, 50 KiB, since a mutation weighs more than its values).
   * Cassandra logs a warning for batches past `batch_size_warn_threshold` (5 KiB by
   * default): raise that threshold, or set `batchRows: 1`.
   */
  readonly batchBytes?: number | undefined
  /**
   * Statements (batches, or inserts with `batchRows: 1`) in flight at once, a write.
   * Default 16 batches (512 rows), or 128 single inserts: both tuned by measurement in
   * `pnpm bench` on 2 cores.
   */
  readonly concurrency?: number | undefined
}

const identifier = /^[a-z_][a-z0-9_]{0,47}$/

/** Maps a `cassandra-driver` failure of a statement: `Unavailable` when it may heal by itself, else `Rejected`. */
export const classify = (sink: string, error: unknown): SinkError =>
  new SinkError({
    sink,
    reason: isRetryable(error) ? "Unavailable" : "Rejected",
    message: error instanceof Error ? error.message : String(error),
    cause: error
  })

// Values as the driver takes them (it encodes a number for bigint and int alike).
const encode = (column: TableSchema.Column, value: unknown): unknown => {
  if (value === undefined || (value === null && (column.kind !== "json" || column.nullable))) return null
  return column.kind === "json" && column.override.cassandra === undefined ? JSON.stringify(value) : value
}

// Values as the driver returns them: Long for bigint, Uuid for uuid, JSON as text.
const decode = (column: TableSchema.Column, value: unknown): unknown => {
  if (value === null || value === undefined) return value
  switch (column.kind) {
    case "integer":
      return cassandra.types.Long.isLong(value) ? value.toNumber() : Number(value)
    case "uuid":
      return String(value)
    case "json":
      return column.override.cassandra === undefined ? JSON.parse(String(value)) : value
    default:
      return value
  }
}

/**
 * Creates the keyspace and table if they are missing, or checks the table against the
 * schema, and returns the sink. Fails `Rejected` if Cassandra is off (`table(…).build`
 * returns `RowSink.off` instead), `TableMismatch` if the table does not fit the schema.
 *
 * Cassandra inserts are upserts, so `write` is idempotent; it is not atomic. Rows the
 * table would refuse are caught before any is sent (`table.is` and the kind checks of
 * `RowValues`), so a batch with a bad row writes nothing. If the server still refuses a
 * row mid-batch, the inserts already made stay: they are upserts of rows of the same
 * batch, harmless, because the pipeline bisects the `Rejected` batch and writes the
 * accepted rows again.
 */
export const make = <A>(
  table: TableSchema.TableSchema<A>,
  options: Options = {}
): Effect.Effect<RowSink.ReadableSink<A>, SinkError | TableSchema.TableMismatch, CassandraClient> =>
  Effect.gen(function*() {
    const name = options.sinkName ?? "cassandra"
    const { client, keyspace: defaultKeyspace } = yield* Effect.mapError(connected, (e) =>
      new SinkError({ sink: name, reason: e.reason === "Unavailable" ? "Unavailable" : "Rejected", message: e.message, cause: e }))
    const keyspace = options.keyspace ?? defaultKeyspace
    const limits: CassandraBatches.Limits = {
      rows: Math.max(1, Math.trunc(options.batchRows ?? 32)),
      bytes: Math.max(1, options.batchBytes ?? 24 * 1024)
    }
    const concurrency = Math.max(1, options.concurrency ?? (limits.rows > 1 ? 16 : 128))
    const replicationFactor = Math.max(1, Math.trunc(options.replicationFactor ?? 1))
    if (!identifier.test(keyspace)) {
      return yield* new SinkError({ sink: name, reason: "Rejected", message: `keyspace ${JSON.stringify(keyspace)} is not a plain lower-case identifier` })
    }
    const run = <R>(f: () => Promise<R>) => Effect.tryPromise({ try: f, catch: (e) => classify(name, e) })

    yield* run(() =>
      client.execute(
        `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ` +
          `{'class': 'SimpleStrategy', 'replication_factor': ${replicationFactor}}`
      )
    )
    yield* run(() => client.execute(TableCql.createTableStatement(keyspace, table)))
    const existing = yield* run(async () => {
      const result = await client.execute(TableCql.columnsQuery, [keyspace, table.name], { prepare: true })
      return result.rows.map((r): TableCql.ExistingColumn => ({
        name: String(r.get("column_name")),
        type: String(r.get("type")),
        kind: String(r.get("kind"))
      }))
    })
    const { add, problems } = TableCql.plan(keyspace, table, existing)
    if (problems.length > 0) {
      return yield* new TableSchema.TableMismatch({ table: `${keyspace}.${table.name}`, message: problems.join("; ") })
    }
    for (const column of add) yield* run(() => client.execute(TableCql.addColumnStatement(keyspace, table, column)))

    const insert = TableCql.insertStatement(keyspace, table)
    const replicasOf = replicaGrouping(client, keyspace, table, existing)
    const select = TableCql.selectStatement(keyspace, table)
    const fields = RowValues.fieldsOf(table)
    const order = RowValues.byKey(table)

    const write = (rows: ReadonlyArray<A>): Effect.Effect<void, SinkError> =>
      Effect.suspend(() => {
        if (rows.length === 0) return Effect.void
        const refused = RowValues.firstRefused(table, rows)
        if (refused !== undefined) return new SinkError({ sink: name, reason: "Rejected", message: refused })
        // Concurrent inserts of one key would race: keep the last row a key. An absent
        // value is sent as null (not unset), so an upsert clears what the row no longer has.
        const params = TableSchema.lastPerKey(rows, table.keyOf).map((row) => {
          const record = row as Record<string, unknown>
          return table.columns.map((c) => encode(c, record[c.name]))
        })
        if (limits.rows === 1) {
          return run(() =>
            cassandra.concurrent.executeConcurrent(client, insert, params, {
              concurrencyLevel: concurrency,
              raiseOnFirstError: true,
              collectResults: false
            })
          ).pipe(Effect.asVoid)
        }
        // One replica set is a single node's whole ring: no grouping to compute.
        const batches = CassandraBatches.group(params, client.hosts.length > 1 ? replicasOf : undefined, limits)
        return Effect.forEach(batches, (batch) =>
          run(() =>
            batch.length === 1
              ? client.execute(insert, batch[0], { prepare: true })
              : client.batch(batch.map((p) => ({ query: insert, params: p })), { prepare: true, logged: false })
          ), { concurrency, discard: true })
      })

    const scan: Effect.Effect<ReadonlyArray<A>, SinkError> = run(async () => {
      const out: Array<A> = []
      // The result set is async-iterable and fetches the following pages as it goes.
      const result = await client.execute(select, [], { prepare: true, fetchSize: 5000 })
      for await (const row of result) {
        out.push(RowValues.assemble<A>(fields, ({ column }) => {
          const raw: unknown = row.get(column.name)
          return decode(column, raw)
        }))
      }
      // Token order is not key order: sort like the other sinks.
      return out.sort(order)
    })

    return { name, key: table.keyOf, write, scan }
  })

// The replicas of a row's partition, from the key columns' types as the table has them
// (an existing table may hold a key as `int` where the schema says bigint); "" when a key
// value cannot be serialised, so such rows batch together and their coordinator forwards.
const replicaGrouping = (
  client: cassandra.Client,
  keyspace: string,
  table: TableSchema.Any,
  existing: ReadonlyArray<TableCql.ExistingColumn>
): (row: CassandraBatches.Params) => string => {
  const keys = table.key.map((name) => ({
    index: table.columns.findIndex((c) => c.name === name),
    type: existing.find((c) => c.name === name)?.type ?? TableCql.typeOf(table.columns.find((c) => c.name === name)!)
  }))
  return (row) => {
    const key = CassandraBatches.routingKey(keys.map((k) => CassandraBatches.serialise(k.type, row[k.index])))
    if (key === undefined) return ""
    return client.metadata.getReplicas(keyspace, key).map((h) => h.address).sort().join(",")
  }
}

/**
 * A Cassandra sink of a table described by a schema, as a pipeline lists it:
 * `CassandraSink.table({ name: "created_users", schema: ClassicRow, key: "id" })`. When
 * the `CassandraClient` is off (`CassandraClient.layerOff`), it builds as `RowSink.off`.
 * Throws `TableSchemaError` for a schema that cannot be a table.
 */
export const table = <A, I>(
  options: TableSchema.Options<A, I> & Options
): RowSink.Definition<A, SinkError | TableSchema.TableMismatch, CassandraClient> & { readonly table: TableSchema.TableSchema<A> } => {
  const described = TableSchema.make(options)
  const name = options.sinkName ?? "cassandra"
  const sinkOptions: Options = {
    sinkName: name,
    keyspace: options.keyspace,
    replicationFactor: options.replicationFactor,
    batchRows: options.batchRows,
    batchBytes: options.batchBytes,
    concurrency: options.concurrency
  }
  type Built = Effect.Effect<RowSink.RowSink<A> | RowSink.Off, SinkError | TableSchema.TableMismatch, CassandraClient>
  const build: Built = Effect.flatMap(
    CassandraClient,
    (client): Built =>
      client._tag === "Off" ? Effect.succeed(RowSink.off(name, client.reason)) : make(described, sinkOptions)
  )
  return { name, table: described, build }
}
