/**
 * A table described by an Effect Schema: the columns every schema-driven sink (Postgres,
 * Cassandra, the in-memory double, and later ones) derives its DDL and writes from.
 *
 * Column types come from the schema's type side: `Schema.String` → text, `Schema.UUID` →
 * uuid, `Schema.Int` → integer (64-bit), `Schema.Number` → double, `Schema.Boolean` →
 * boolean, `Schema.Date` / `Schema.DateFromSelf` → timestamp, literals → text, structs and
 * arrays → json. An optional field or one that admits `null` is a nullable column.
 * Annotate a field with `ColumnType` to choose a database type yourself.
 *
 * @since 0.2.0
 */
import { Data, Option, Schema, SchemaAST } from "effect"

/** The portable column kinds; each sink maps them to its own types. */
export type ColumnKind = "text" | "uuid" | "integer" | "double" | "boolean" | "timestamp" | "json"

/** One column, in schema field order. */
export interface Column {
  readonly name: string
  readonly kind: ColumnKind
  readonly nullable: boolean
  /** Database types chosen by a `ColumnType` annotation, per sink. */
  readonly override: ColumnTypeOverride
}

/** The value of the `ColumnType` annotation. */
export interface ColumnTypeOverride {
  readonly postgres?: string | undefined
  readonly cassandra?: string | undefined
}

/**
 * Annotation key for a column type chosen by hand, for example
 * `Schema.String.annotations({ [TableSchema.ColumnType]: { postgres: "varchar(64)" } })`.
 */
export const ColumnType: unique symbol = Symbol.for("pandaflow/TableSchema/ColumnType")

/** A table: its name, row schema, key columns and derived columns. */
export interface TableSchema<A> {
  readonly name: string
  readonly schema: Schema.Schema<A, unknown>
  /** The natural key, one or more column names: the upsert target and the primary key. */
  readonly key: ReadonlyArray<string>
  readonly columns: ReadonlyArray<Column>
  /** The key of a row as one string, to keep the last row per key within a batch. */
  readonly keyOf: (row: A) => string
  /** Whether a value is a valid row (checks without copying). */
  readonly is: (u: unknown) => u is A
}

/** A table schema with its row type erased: what sinks and tools pass around. */
export interface Any {
  readonly name: string
  readonly schema: Schema.Schema.Any
  readonly key: ReadonlyArray<string>
  readonly columns: ReadonlyArray<Column>
  readonly keyOf: (row: never) => string
  readonly is: (u: unknown) => boolean
}

/** What `make` takes. */
export interface Options<A, I> {
  readonly name: string
  /** A `Schema.Struct` (or a schema whose type side is a struct) of the row. */
  readonly schema: Schema.Schema<A, I>
  readonly key: (keyof A & string) | ReadonlyArray<keyof A & string>
}

/** The schema cannot be stored as a table; the message names the table and field. */
export class TableSchemaError extends Data.TaggedError("TableSchemaError")<{ readonly message: string }> {}

const identifiers: Record<string, ColumnKind> = {
  UUID: "uuid",
  Int: "integer",
  DateFromSelf: "timestamp",
  Date: "timestamp",
  ValidDateFromSelf: "timestamp",
  DateFromString: "timestamp"
}

interface Derived {
  readonly kind: ColumnKind
  readonly nullable: boolean
}

const kindOf = (ast: SchemaAST.AST): Derived => {
  const id = Option.getOrUndefined(SchemaAST.getIdentifierAnnotation(ast))
  if (id !== undefined && identifiers[id] !== undefined) return { kind: identifiers[id], nullable: false }
  switch (ast._tag) {
    case "Refinement":
      return kindOf(ast.from)
    case "StringKeyword":
    case "TemplateLiteral":
    case "Enums":
      return { kind: "text", nullable: false }
    case "NumberKeyword":
      return { kind: "double", nullable: false }
    case "BooleanKeyword":
      return { kind: "boolean", nullable: false }
    case "Literal":
      return ast.literal === null
        ? { kind: "text", nullable: true }
        : { kind: typeof ast.literal === "number" ? "double" : typeof ast.literal === "boolean" ? "boolean" : "text", nullable: false }
    case "Declaration":
      return { kind: "json", nullable: false }
    case "Union": {
      const members = ast.types.filter((t) => t._tag !== "UndefinedKeyword" && !(t._tag === "Literal" && t.literal === null))
      const nullable = members.length < ast.types.length
      const kinds = members.map(kindOf)
      const first = kinds[0]
      const same = first !== undefined && kinds.every((k) => k.kind === first.kind)
      return { kind: same ? first.kind : "json", nullable: nullable || kinds.some((k) => k.nullable) }
    }
    case "Suspend":
      return kindOf(ast.f())
    default:
      return { kind: "json", nullable: false }
  }
}

