/**
 * `PgCopyText`: COPY text fields of every column kind. Escaping and refusals checked
 * against hand-written expectations; the whole encoder checked against real Postgres
 * (PGlite in process): random rows — text full of tabs, newlines, backslashes and `\N`
 * look-alikes, NULLs, JSON, extreme numbers and dates — COPY'd in, then SELECTed back,
 * must equal the input.
 */
import { PGlite } from "@electric-sql/pglite"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import fc from "fast-check"
import * as PgCopyText from "../../layers/PgCopyText.js"
import * as TableSql from "../../layers/TableSql.js"
import * as TableSchema from "../../src/TableSchema.js"

const Row = Schema.Struct({
  ord: Schema.Int,
  id: Schema.UUID,
  label: Schema.String,
  note: Schema.optional(Schema.String),
  count: Schema.Int,
  ratio: Schema.Number,
  score: Schema.optional(Schema.Number),
  active: Schema.Boolean,
  flag: Schema.optional(Schema.Boolean),
  seen_at: Schema.DateFromSelf,
  left_at: Schema.optional(Schema.DateFromSelf),
  doc: Schema.Unknown,
  extra: Schema.optional(Schema.Unknown),
  code: Schema.String.annotations({ [TableSchema.ColumnType]: { postgres: "varchar(300)" } })
})
type Row = typeof Row.Type
const table = TableSchema.make({ name: "copy_check", schema: Row, key: "ord" })
const column = (name: string) => table.columns.find((c) => c.name === name)!

describe("PgCopyText, by hand", () => {
  it("escapes backslash, tab, newline and carriage return, and nothing else", () => {
    expect(PgCopyText.escape("a\tb\\c\nd\re")).toBe("a\\tb\\\\c\\nd\\re")
    expect(PgCopyText.escape("\\N")).toBe("\\\\N")
    expect(PgCopyText.escape("\\.")).toBe("\\\\.")
    expect(PgCopyText.escape("plain é 😀 \b\f\v")).toBe("plain é 😀 \b\f\v")
  })

  it("writes each kind as Postgres reads it", () => {
    expect(PgCopyText.field(column("count"), -42)).toBe("-42")
    expect(PgCopyText.field(column("ratio"), 0.1)).toBe("0.1")
    expect(PgCopyText.field(column("ratio"), -0)).toBe("-0")
    expect(PgCopyText.field(column("ratio"), Number.NaN)).toBe("NaN")
    expect(PgCopyText.field(column("ratio"), -Infinity)).toBe("-Infinity")
    expect(PgCopyText.field(column("ratio"), 1e300)).toBe("1e+300")
    expect(PgCopyText.field(column("active"), false)).toBe("f")
    expect(PgCopyText.field(column("seen_at"), new Date(Date.UTC(2024, 1, 29, 23, 59, 58, 7)))).toBe("2024-02-29T23:59:58.007Z")
    expect(PgCopyText.field(column("doc"), { a: "x\ty", b: [1, null] })).toBe("{\"a\":\"x\\\\ty\",\"b\":[1,null]}")
    // A JSON null in a required json column is JSON `null`; in an optional one, SQL NULL.
    expect(PgCopyText.field(column("doc"), null)).toBe("null")
    expect(PgCopyText.field(column("extra"), null)).toBe("\\N")
    expect(PgCopyText.field(column("note"), undefined)).toBe("\\N")
  })

  it("refuses what no column of the kind can hold", () => {
    expect(PgCopyText.field(column("label"), undefined)).toBeUndefined()
    expect(PgCopyText.field(column("label"), null)).toBeUndefined()
    expect(PgCopyText.field(column("count"), 2 ** 53)).toBeUndefined()
    expect(PgCopyText.field(column("count"), 1.5)).toBeUndefined()
    expect(PgCopyText.field(column("seen_at"), new Date(Number.NaN))).toBeUndefined()
    expect(PgCopyText.field(column("doc"), 1n)).toBeUndefined()
    expect(PgCopyText.field(column("doc"), undefined)).toBeUndefined()
  })

  it("encodes rows as lines, and names the first row and column it refuses", () => {
    const two = [column("ord"), column("label")]
    expect(PgCopyText.encode(two, [{ ord: 1, label: "a\nb" }, { ord: 2, label: "" }])).toBe("1\ta\\nb\n2\t\n")
    expect(PgCopyText.encode(two, [{ ord: 1, label: "a" }, { ord: 2 }, { ord: 3 }])).toEqual({ row: 1, column: column("label") })
    expect(PgCopyText.encode(two, [{ ord: 1, label: "a" }, { ord: 2, label: "b" }], 1)).toBe("2\tb\n")
  })
})

