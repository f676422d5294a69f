/**
 * The Postgres side of a `TableSchema`: column types, the DDL, the two batch upserts
 * (`unnest` arrays, or COPY into a staging table then `INSERT … SELECT`), the `SELECT` of
 * `scan`, the values, and the check of an existing table against the schema.
 *
 * Pure functions, so the bench, tools and tests use exactly what the sink runs.
 *
 * @since 0.2.0
 */
import type * as TableSchema from "../src/TableSchema.js"

const bad: unique symbol = Symbol("bad")

// Values as the `unnest` arrays take them. A value no column of its kind could hold is
// `bad`: refused before the statement is sent, so the encoding never throws.
const encoders: Record<TableSchema.ColumnKind, (value: unknown) => unknown> = {
  text: (v) => (typeof v === "string" ? v : bad),
  uuid: (v) => (typeof v === "string" ? v : bad),
  integer: (v) => (typeof v === "number" && Number.isSafeInteger(v) ? v : bad),
  double: (v) => (typeof v === "number" ? v : bad),
  boolean: (v) => (typeof v === "boolean" ? v : bad),
  timestamp: (v) => (v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString() : bad),
  json: (v) => {
    try {
      return JSON.stringify(v) ?? bad
    } catch {
      return bad
    }
  }
}

/** One column's `unnest` array, or the index of the first row whose value it cannot hold. */
export const encodeColumn = (column: TableSchema.Column, rows: ReadonlyArray<unknown>): Array<unknown> | number => {
  const { name, nullable } = column
  const values = new Array<unknown>(rows.length)
  if (column.kind === "text" || column.kind === "uuid") {
    // The hot case, kept free of calls: strings go as they are.
    for (let i = 0; i < rows.length; i++) {
      const v = (rows[i] as Record<string, unknown>)[name]
      if (typeof v === "string") values[i] = v
      else if (nullable && (v === undefined || v === null)) values[i] = null
      else return i
    }
    return values
  }
  const encoder = encoders[column.kind]
  for (let i = 0; i < rows.length; i++) {
    const v = (rows[i] as Record<string, unknown>)[name]
    // A JSON null in a required json column is stored as JSON `null`, not SQL NULL.
    const e = v === undefined || (v === null && (nullable || column.kind !== "json")) ? (nullable ? null : bad) : encoder(v)
    if (e === bad) return i
    values[i] = e
  }
  return values
}

/** Turns what `pg` returns for `selectStatement`'s columns back into values of each kind. */
export const decoders: Record<TableSchema.ColumnKind, (value: unknown) => unknown> = {
  text: (v) => v,
  uuid: (v) => v,
  integer: Number,
  double: Number,
  boolean: (v) => v,
  timestamp: (v) => new Date(Number(v)),
  json: (v) => JSON.parse(String(v))
}

/** The Postgres type of each portable kind. */
export const defaultTypes: Record<TableSchema.ColumnKind, string> = {
  uuid: "uuid",
  text: "text",
  integer: "bigint",
  double: "double precision",
  boolean: "boolean",
  timestamp: "timestamptz",
  json: "jsonb"
}

/**
 * The types (as Postgres names them, `regtype` text) an existing column may have for a
 * kind: any integer width, with or without time zone, json or jsonb, text or varchar.
 */
export const acceptedTypes: Record<TableSchema.ColumnKind, ReadonlyArray<string>> = {
  uuid: ["uuid"],
  text: ["text", "character varying"],
  integer: ["bigint", "integer", "smallint"],
  double: ["double precision"],
  boolean: ["boolean"],
  timestamp: ["timestamp with time zone", "timestamp without time zone"],
  json: ["jsonb", "json"]
}

/** The column's Postgres type: the `ColumnType` annotation's `postgres`, else the kind's default. */
export const typeOf = (column: TableSchema.Column): string => column.override.postgres ?? defaultTypes[column.kind]

const columnDefinition = (column: TableSchema.Column): string =>
  `${column.name} ${typeOf(column)}${column.nullable ? "" : " NOT NULL"}`

