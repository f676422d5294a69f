/**
 * `TableSchema`: the columns derived from a row schema (kind, nullable, override), the
 * errors for schemas that cannot be tables, keys; and the Postgres and Cassandra DDL and
 * start-up checks derived from it (pure: `TableSql`, `TableCql`). Expected values by hand.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as TableCql from "../../layers/TableCql.js"
import * as TableSql from "../../layers/TableSql.js"
import { ClassicRow, UserRow } from "../../examples/randomuser/UserRow.js"
import * as TableSchema from "../../src/TableSchema.js"

const none = {}

const Kinds = Schema.Struct({
  id: Schema.UUID,
  name: Schema.String,
  total_cents: Schema.Int,
  ratio: Schema.Number,
  active: Schema.Boolean,
  seen_at: Schema.DateFromSelf,
  created_at: Schema.Date,
  status: Schema.Literal("new", "paid"),
  tags: Schema.Array(Schema.String),
  address: Schema.Struct({ city: Schema.String }),
  note: Schema.optional(Schema.String),
  score: Schema.NullOr(Schema.Number),
  code: Schema.String.annotations({ [TableSchema.ColumnType]: { postgres: "varchar(64)", cassandra: "ascii" } })
})

const kinds = TableSchema.make({ name: "orders", schema: Kinds, key: "id" })

const expectError = (f: () => unknown, message: string) => {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(TableSchema.TableSchemaError)
    expect((e as TableSchema.TableSchemaError).message).toBe(message)
    return
  }
  expect.fail("expected a TableSchemaError")
}

describe("TableSchema.make", () => {
  it("derives a column of each kind, in field order", () => {
    expect(kinds.columns).toEqual([
      { name: "id", kind: "uuid", nullable: false, override: none },
      { name: "name", kind: "text", nullable: false, override: none },
      { name: "total_cents", kind: "integer", nullable: false, override: none },
      { name: "ratio", kind: "double", nullable: false, override: none },
      { name: "active", kind: "boolean", nullable: false, override: none },
      { name: "seen_at", kind: "timestamp", nullable: false, override: none },
      { name: "created_at", kind: "timestamp", nullable: false, override: none },
      { name: "status", kind: "text", nullable: false, override: none },
      { name: "tags", kind: "json", nullable: false, override: none },
      { name: "address", kind: "json", nullable: false, override: none },
      { name: "note", kind: "text", nullable: true, override: none },
      { name: "score", kind: "double", nullable: true, override: none },
      { name: "code", kind: "text", nullable: false, override: { postgres: "varchar(64)", cassandra: "ascii" } }
    ])
    expect(kinds.key).toEqual(["id"])
    expect(kinds.name).toBe("orders")
  })

  it("reads the reference UserRow and ClassicRow", () => {
    const users = TableSchema.make({ name: "users", schema: UserRow, key: "id" })
    expect(users.columns.map((c) => `${c.name}:${c.kind}`)).toEqual([
      "id:uuid", "first_name:text", "last_name:text", "gender:text", "address:text", "post_code:text", "email:text",
      "username:text", "registered_date:text", "phone:text", "picture:text", "email_domain:text", "registered_year:integer"
    ])
    expect(users.columns.every((c) => !c.nullable)).toBe(true)
    const classic = TableSchema.make({ name: "created_users", schema: ClassicRow, key: "id" })
    expect(classic.columns.map((c) => c.name)).toEqual([
      "id", "first_name", "last_name", "gender", "address", "post_code", "email", "username", "registered_date", "phone", "picture"
    ])
  })

  it("optional and null-admitting fields are nullable columns", () => {
    const t = TableSchema.make({
      name: "t",
      schema: Schema.Struct({
        id: Schema.Int,
        a: Schema.optional(Schema.Int),
        b: Schema.NullOr(Schema.Boolean),
        c: Schema.optionalWith(Schema.String, { exact: true }),
        d: Schema.UndefinedOr(Schema.DateFromSelf)
      }),
      key: "id"
    })
    expect(t.columns.map((c) => [c.name, c.kind, c.nullable])).toEqual([
      ["id", "integer", false],
      ["a", "integer", true],
      ["b", "boolean", true],
      ["c", "text", true],
      ["d", "timestamp", true]
    ])
  })

  it("refuses schemas that cannot be tables, naming the table and field", () => {
    expectError(
      () => TableSchema.make({ name: "t", schema: Schema.String, key: [] as ReadonlyArray<never> }),
      "table t: the row schema must be a Schema.Struct, got StringKeyword"
    )
    const S = Schema.Struct({ id: Schema.String, note: Schema.optional(Schema.String) })
    expectError(
      () => TableSchema.make({ name: "t", schema: S, key: "nope" as "id" }),
      "table t: key column nope is not a field of the schema"
    )
    expectError(() => TableSchema.make({ name: "t", schema: S, key: "note" }), "table t: key column note is optional or nullable")
    expectError(() => TableSchema.make({ name: "t", schema: S, key: [] }), "table t: the key needs at least one column")
    expectError(
      () => TableSchema.make({ name: "Users", schema: S, key: "id" }),
      "table name \"Users\" is not a plain lower-case identifier (a-z, 0-9, _)"
    )
    expectError(
      () => TableSchema.make({ name: "t", schema: Schema.Struct({ id: Schema.String, firstName: Schema.String }), key: "id" }),
      "table t: column \"firstName\" is not a plain lower-case identifier"
    )
  })

  it("refuses table and column names reserved in PostgreSQL or CQL, suggesting another name", () => {
    const S = Schema.Struct({ id: Schema.String })
    expectError(
      () => TableSchema.make({ name: "order", schema: S, key: "id" }),
      "table name \"order\" is a reserved word in PostgreSQL and CQL; choose another name, e.g. \"order_\" or \"orders\""
    )
    expectError(
      () => TableSchema.make({ name: "user", schema: S, key: "id" }),
      "table name \"user\" is a reserved word in PostgreSQL; choose another name, e.g. \"user_\" or \"users\""
    )
    expectError(
      () => TableSchema.make({ name: "orders", schema: Schema.Struct({ id: Schema.String, user: Schema.String }), key: "id" }),
      "table orders: column \"user\" is a reserved word in PostgreSQL; rename the field, e.g. \"user_\" or \"users\""
    )
    // CQL only (PostgreSQL accepts these), PostgreSQL only (a "can be function or type" word).
    expectError(
      () => TableSchema.make({ name: "t", schema: Schema.Struct({ id: Schema.String, token: Schema.String }), key: "id" }),
      "table t: column \"token\" is a reserved word in CQL; rename the field, e.g. \"token_\" or \"tokens\""
    )
    expectError(
      () => TableSchema.make({ name: "t", schema: Schema.Struct({ id: Schema.String, left: Schema.String }), key: "id" }),
      "table t: column \"left\" is a reserved word in PostgreSQL; rename the field, e.g. \"left_\" or \"lefts\""
    )
    // Both lists as published: PostgreSQL 15 has 100 (reserved + can be function or type), CQL 57.
    expect(TableSchema.reservedWords.postgres.size).toBe(100)
    expect(TableSchema.reservedWords.cql.size).toBe(57)
    for (const word of ["select", "table", "limit", "offset", "check", "default", "end", "is", "verbose"]) {
      expect(TableSchema.reservedIn(word), word).toContain("PostgreSQL")
    }
    for (const word of ["keyspace", "token", "nan", "infinity", "materialized", "norecursive", "columnfamily"]) {
      expect(TableSchema.reservedIn(word), word).toBe("CQL")
    }
    // Key words that are not reserved in either stay usable.
    for (const word of ["id", "key", "name", "count", "value", "date", "text", "type", "status", "users", "at", "line"]) {
      expect(TableSchema.reservedIn(word), word).toBeUndefined()
    }
    expect(TableSchema.make({ name: "orders", schema: Schema.Struct({ id: Schema.String, count: Schema.Int }), key: "id" }).name)
      .toBe("orders")
  })

  it("any int-refined number is an integer column, not only Schema.Int", () => {
    const t = TableSchema.make({
      name: "t",
      schema: Schema.Struct({
        id: Schema.Number.pipe(Schema.int()),
        a: Schema.Number.pipe(Schema.int(), Schema.positive()),
        b: Schema.Int.pipe(Schema.between(1, 9)),
        c: Schema.NonNegativeInt,
        d: Schema.optional(Schema.Number.pipe(Schema.int())),
        e: Schema.NumberFromString.pipe(Schema.int()),
        f: Schema.Number.pipe(Schema.positive())
      }),
      key: "id"
    })
    expect(t.columns.map((c) => [c.name, c.kind, c.nullable])).toEqual([
      ["id", "integer", false],
      ["a", "integer", false],
      ["b", "integer", false],
      ["c", "integer", false],
      ["d", "integer", true],
      ["e", "integer", false],
      ["f", "double", false]
    ])
  })

  it("refuses a declared type it cannot store (DateTimeUtc, Option…) unless the field has a ColumnType", () => {
    expectError(
      () => TableSchema.make({ name: "t", schema: Schema.Struct({ id: Schema.String, at: Schema.DateTimeUtc }), key: "id" }),
      "table t: column at: type DateTimeUtc cannot be stored; use Schema.Date / Schema.DateFromSelf for a point in time, " +
        "or annotate the field with a ColumnType to store it as JSON"
    )
    expectError(
      () => TableSchema.make({ name: "t", schema: Schema.Struct({ id: Schema.String, at: Schema.DateTimeUtcFromSelf }), key: "id" }),
      "table t: column at: type DateTimeUtcFromSelf cannot be stored; use Schema.Date / Schema.DateFromSelf for a point in time, " +
        "or annotate the field with a ColumnType to store it as JSON"
    )
    expectError(
      () =>
        TableSchema.make({
          name: "t",
          schema: Schema.Struct({ id: Schema.String, at: Schema.NullOr(Schema.OptionFromSelf(Schema.String)) }),
          key: "id"
        }),
      "table t: column at: type Option<string> cannot be stored; use Schema.Date / Schema.DateFromSelf for a point in time, " +
        "or annotate the field with a ColumnType to store it as JSON"
    )
    const override = { postgres: "jsonb" }
    const t = TableSchema.make({
      name: "t",
      schema: Schema.Struct({
        id: Schema.String,
        at: Schema.DateTimeUtc.annotations({ [TableSchema.ColumnType]: override }),
        was: Schema.DateTimeUtcFromSelf.annotations({ [TableSchema.ColumnType]: override }),
        // The annotation still counts under a refinement added after it.
        code: Schema.String.annotations({ [TableSchema.ColumnType]: { postgres: "varchar(3)" } }).pipe(Schema.maxLength(3))
      }),
      key: "id"
    })
    expect(t.columns.map((c) => [c.name, c.kind, c.nullable, c.override])).toEqual([
      ["id", "text", false, {}],
      ["at", "json", false, override],
      ["was", "json", false, override],
      ["code", "text", false, { postgres: "varchar(3)" }]
    ])
  })

  it("keyOf lower-cases uuids and joins composite keys; is checks rows; lastPerKey keeps the latest", () => {
    const row = { id: "F0F8FAD5-D9CB-469F-A165-70867728950E", name: "x" }
    const t = TableSchema.make({ name: "t", schema: Schema.Struct({ id: Schema.UUID, name: Schema.String }), key: "id" })
    expect(t.keyOf(row)).toBe("f0f8fad5-d9cb-469f-a165-70867728950e")
    expect(t.is(row)).toBe(true)
    expect(t.is({ id: "not-a-uuid", name: "x" })).toBe(false)
    const c = TableSchema.make({ name: "c", schema: Schema.Struct({ a: Schema.String, b: Schema.Int }), key: ["a", "b"] })
    expect(c.keyOf({ a: "x", b: 1 })).toBe("x\u00001")
    const rows = [{ id: "A", v: 1 }, { id: "B", v: 2 }, { id: "A", v: 3 }]
    expect(TableSchema.lastPerKey(rows, (r) => r.id)).toEqual([{ id: "A", v: 3 }, { id: "B", v: 2 }])
  })
})

describe("DDL derived from a TableSchema", () => {
  const small = TableSchema.make({
    name: "orders",
    schema: Schema.Struct({ id: Schema.UUID, total_cents: Schema.Int, note: Schema.optional(Schema.String) }),
    key: "id"
  })

  it("Postgres: types, NOT NULL unless nullable, the key as primary key, the unnest upsert", () => {
    expect(TableSql.createTableStatement(kinds)).toBe(
      "CREATE TABLE IF NOT EXISTS orders (\n  id uuid NOT NULL,\n  name text NOT NULL,\n  total_cents bigint NOT NULL,\n" +
        "  ratio double precision NOT NULL,\n  active boolean NOT NULL,\n  seen_at timestamptz NOT NULL,\n" +
        "  created_at timestamptz NOT NULL,\n  status text NOT NULL,\n  tags jsonb NOT NULL,\n  address jsonb NOT NULL,\n" +
        "  note text,\n  score double precision,\n  code varchar(64) NOT NULL,\n  PRIMARY KEY (id)\n)"
    )
    expect(TableSql.upsertStatement(small)).toBe(
      "INSERT INTO orders AS t (id, total_cents, note)\n" +
        "SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[])\n" +
        "ON CONFLICT (id) DO UPDATE SET total_cents = EXCLUDED.total_cents, note = EXCLUDED.note\n" +
        "WHERE (t.*) IS DISTINCT FROM (EXCLUDED.*)"
    )
  })

  it("Cassandra: CQL types, json as text, the key as partition key", () => {
    expect(TableCql.createTableStatement("ks", kinds)).toBe(
      "CREATE TABLE IF NOT EXISTS ks.orders (id uuid, name text, total_cents bigint, ratio double, active boolean, " +
        "seen_at timestamp, created_at timestamp, status text, tags text, address text, note text, score double, " +
        "code ascii, PRIMARY KEY (id))"
    )
  })

  it("Postgres check: adds an optional column, refuses a missing required one and a changed type", () => {
    const column = (name: string, type: string, nullable = false) => ({ name, type, nullable, has_default: false })
    const ok = TableSql.plan(small, [column("id", "uuid"), column("total_cents", "integer")], ["id"], new Map())
    expect(ok.problems).toEqual([])
    expect(ok.add.map((c) => c.name)).toEqual(["note"])
    const bad = TableSql.plan(small, [column("id", "uuid"), column("note", "text", true)], ["id"], new Map())
    expect(bad.problems).toEqual([
      "table orders: column total_cents is missing in the database but the schema requires it (bigint NOT NULL); " +
      "make the field optional, or add the column with a default by hand"
    ])
    const changed = TableSql.plan(small, [column("id", "uuid"), column("total_cents", "text")], ["id"], new Map())
    expect(changed.problems).toEqual(["table orders: column total_cents is text in the database but the schema says bigint"])
  })

  it("Cassandra check: adds a missing column, refuses a changed type naming keyspace.table", () => {
    const plan = TableCql.plan("ks", small, [
      { name: "id", type: "uuid", kind: "partition_key" },
      { name: "total_cents", type: "text", kind: "regular" }
    ])
    expect(plan.add.map((c) => c.name)).toEqual(["note"])
    expect(plan.problems).toEqual(["table ks.orders: column total_cents is text in the database but the schema says bigint"])
  })

  it("Cassandra check: refuses a new required field with Postgres's wording, adds only optional ones", () => {
    const plan = TableCql.plan("ks", small, [{ name: "id", type: "uuid", kind: "partition_key" }])
    expect(plan.add.map((c) => c.name)).toEqual(["note"])
    expect(plan.problems).toEqual([
      "table ks.orders: column total_cents is missing in the database but the schema requires it (bigint NOT NULL); " +
      "make the field optional, or add the column with a default by hand"
    ])
    // The same wording as TableSql's, but for the keyspace-qualified name.
    const pg = TableSql.plan(small, [{ name: "id", type: "uuid", nullable: false, has_default: false }], ["id"], new Map())
    expect(plan.problems[0]).toBe(pg.problems[0]!.replace("table orders:", "table ks.orders:"))
  })
})
