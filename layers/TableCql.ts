/**
 * The Cassandra side of a `TableSchema`: CQL types, the DDL, the insert and select, and
 * the check of an existing table (as `system_schema.columns` reports it) against the
 * schema. Pure functions.
 *
 * @since 0.2.0
 */
import type * as TableSchema from "../src/TableSchema.js"

/** The CQL type of each portable kind; JSON is stored as its text. */
export const defaultTypes: Record<TableSchema.ColumnKind, string> = {
  uuid: "uuid",
  text: "text",
  integer: "bigint",
  double: "double",
  boolean: "boolean",
  timestamp: "timestamp",
  json: "text"
}

/** The types an existing column may have for a kind (`varchar` is reported as `text`). */
export const acceptedTypes: Record<TableSchema.ColumnKind, ReadonlyArray<string>> = {
  uuid: ["uuid"],
  text: ["text", "ascii"],
  integer: ["bigint", "int", "smallint", "tinyint"],
  double: ["double"],
  boolean: ["boolean"],
  timestamp: ["timestamp"],
  json: ["text"]
}

/** The column's CQL type: the `ColumnType` annotation's `cassandra`, else the kind's default. */
export const typeOf = (column: TableSchema.Column): string => column.override.cassandra ?? defaultTypes[column.kind]

// `frozen<map<text, text>>` and `Frozen<Map<text,text>>` name the same type.
const normalise = (type: string): string => type.replace(/\s+/g, "").toLowerCase()

/** `CREATE TABLE IF NOT EXISTS keyspace.table`; the key is the partition key. */
export const createTableStatement = (keyspace: string, table: TableSchema.Any): string => {
  const key = table.key.length === 1 ? table.key[0]! : `(${table.key.join(", ")})`
  return `CREATE TABLE IF NOT EXISTS ${keyspace}.${table.name} (` +
    [...table.columns.map((c) => `${c.name} ${typeOf(c)}`), `PRIMARY KEY (${key})`].join(", ") + ")"
}

/** Adds a column the schema gained (every Cassandra column is nullable). */
export const addColumnStatement = (keyspace: string, table: TableSchema.Any, column: TableSchema.Column): string =>
  `ALTER TABLE ${keyspace}.${table.name} ADD ${column.name} ${typeOf(column)}`

/** The prepared insert (an upsert in Cassandra), one marker a column in column order. */
export const insertStatement = (keyspace: string, table: TableSchema.Any): string =>
  `INSERT INTO ${keyspace}.${table.name} (${table.columns.map((c) => c.name).join(", ")}) VALUES (${
    table.columns.map(() => "?").join(", ")
  })`

/** The select of `scan` (token order: the sink sorts by key). */
export const selectStatement = (keyspace: string, table: TableSchema.Any): string =>
  `SELECT ${table.columns.map((c) => c.name).join(", ")} FROM ${keyspace}.${table.name}`

/** The columns of a table: keyspace and table name as parameters. */
export const columnsQuery = "SELECT column_name, type, kind FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?"

/** A column as `columnsQuery` reports it. */
export interface ExistingColumn {
  readonly name: string
  readonly type: string
  /** `partition_key`, `clustering`, `regular` or `static`. */
  readonly kind: string
}

/** What start-up must do to an existing table, or why it cannot use it. */
export interface Plan {
  /** One-line reasons the table cannot hold the schema's rows; empty if it can. */
  readonly problems: ReadonlyArray<string>
  /** Optional columns the schema gained: added. */
  readonly add: ReadonlyArray<TableSchema.Column>
}

/**
 * Compares an existing table with the schema: an optional field the schema gained is a
 * column to add; a required one is refused (stored rows have no value for it).
 */
export const plan = (keyspace: string, table: TableSchema.Any, existing: ReadonlyArray<ExistingColumn>): Plan => {
  const qualified = `${keyspace}.${table.name}`
  const problems: Array<string> = []
  const add: Array<TableSchema.Column> = []
  const byName = new Map(existing.map((c) => [c.name, c]))
  for (const column of table.columns) {
    const found = byName.get(column.name)
    const wanted = typeOf(column)
    if (found === undefined) {
      if (table.key.includes(column.name)) continue // reported with the key below
      // Rows already stored would read back without a required field: refused, as in Postgres.
      if (column.nullable) add.push(column)
      else {
        problems.push(
          `table ${qualified}: column ${column.name} is missing in the database but the schema requires it (${wanted} NOT NULL); ` +
            "make the field optional, or add the column with a default by hand"
        )
      }
      continue
    }
    const accepted = column.override.cassandra === undefined ? acceptedTypes[column.kind] : [normalise(wanted)]
    if (!accepted.includes(normalise(found.type))) {
      problems.push(`table ${qualified}: column ${column.name} is ${found.type} in the database but the schema says ${wanted}`)
    }
  }
  const primaryKey = existing.filter((c) => c.kind === "partition_key" || c.kind === "clustering").map((c) => c.name)
  const sameKey = primaryKey.length === table.key.length && table.key.every((k) => primaryKey.includes(k))
  if (!sameKey) {
    problems.push(
      `table ${qualified}: the primary key is (${primaryKey.join(", ")}) in the database but the schema says (${table.key.join(", ")})`
    )
  }
  return { problems, add }
}
