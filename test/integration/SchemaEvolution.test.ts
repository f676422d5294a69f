/**
 * Schema-driven tables on the REAL Postgres and Cassandra: the DDL derived from a schema
 * (as information_schema / system_schema report it), evolution (an optional field added
 * becomes a column; old rows read back without it), and refused changes (start-up fails
 * naming table, column and both types). Expected values written by hand.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Schema } from "effect"
import * as CassandraClient from "../../layers/CassandraClient.js"
import * as CassandraSink from "../../layers/CassandraSink.js"
import * as PostgresClient from "../../layers/PostgresClient.js"
import * as PostgresSink from "../../layers/PostgresSink.js"
import type { SinkError } from "../../src/RowSink.js"
import * as TableSchema from "../../src/TableSchema.js"
import { requireEnv } from "../support/env.js"

const suffix = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`
const keyspace = "pandaflow_test"

const Order = Schema.Struct({
  id: Schema.UUID,
  customer: Schema.String.annotations({ [TableSchema.ColumnType]: { postgres: "varchar(64)", cassandra: "ascii" } }),
  total_cents: Schema.Int,
  ratio: Schema.Number,
  paid: Schema.Boolean,
  placed_at: Schema.DateFromSelf,
  note: Schema.optional(Schema.String),
  lines: Schema.Array(Schema.Struct({ sku: Schema.String, qty: Schema.Int }))
})

const V1 = Schema.Struct({ id: Schema.UUID, name: Schema.String })
const V2 = Schema.Struct({ ...V1.fields, nickname: Schema.optional(Schema.String), visits: Schema.optional(Schema.Int) })
const Retyped = Schema.Struct({ id: Schema.UUID, name: Schema.Int })
const Required = Schema.Struct({ ...V1.fields, age: Schema.Int })

const old = [
  { id: "1c6b1c9e-0000-4000-8000-000000000001", name: "Ada" },
  { id: "1c6b1c9e-0000-4000-8000-000000000002", name: "Grace" }
]
const added = { id: "1c6b1c9e-0000-4000-8000-000000000003", name: "Linus", nickname: "torvalds", visits: 7 }

// A table that does not fit its schema is a `TableMismatch`, not a poison row's `Rejected`.
const expectMismatch = (
  result: Either.Either<unknown, SinkError | TableSchema.TableMismatch>,
  table: string,
  message: string
) => {
  expect(Either.isLeft(result), "expected start-up to fail").toBe(true)
  if (Either.isLeft(result)) {
    expect(result.left._tag, result.left.message).toBe("TableMismatch")
    expect(result.left).toBeInstanceOf(TableSchema.TableMismatch)
    if (result.left._tag === "TableMismatch") expect(result.left.table).toBe(table)
    expect(result.left.message).toBe(message)
  }
}

const pg = Layer.unwrapEffect(Effect.sync(() => (requireEnv("PANDAFLOW_PG_URL"), PostgresClient.layerConfig)))

describe("schema evolution: Postgres (real server)", () => {
  const columns = (table: string) =>
    Effect.flatMap(SqlClient, (sql) =>
      sql.unsafe<{ column_name: string; data_type: string; is_nullable: string; character_maximum_length: number | null }>(
        "SELECT column_name, data_type, is_nullable, character_maximum_length FROM information_schema.columns " +
          "WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        [table]
      ))
  const drop = (table: string) => Effect.flatMap(SqlClient, (sql) => sql.unsafe(`DROP TABLE IF EXISTS ${table}`))

  it.live("the table derived from a schema is what information_schema reports", () =>
    Effect.gen(function*() {
      const name = `evo_orders_${suffix}`
      yield* PostgresSink.make(TableSchema.make({ name, schema: Order, key: "id" }))
      expect(yield* columns(name)).toEqual([
        { column_name: "id", data_type: "uuid", is_nullable: "NO", character_maximum_length: null },
        { column_name: "customer", data_type: "character varying", is_nullable: "NO", character_maximum_length: 64 },
        { column_name: "total_cents", data_type: "bigint", is_nullable: "NO", character_maximum_length: null },
        { column_name: "ratio", data_type: "double precision", is_nullable: "NO", character_maximum_length: null },
        { column_name: "paid", data_type: "boolean", is_nullable: "NO", character_maximum_length: null },
        { column_name: "placed_at", data_type: "timestamp with time zone", is_nullable: "NO", character_maximum_length: null },
        { column_name: "note", data_type: "text", is_nullable: "YES", character_maximum_length: null },
        { column_name: "lines", data_type: "jsonb", is_nullable: "NO", character_maximum_length: null }
      ])
      const sql = yield* SqlClient
      const key = yield* sql.unsafe<{ column_name: string }>(
        "SELECT k.column_name FROM information_schema.table_constraints c JOIN information_schema.key_column_usage k " +
          "USING (constraint_schema, constraint_name) WHERE c.table_name = $1 AND c.constraint_type = 'PRIMARY KEY'",
        [name]
      )
      expect(key).toEqual([{ column_name: "id" }])
      // Starting again on the same table checks it and accepts it.
      yield* PostgresSink.make(TableSchema.make({ name, schema: Order, key: "id" }))
      yield* drop(name)
    }).pipe(Effect.provide(pg)))

  it.live("an optional field added to the schema becomes a nullable column; old rows read back without it", () =>
    Effect.gen(function*() {
      const name = `evo_people_${suffix}`
      const v1 = yield* PostgresSink.make(TableSchema.make({ name, schema: V1, key: "id" }))
      yield* v1.write(old)
      const v2 = yield* PostgresSink.make(TableSchema.make({ name, schema: V2, key: "id" }))
      expect((yield* columns(name)).map((c) => [c.column_name, c.data_type, c.is_nullable])).toEqual([
        ["id", "uuid", "NO"],
        ["name", "text", "NO"],
        ["nickname", "text", "YES"],
        ["visits", "bigint", "YES"]
      ])
      yield* v2.write([added])
      const back = yield* v2.scan
      expect(back).toStrictEqual([
        { id: "1c6b1c9e-0000-4000-8000-000000000001", name: "Ada" },
        { id: "1c6b1c9e-0000-4000-8000-000000000002", name: "Grace" },
        { id: "1c6b1c9e-0000-4000-8000-000000000003", name: "Linus", nickname: "torvalds", visits: 7 }
      ])
      // The old schema still reads the table: the new columns are simply not selected.
      expect((yield* v1.scan).map((r) => r.name)).toEqual(["Ada", "Grace", "Linus"])
      yield* drop(name)
    }).pipe(Effect.provide(pg)))

  it.live("a changed field type or a new required field fails start-up, naming table, column and both types", () =>
    Effect.gen(function*() {
      const name = `evo_refused_${suffix}`
      yield* PostgresSink.make(TableSchema.make({ name, schema: V1, key: "id" }))
      expectMismatch(
        yield* Effect.either(PostgresSink.make(TableSchema.make({ name, schema: Retyped, key: "id" }))),
        name,
        `table ${name}: column name is text in the database but the schema says bigint`
      )
      expectMismatch(
        yield* Effect.either(PostgresSink.make(TableSchema.make({ name, schema: Required, key: "id" }))),
        name,
        `table ${name}: column age is missing in the database but the schema requires it (bigint NOT NULL); ` +
          "make the field optional, or add the column with a default by hand"
      )
      yield* drop(name)
    }).pipe(Effect.provide(pg)))

  it.live("an existing table with compatible types (integer, timestamp, json, varchar) is accepted and round-trips", () =>
    Effect.gen(function*() {
      const name = `evo_compat_${suffix}`
      const sql = yield* SqlClient
      yield* sql.unsafe(
        `CREATE TABLE ${name} (id uuid PRIMARY KEY, name varchar(10) NOT NULL, n integer NOT NULL, ` +
          "at timestamp NOT NULL, doc json NOT NULL, extra text)"
      )
      const S = Schema.Struct({
        id: Schema.UUID,
        name: Schema.String,
        n: Schema.Int,
        at: Schema.DateFromSelf,
        doc: Schema.Struct({ a: Schema.Number })
      })
      const sink = yield* PostgresSink.make(TableSchema.make({ name, schema: S, key: "id" }))
      const row = { id: old[0]!.id, name: "short", n: 12, at: new Date("2024-02-29T23:59:58.123Z"), doc: { a: 1.5 } }
      yield* sink.write([row])
      expect(yield* sink.scan).toStrictEqual([row])
      yield* drop(name)
    }).pipe(Effect.provide(pg)))
})

const cassandraLayer = Layer.unwrapEffect(
  Effect.sync(() => (requireEnv("PANDAFLOW_CASSANDRA_CONTACT_POINTS"), CassandraClient.layerConfig))
)

describe("schema evolution: Cassandra (real server)", () => {
  const columns = (table: string) =>
    Effect.flatMap(CassandraClient.connected, ({ client }) =>
      Effect.promise(async () => {
        const result = await client.execute(
          "SELECT column_name, type, kind FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?",
          [keyspace, table],
          { prepare: true }
        )
        return result.rows
          .map((r) => [String(r.get("column_name")), String(r.get("type")), String(r.get("kind"))])
          .sort((a, b) => (a[0]! < b[0]! ? -1 : 1))
      }))
  const drop = (table: string) =>
    Effect.flatMap(CassandraClient.connected, ({ client }) =>
      Effect.promise(() => client.execute(`DROP TABLE IF EXISTS ${keyspace}.${table}`)))

  it.live("the table derived from a schema is what system_schema reports", () =>
    Effect.gen(function*() {
      const name = `evo_orders_${suffix}`
      yield* CassandraSink.make(TableSchema.make({ name, schema: Order, key: "id" }), { keyspace })
      expect(yield* columns(name)).toEqual([
        ["customer", "ascii", "regular"],
        ["id", "uuid", "partition_key"],
        ["lines", "text", "regular"],
        ["note", "text", "regular"],
        ["paid", "boolean", "regular"],
        ["placed_at", "timestamp", "regular"],
        ["ratio", "double", "regular"],
        ["total_cents", "bigint", "regular"]
      ])
      yield* CassandraSink.make(TableSchema.make({ name, schema: Order, key: "id" }), { keyspace })
      yield* drop(name)
    }).pipe(Effect.provide(cassandraLayer)))

  it.live("a field added to the schema becomes a column; old rows read back without it", () =>
    Effect.gen(function*() {
      const name = `evo_people_${suffix}`
      const v1 = yield* CassandraSink.make(TableSchema.make({ name, schema: V1, key: "id" }), { keyspace })
      yield* v1.write(old)
      const v2 = yield* CassandraSink.make(TableSchema.make({ name, schema: V2, key: "id" }), { keyspace })
      expect(yield* columns(name)).toEqual([
        ["id", "uuid", "partition_key"],
        ["name", "text", "regular"],
        ["nickname", "text", "regular"],
        ["visits", "bigint", "regular"]
      ])
      yield* v2.write([added])
      expect(yield* v2.scan).toStrictEqual([
        { id: "1c6b1c9e-0000-4000-8000-000000000001", name: "Ada" },
        { id: "1c6b1c9e-0000-4000-8000-000000000002", name: "Grace" },
        { id: "1c6b1c9e-0000-4000-8000-000000000003", name: "Linus", nickname: "torvalds", visits: 7 }
      ])
      yield* drop(name)
    }).pipe(Effect.provide(cassandraLayer)))

  it.live("a changed field type or a new required field fails start-up, naming keyspace.table, column and both types", () =>
    Effect.gen(function*() {
      const name = `evo_refused_${suffix}`
      const v1 = yield* CassandraSink.make(TableSchema.make({ name, schema: V1, key: "id" }), { keyspace })
      yield* v1.write(old)
      expectMismatch(
        yield* Effect.either(CassandraSink.make(TableSchema.make({ name, schema: Retyped, key: "id" }), { keyspace })),
        `${keyspace}.${name}`,
        `table ${keyspace}.${name}: column name is text in the database but the schema says bigint`
      )
      // As in Postgres: the stored rows have no age, so they would not read back as the schema says.
      expectMismatch(
        yield* Effect.either(CassandraSink.make(TableSchema.make({ name, schema: Required, key: "id" }), { keyspace })),
        `${keyspace}.${name}`,
        `table ${keyspace}.${name}: column age is missing in the database but the schema requires it (bigint NOT NULL); ` +
          "make the field optional, or add the column with a default by hand"
      )
      // Nothing was added: the table is as V1 left it.
      expect(yield* columns(name)).toEqual([["id", "uuid", "partition_key"], ["name", "text", "regular"]])
      yield* drop(name)
    }).pipe(Effect.provide(cassandraLayer)))
})