/** `CREATE TABLE IF NOT EXISTS` of the table: NOT NULL unless nullable, the key as PRIMARY KEY. */
export const createTableStatement = (table: TableSchema.Any): string =>
  `CREATE TABLE IF NOT EXISTS ${table.name} (\n` +
  [...table.columns.map((c) => `  ${columnDefinition(c)}`), `  PRIMARY KEY (${table.key.join(", ")})`].join(",\n") +
  "\n)"

/** Adds a column the schema gained; always nullable, as the existing rows have no value. */
export const addColumnStatement = (table: TableSchema.Any, column: TableSchema.Column): string =>
  `ALTER TABLE ${table.name} ADD COLUMN IF NOT EXISTS ${column.name} ${typeOf(column)}`

// What both write paths end with: the conflict clause; rows that did not change are
// skipped by the `IS DISTINCT FROM` guard, so a replay writes no new row versions.
const onConflict = (table: TableSchema.Any): string => {
  const rest = table.columns.map((c) => c.name).filter((n) => !table.key.includes(n))
  return rest.length === 0
    ? `ON CONFLICT (${table.key.join(", ")}) DO NOTHING`
    : `ON CONFLICT (${table.key.join(", ")}) DO UPDATE SET ${rest.map((n) => `${n} = EXCLUDED.${n}`).join(", ")}\n` +
      `WHERE (t.*) IS DISTINCT FROM (EXCLUDED.*)`
}

/**
 * The batch upsert: one `unnest` array parameter a column, in column order; rows that did
 * not change are skipped by the `IS DISTINCT FROM` guard, so a replay writes no new versions.
 */
export const upsertStatement = (table: TableSchema.Any): string =>
  `INSERT INTO ${table.name} AS t (${table.columns.map((c) => c.name).join(", ")})\n` +
  `SELECT * FROM unnest(${table.columns.map((c, i) => `$${i + 1}::${typeOf(c)}[]`).join(", ")})\n` +
  onConflict(table)

// FNV-1a of the staging table's columns, so a schema that changed (or another schema of
// the same table) on a pooled session gets a staging table of its own, never a stale one.
const fingerprint = (text: string): string => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(36)
}

/**
 * The session's staging table of the COPY write path: a temporary table with the schema's
 * columns and types (the types the `unnest` path casts to, so both refuse the same values),
 * without constraints, emptied at every commit. Its name is derived from the table and
 * the columns, and stays under Postgres's 63-byte identifier limit.
 */
export const stagingTable = (table: TableSchema.Any): { readonly name: string; readonly create: string } => {
  const columns = table.columns.map((c) => `${c.name} ${typeOf(c)}`).join(", ")
  const name = `pandaflow_stage_${table.name.slice(0, 36)}_${fingerprint(`${table.name}(${columns})`)}`
  return { name, create: `CREATE TEMP TABLE IF NOT EXISTS ${name} (${columns}) ON COMMIT DELETE ROWS` }
}

/** `COPY <staging> (columns) FROM STDIN`, text format, columns in the schema's order. */
export const copyStatement = (table: TableSchema.Any, staging: string): string =>
  `COPY ${staging} (${table.columns.map((c) => c.name).join(", ")}) FROM STDIN`

/** The upsert of the COPY path: the staging table's rows into the table, with the same conflict clause as `upsertStatement`. */
export const mergeStatement = (table: TableSchema.Any, staging: string): string => {
  const names = table.columns.map((c) => c.name).join(", ")
  return `INSERT INTO ${table.name} AS t (${names})\nSELECT ${names} FROM ${staging}\n` + onConflict(table)
}

const selected = (column: TableSchema.Column): string => {
  switch (column.kind) {
    // Milliseconds since the epoch, the same with or without time zone (read as UTC).
    case "timestamp":
      return `(extract(epoch FROM t.${column.name}) * 1000)::float8 AS ${column.name}`
    // JSON text, parsed by the sink: the same for json, jsonb or a text override.
    case "json":
      return `t.${column.name}::text AS ${column.name}`
    default:
      return `t.${column.name}`
  }
}

