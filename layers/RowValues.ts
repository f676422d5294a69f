/**
 * What every schema-driven sink agrees on about values: which rows a table refuses, how a
 * stored row reads back (a NULL of an optional field is an absent field, uuids are
 * lower-case, JSON is a copy) and the order `scan` returns rows in (by key).
 *
 * The memory double uses these to behave like the databases, and the real sinks to turn
 * what they read back into rows equal to the ones written.
 *
 * @since 0.2.0
 */
import { Either, ParseResult, Schema, SchemaAST } from "effect"
import type * as TableSchema from "../src/TableSchema.js"

/** A column plus how its NULL reads back. */
export interface Field {
  readonly column: TableSchema.Column
  /** `absent` for an optional field whose schema does not admit `null`; otherwise `null`. */
  readonly nullAs: "absent" | "null"
}

/** The fields of a table, in column order. */
export const fieldsOf = (table: TableSchema.Any): ReadonlyArray<Field> => {
  let ast = SchemaAST.typeAST(table.schema.ast)
  while (ast._tag === "Refinement") ast = ast.from
  const admitsNull = new Map<string, boolean>()
  if (ast._tag === "TypeLiteral") {
    for (const p of ast.propertySignatures) admitsNull.set(String(p.name), Schema.is(Schema.make(p.type))(null))
  }
  return table.columns.map((column) => ({
    column,
    nullAs: column.nullable && admitsNull.get(column.name) !== true ? "absent" : "null"
  }))
}

/**
 * Why a value cannot be stored in a column of its kind, or `undefined` if it can: the
 * checks both databases make whatever the schema says (a valid date, a 64-bit-safe
 * integer, no NUL character in text, JSON that serialises).
 */
export const valueProblem = (column: TableSchema.Column, value: unknown): string | undefined => {
  if (value === undefined || (value === null && column.kind !== "json")) {
    return column.nullable ? undefined : "is missing"
  }
  switch (column.kind) {
    case "text":
    case "uuid":
      return typeof value !== "string"
        ? `is not a string`
        : value.includes("\u0000")
        ? "contains a NUL character"
        : undefined
    case "integer":
      return typeof value === "number" && Number.isSafeInteger(value) ? undefined : `is not a safe integer: ${String(value)}`
    case "double":
      return typeof value === "number" ? undefined : "is not a number"
    case "boolean":
      return typeof value === "boolean" ? undefined : "is not a boolean"
    case "timestamp":
      return value instanceof Date && !Number.isNaN(value.getTime()) ? undefined : "is not a valid Date"
    case "json": {
      try {
        const text = JSON.stringify(value)
        return text === undefined ? "does not serialise to JSON" : text.includes("\\u0000") ? "contains a NUL character" : undefined
      } catch (e) {
        return `does not serialise to JSON: ${e instanceof Error ? e.message : String(e)}`
      }
    }
  }
}

/** A row's key for messages: `id "…"`. */
export const describeKey = (table: TableSchema.Any, row: unknown): string => {
  const record = typeof row === "object" && row !== null ? (row as Record<string, unknown>) : {}
  return table.key.map((k) => `${k} ${JSON.stringify(String(record[k]))}`).join(", ")
}

// The first field of a row its schema refuses, and why; only on the slow path (after
// `table.is` said no), so nothing is precomputed.
const failingField = (table: TableSchema.Any, row: unknown): string => {
  let ast = SchemaAST.typeAST(table.schema.ast)
  while (ast._tag === "Refinement") ast = ast.from
  const record = typeof row === "object" && row !== null ? (row as Record<PropertyKey, unknown>) : undefined
  if (record !== undefined && ast._tag === "TypeLiteral") {
    for (const p of ast.propertySignatures) {
      if (p.isOptional && !Object.prototype.hasOwnProperty.call(record, p.name)) continue
      const checked = ParseResult.validateEither(Schema.make(p.type))(record[p.name])
      if (Either.isLeft(checked)) {
        return `: field ${String(p.name)}: ${ParseResult.TreeFormatter.formatIssueSync(checked.left)}`
      }
    }
  }
  // Every field passes on its own: a check of the whole row (a filter on the struct) failed.
  const whole = ParseResult.validateEither(Schema.typeSchema(table.schema))(row)
  return Either.isLeft(whole) ? `: ${ParseResult.TreeFormatter.formatIssueSync(whole.left)}` : ""
}