describe("TableSql, the COPY path's statements", () => {
  const small = TableSchema.make({
    name: "orders",
    schema: Schema.Struct({ id: Schema.UUID, total_cents: Schema.Int, note: Schema.optional(Schema.String) }),
    key: "id"
  })
  const staging = TableSql.stagingTable(small)

  it("a temporary staging table of the schema's types, emptied at commit, named after table and columns", () => {
    expect(staging.name).toMatch(/^pandaflow_stage_orders_[0-9a-z]+$/)
    expect(staging.create).toBe(
      `CREATE TEMP TABLE IF NOT EXISTS ${staging.name} (id uuid, total_cents bigint, note text) ON COMMIT DELETE ROWS`
    )
    // Another schema of the same table gets a staging table of its own.
    const wider = TableSchema.make({
      name: "orders",
      schema: Schema.Struct({
        id: Schema.UUID,
        total_cents: Schema.Int,
        note: Schema.optional(Schema.String),
        extra: Schema.optional(Schema.Number)
      }),
      key: "id"
    })
    expect(TableSql.stagingTable(wider).name).not.toBe(staging.name)
    // Within Postgres's 63-byte identifiers, for the longest table name allowed (48).
    expect(TableSql.stagingTable(TableSchema.make({ name: "t".repeat(48), schema: Row, key: "ord" })).name.length).toBeLessThanOrEqual(63)
  })

  it("COPY with the columns named, then the same conflict clause as the unnest upsert", () => {
    expect(TableSql.copyStatement(small, "s")).toBe("COPY s (id, total_cents, note) FROM STDIN")
    expect(TableSql.mergeStatement(small, "s")).toBe(
      "INSERT INTO orders AS t (id, total_cents, note)\nSELECT id, total_cents, note FROM s\n" +
        "ON CONFLICT (id) DO UPDATE SET total_cents = EXCLUDED.total_cents, note = EXCLUDED.note\n" +
        "WHERE (t.*) IS DISTINCT FROM (EXCLUDED.*)"
    )
  })
})

// Strings built to hit every escape, plus arbitrary Unicode; no NUL (neither database stores it).
const nasty = fc.oneof(
  fc.string({ unit: fc.constantFrom("\\", "\t", "\n", "\r", "N", ".", "a", " ", "\"", "é", "😀", "\b", "\f", "\v") }),
  fc.string({ unit: "binary" })
).filter((s) => !s.includes("\u0000"))
const json = fc.jsonValue().filter((v) => !JSON.stringify(v).includes("\\u0000"))
const date = fc.date({ min: new Date("0001-01-01T00:00:00.000Z"), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true })
const row = (ord: number) =>
  fc.record({
    id: fc.uuid(),
    label: nasty,
    note: fc.option(nasty, { nil: undefined }),
    count: fc.maxSafeInteger(),
    ratio: fc.double(),
    score: fc.option(fc.double(), { nil: undefined }),
    active: fc.boolean(),
    flag: fc.option(fc.boolean(), { nil: undefined }),
    seen_at: date,
    left_at: fc.option(date, { nil: undefined }),
    doc: json,
    extra: fc.option(json, { nil: undefined }),
    code: nasty.filter((s) => [...s].length <= 300)
  }).map((r): Row => ({ ord, ...r }))
const rows = fc.integer({ min: 1, max: 12 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => row(i))))

// Written without the sink's decoders: what Postgres parsed, as plain values.
const readBack = `SELECT ord::int AS ord, id::text AS id, label, note, count::text AS count, ratio::text AS ratio, score::text AS score,
  active, flag, (extract(epoch FROM seen_at) * 1000)::text AS seen_at, (extract(epoch FROM left_at) * 1000)::text AS left_at,
  doc::text AS doc, extra::text AS extra, code FROM copy_check ORDER BY ord`
const num = (text: string) => (text === "NaN" ? Number.NaN : text === "Infinity" ? Infinity : text === "-Infinity" ? -Infinity : Number(text))
const asStored = (r: Row) => ({
  ord: r.ord,
  id: r.id.toLowerCase(),
  label: r.label,
  note: r.note ?? null,
  count: r.count + 0,
  ratio: r.ratio,
  score: r.score ?? null,
  active: r.active,
  flag: r.flag ?? null,
  seen_at: r.seen_at.getTime(),
  left_at: r.left_at?.getTime() ?? null,
  doc: JSON.parse(JSON.stringify(r.doc)),
  extra: r.extra === undefined ? null : JSON.parse(JSON.stringify(r.extra)),
  code: r.code
})

describe("PgCopyText against Postgres (PGlite)", () => {
  let db: PGlite
  beforeAll(async () => {
    db = await PGlite.create()
    await db.exec(TableSql.createTableStatement(table))
  }, 60_000)
  afterAll(async () => {
    await db?.close()
  })

  it("COPY of the encoded rows, then SELECT, gives the rows back", async () => {
    await fc.assert(
      fc.asyncProperty(rows, async (input) => {
        const text = PgCopyText.encode(table.columns, input)
        if (typeof text !== "string") throw new Error(`refused ${JSON.stringify(text)}`)
        await db.exec("TRUNCATE copy_check")
        await db.query(TableSql.copyStatement(table, "copy_check").replace("STDIN", "'/dev/blob'"), [], { blob: new Blob([text]) })
        const stored = (await db.query<Record<string, unknown>>(readBack)).rows.map((r) => ({
          ...r,
          count: Number(r.count),
          ratio: num(String(r.ratio)),
          score: r.score === null ? null : num(String(r.score)),
          seen_at: Number(r.seen_at),
          left_at: r.left_at === null ? null : Number(r.left_at),
          doc: JSON.parse(String(r.doc)),
          extra: r.extra === null ? null : JSON.parse(String(r.extra))
        }))
        expect(stored).toStrictEqual(input.map(asStored))
      }),
      { numRuns: 150 }
    )
  }, 60_000)
})