/** The `SELECT` of `scan`, ordered by key (text keys byte-wise, like the memory double). */
export const selectStatement = (table: TableSchema.Any): string =>
  `SELECT ${table.columns.map(selected).join(", ")} FROM ${table.name} AS t ORDER BY ${
    table.key.map((k) => {
      const column = table.columns.find((c) => c.name === k)
      return column?.kind === "text" ? `t.${k} COLLATE "C"` : `t.${k}`
    }).join(", ")
  }`

/** The columns of an existing table in the current schema: `$1` is the table name. */
export const columnsQuery = "SELECT column_name AS name, " +
  "(quote_ident(udt_schema) || '.' || quote_ident(udt_name))::regtype::text AS type, " +
  "is_nullable = 'YES' AS nullable, column_default IS NOT NULL AS has_default " +
  "FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1"

/** The primary key columns of an existing table: `$1` is the table name. */
export const primaryKeyQuery = "SELECT a.attname AS name FROM pg_index i " +
  "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) " +
  "WHERE i.indrelid = to_regclass(quote_ident($1)) AND i.indisprimary"

/** Resolves type names as written (`varchar(64)`) to Postgres's names: `$1` is a text array. */
export const resolveTypesQuery = "SELECT given, to_regtype(given)::text AS resolved FROM unnest($1::text[]) AS given"

/** A column as `columnsQuery` reports it. */
export interface ExistingColumn {
  readonly name: string
  readonly type: string
  readonly nullable: boolean
  readonly has_default: boolean
}

/** What start-up must do to an existing table, or why it cannot use it. */
export interface Plan {
  /** One-line reasons the table cannot hold the schema's rows; empty if it can. */
  readonly problems: ReadonlyArray<string>
  /** Optional columns the schema gained: added (nullable). */
  readonly add: ReadonlyArray<TableSchema.Column>
}

/**
 * Compares an existing table with the schema. `resolved` maps each `ColumnType` override
 * to Postgres's name for it (`null` if Postgres knows no such type).
 */
export const plan = (
  table: TableSchema.Any,
  existing: ReadonlyArray<ExistingColumn>,
  primaryKey: ReadonlyArray<string>,
  resolved: ReadonlyMap<string, string | null>
): Plan => {
  const problems: Array<string> = []
  const add: Array<TableSchema.Column> = []
  const byName = new Map(existing.map((c) => [c.name, c]))
  for (const column of table.columns) {
    const found = byName.get(column.name)
    const wanted = typeOf(column)
    if (found === undefined) {
      if (column.nullable) add.push(column)
      else {
        problems.push(
          `table ${table.name}: column ${column.name} is missing in the database but the schema requires it (${wanted} NOT NULL); ` +
            "make the field optional, or add the column with a default by hand"
        )
      }
      continue
    }
    const override = column.override.postgres
    const accepted = override === undefined ? acceptedTypes[column.kind] : [resolved.get(override)]
    if (override !== undefined && resolved.get(override) == null) {
      problems.push(`table ${table.name}: column ${column.name}: the schema's type ${override} is not a Postgres type`)
    } else if (!accepted.includes(found.type)) {
      problems.push(`table ${table.name}: column ${column.name} is ${found.type} in the database but the schema says ${wanted}`)
    } else if (column.nullable && !found.nullable) {
      problems.push(
        `table ${table.name}: column ${column.name} is NOT NULL in the database but the schema says it is optional; ` +
          `run ALTER TABLE ${table.name} ALTER COLUMN ${column.name} DROP NOT NULL`
      )
    }
  }
  const names = new Set(table.columns.map((c) => c.name))
  for (const c of existing) {
    if (!names.has(c.name) && !c.nullable && !c.has_default) {
      problems.push(`table ${table.name}: column ${c.name} is NOT NULL without a default in the database but not in the schema`)
    }
  }
  const sameKey = primaryKey.length === table.key.length && table.key.every((k) => primaryKey.includes(k))
  if (!sameKey) {
    problems.push(
      `table ${table.name}: the primary key is (${primaryKey.join(", ")}) in the database but the schema says (${table.key.join(", ")})`
    )
  }
  return { problems, add }
}