const overrideOf = (ast: SchemaAST.AST): ColumnTypeOverride =>
  Option.getOrElse(SchemaAST.getAnnotation<ColumnTypeOverride>(ast, ColumnType), () => ({}))

/** The columns of a struct schema, in field order. Throws `TableSchemaError` for other schemas. */
export const columnsOf = (table: string, schema: Schema.Schema.Any): ReadonlyArray<Column> => {
  let ast = SchemaAST.typeAST(schema.ast)
  while (ast._tag === "Refinement") ast = ast.from
  if (ast._tag !== "TypeLiteral") {
    throw new TableSchemaError({ message: `table ${table}: the row schema must be a Schema.Struct, got ${ast._tag}` })
  }
  return ast.propertySignatures.map((p) => {
    if (typeof p.name !== "string") throw new TableSchemaError({ message: `table ${table}: field names must be strings` })
    const derived = kindOf(p.type)
    return { name: p.name, kind: derived.kind, nullable: p.isOptional || derived.nullable, override: overrideOf(p.type) }
  })
}

const plainIdentifier = /^[a-z_][a-z0-9_]{0,47}$/

/**
 * Describes a table. Names must be plain lower-case identifiers (so no quoting is ever
 * needed and both databases agree on them); the key columns must exist and not be nullable.
 */
export const make = <A, I>(options: Options<A, I>): TableSchema<A> => {
  const { name } = options
  if (!plainIdentifier.test(name)) {
    throw new TableSchemaError({ message: `table name ${JSON.stringify(name)} is not a plain lower-case identifier (a-z, 0-9, _)` })
  }
  const columns = columnsOf(name, options.schema)
  for (const c of columns) {
    if (!plainIdentifier.test(c.name)) {
      throw new TableSchemaError({ message: `table ${name}: column ${JSON.stringify(c.name)} is not a plain lower-case identifier` })
    }
  }
  const key: ReadonlyArray<string> = typeof options.key === "string" ? [options.key] : [...options.key]
  if (key.length === 0) throw new TableSchemaError({ message: `table ${name}: the key needs at least one column` })
  for (const k of key) {
    const column = columns.find((c) => c.name === k)
    if (column === undefined) throw new TableSchemaError({ message: `table ${name}: key column ${k} is not a field of the schema` })
    if (column.nullable) throw new TableSchemaError({ message: `table ${name}: key column ${k} is optional or nullable` })
  }
  const schema = options.schema as Schema.Schema<A, unknown>
  const uuidKeys = new Set(columns.filter((c) => c.kind === "uuid").map((c) => c.name))
  // uuid columns compare case-insensitively in both databases: so must the in-batch key.
  const part = (row: A, k: string) => {
    const v = (row as Record<string, unknown>)[k]
    const s = v instanceof Date ? v.toISOString() : String(v)
    return uuidKeys.has(k) ? s.toLowerCase() : s
  }
  const first = key[0]!
  const keyOf = key.length === 1 ? (row: A) => part(row, first) : (row: A) => key.map((k) => part(row, k)).join("\u0000")
  return { name, schema, key, columns, keyOf, is: Schema.is(schema) }
}

/** Keeps the last row per key (the latest wins), preserving first-seen order otherwise. */
export const lastPerKey = <A>(rows: ReadonlyArray<A>, keyOf: (row: A) => string): ReadonlyArray<A> => {
  const byKey = new Map<string, A>()
  for (const row of rows) byKey.set(keyOf(row), row)
  return byKey.size === rows.length ? rows : Array.from(byKey.values())
}