/** How every sink words a row its schema refuses. */
const mismatchAt = <A>(table: TableSchema.TableSchema<A>, row: A, i: number): string =>
  `row ${i} (${describeKey(table, row)}) does not match the schema of table ${table.name}${failingField(table, row)}`

/**
 * The first row of a batch its schema rejects (`table.is`), naming the row's key and the
 * first failing field; `undefined` if every row passes. One pass of `table.is`.
 */
export const firstMismatch = <A>(table: TableSchema.TableSchema<A>, rows: ReadonlyArray<A>): string | undefined => {
  const is = table.is
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!
    if (!is(row)) return mismatchAt(table, row, i)
  }
  return undefined
}

/**
 * The first row of a batch the table refuses, with the reason: a row its schema rejects
 * (`table.is`, as `firstMismatch` words it) or a value no column of its kind can hold.
 */
export const firstRefused = <A>(
  table: TableSchema.TableSchema<A>,
  rows: ReadonlyArray<A>
): string | undefined => {
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!
    if (!table.is(row)) return mismatchAt(table, row, i)
    const record = row as Record<string, unknown>
    for (const column of table.columns) {
      const problem = valueProblem(column, record[column.name])
      if (problem !== undefined) return `row ${i} (${describeKey(table, row)}): column ${column.name} ${problem}`
    }
  }
  return undefined
}

/** Builds a row from stored values: a NULL becomes an absent field or `null`, as the field says. */
export const assemble = <A>(fields: ReadonlyArray<Field>, get: (field: Field) => unknown): A => {
  const row: Record<string, unknown> = {}
  for (const field of fields) {
    const value = get(field)
    if (value === null || value === undefined) {
      if (field.nullAs === "null") row[field.column.name] = null
    } else {
      row[field.column.name] = value
    }
  }
  return row as A
}

/** A row as the databases give it back: only the columns, uuids lower-cased, dates and JSON copied. */
export const stored = <A>(fields: ReadonlyArray<Field>, row: A): A => {
  const record = row as Record<string, unknown>
  return assemble<A>(fields, ({ column }) => {
    const value = record[column.name]
    if (value === null || value === undefined) return value
    switch (column.kind) {
      case "uuid":
        return typeof value === "string" ? value.toLowerCase() : value
      case "timestamp":
        return value instanceof Date ? new Date(value.getTime()) : value
      case "json":
        return JSON.parse(JSON.stringify(value))
      default:
        return value
    }
  })
}

const compareValues = (a: unknown, b: unknown): number => {
  const x = a instanceof Date ? a.getTime() : a
  const y = b instanceof Date ? b.getTime() : b
  if (typeof x === "number" && typeof y === "number") return x - y
  if (typeof x === "boolean" && typeof y === "boolean") return Number(x) - Number(y)
  const s = typeof x === "string" ? x : JSON.stringify(x) ?? ""
  const t = typeof y === "string" ? y : JSON.stringify(y) ?? ""
  return s < t ? -1 : s > t ? 1 : 0
}

/** Orders rows by their key columns, as `scan` returns them (text by code unit, like `COLLATE "C"`). */
export const byKey = (table: TableSchema.Any) => (a: unknown, b: unknown): number => {
  const x = a as Record<string, unknown>
  const y = b as Record<string, unknown>
  for (const k of table.key) {
    const order = compareValues(x[k], y[k])
    if (order !== 0) return order
  }
  return 0
}
