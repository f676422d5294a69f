/**
 * Rows of a `TableSchema` as the data of `COPY … FROM STDIN` in Postgres's text format:
 * one line a row, fields separated by tabs, `\N` for NULL, and a backslash before every
 * backslash, tab, newline and carriage return inside a value (so a value can never end a
 * field or a row early, nor make the `\.` end marker).
 *
 * Each kind is written the way Postgres's own input functions read it, and the same way
 * the `unnest` arrays of `TableSql.encodeColumn` carry it, so both write paths store the
 * same values: numbers in JavaScript's shortest round-trip form (`NaN`, `Infinity` as
 * Postgres spells them), booleans `t`/`f`, dates as ISO-8601 UTC, JSON as
 * `JSON.stringify` gives it. The one deliberate difference: a double `-0` keeps its sign.
 *
 * A value no column of its kind can hold is refused before anything is sent, with the
 * row and column, so the encoding never throws.
 *
 * @since 0.3.0
 */
import type * as TableSchema from "../src/TableSchema.js"

/** The field that stands for SQL NULL. */
export const nullField = "\\N"

const special = /[\\\t\n\r]/
const specials = /[\\\t\n\r]/g
const replacement = (c: string): string => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r")

/** A string as one text-format field: backslash, tab, newline and carriage return escaped. */
export const escape = (s: string): string => (special.test(s) ? s.replace(specials, replacement) : s)

const bad: unique symbol = Symbol("bad")

// One field of each kind, or `bad` for a value no column of the kind can hold.
const fields: Record<TableSchema.ColumnKind, (value: unknown) => string | typeof bad> = {
  text: (v) => (typeof v === "string" ? escape(v) : bad),
  uuid: (v) => (typeof v === "string" ? escape(v) : bad),
  integer: (v) => (typeof v === "number" && Number.isSafeInteger(v) ? String(v) : bad),
  double: (v) => (typeof v === "number" ? (Object.is(v, -0) ? "-0" : String(v)) : bad),
  boolean: (v) => (typeof v === "boolean" ? (v ? "t" : "f") : bad),
  timestamp: (v) => (v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString() : bad),
  json: (v) => {
    try {
      const text = JSON.stringify(v)
      return text === undefined ? bad : escape(text)
    } catch {
      return bad
    }
  }
}

/**
 * One value as a field of its column: `\N` for an absent value of an optional column,
 * `undefined` if the column cannot hold it (a missing required value, a wrong type). As
 * in `TableSql.encodeColumn`, a `null` in a required json column is the JSON `null`.
 */
export const field = (column: TableSchema.Column, value: unknown): string | undefined => {
  if (value === undefined || (value === null && (column.nullable || column.kind !== "json"))) {
    return column.nullable ? nullField : undefined
  }
  const encoded = fields[column.kind](value)
  return encoded === bad ? undefined : encoded
}

/** Where `encode` stopped: the first row (index in the given rows) and column it cannot write. */
export interface Refused {
  readonly row: number
  readonly column: TableSchema.Column
}

/**
 * Rows `from` to `to` (exclusive) as COPY text lines, each ended by a newline, columns in
 * the given order; or the first value the columns refuse.
 */
export const encode = (
  columns: ReadonlyArray<TableSchema.Column>,
  rows: ReadonlyArray<unknown>,
  from = 0,
  to = rows.length
): string | Refused => {
  // Each line joined from its fields (one flat string a row), the lines joined once: `+=`
  // a field made two cons strings a field, ~0.8 kB of garbage a 13-column row.
  const line: Array<string> = new Array(columns.length)
  const lines: Array<string> = []
  for (let i = from; i < to; i++) {
    const record = rows[i] as Record<string, unknown>
    for (let c = 0; c < columns.length; c++) {
      const column = columns[c]!
      const v = record[column.name]
      // Strings straight through the escape: the common case, kept free of the table lookup.
      const f = typeof v === "string" && (column.kind === "text" || column.kind === "uuid") ? escape(v) : field(column, v)
      if (f === undefined) return { row: i, column }
      line[c] = f
    }
    lines.push(line.join("\t"))
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n"
}
