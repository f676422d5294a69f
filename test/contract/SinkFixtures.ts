/**
 * The tables the sink contract runs on: a test-local one with every column kind, and the
 * reference `UserRow` and `ClassicRow` of the randomuser example. Each comes with a
 * deterministic row generator, a way to change every non-key value of a row, and a row
 * the table cannot hold.
 */
import { Schema } from "effect"
import { ClassicRow, UserRow } from "../../examples/randomuser/UserRow.js"
import * as TableSchema from "../../src/TableSchema.js"
import { prng } from "../support/prng.js"
import { changed as changedUser, makeRows } from "../support/rows.js"

/** A row with every column kind: uuid key, text, integer, double, boolean, timestamp, optional, nullable, json. */
export const KindsRow = Schema.Struct({
  id: Schema.UUID,
  label: Schema.String,
  count: Schema.Int,
  ratio: Schema.Number,
  active: Schema.Boolean,
  seen_at: Schema.DateFromSelf,
  updated_at: Schema.Date,
  note: Schema.optional(Schema.String),
  score: Schema.NullOr(Schema.Number),
  payload: Schema.Struct({ tags: Schema.Array(Schema.String), level: Schema.Number })
})

/** @since 0.2.0 */
export type KindsRow = typeof KindsRow.Type

/**
 * A row with refinements the column types do not express: a text of at most 3
 * characters, a positive integer, a pattern. Every sink refuses what `table.is` refuses.
 */
export const RefinedRow = Schema.Struct({
  id: Schema.UUID,
  code: Schema.String.pipe(Schema.maxLength(3)),
  qty: Schema.Int.pipe(Schema.positive()),
  sku: Schema.String.pipe(Schema.pattern(/^[A-Z]{2}-[0-9]+$/))
})

/** @since 0.2.0 */
export type RefinedRow = typeof RefinedRow.Type

/** One table the contract runs on. */
export interface Fixture<A> {
  readonly label: string
  readonly table: TableSchema.TableSchema<A>
  /** `count` rows with lower-case uuid ids; a different seed gives different ids. */
  readonly rows: (count: number, seed: number) => Array<A>
  /** The same row with every non-key value changed. */
  readonly changed: (row: A) => A
  /** The row made into one the table cannot hold (bypassing the type on purpose). */
  readonly refused: (row: A) => unknown
  /** The id of a row. */
  readonly id: (row: A) => string
}

const hex = (next: () => number, n: number) => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join("")

/** A version-4 UUID drawn from `next`. */
export const uuid = (next: () => number): string =>
  `${hex(next, 8)}-${hex(next, 4)}-4${hex(next, 3)}-${"89ab"[Math.floor(next() * 4)]}${hex(next, 3)}-${hex(next, 12)}`

/** `count` rows of every kind: some without `note`, some with a null `score`, awkward text. */
export const kindRows = (count: number, seed: number): Array<KindsRow> => {
  const next = prng(seed)
  return Array.from({ length: count }, (_, i): KindsRow => ({
    id: uuid(next),
    label: `${["Zoë", "美咲", "O'Brien", "{a,b}", "\"q\""][i % 5]} ${i}`,
    count: i * 7 - 100,
    ratio: Math.round(next() * 1e6) / 1e3,
    active: i % 2 === 0,
    seen_at: new Date(Date.UTC(2020, 0, 1) + Math.floor(next() * 1e11)),
    updated_at: new Date(Date.UTC(2024, 5, 1) + i * 1000 + 7),
    ...(i % 3 === 0 ? {} : { note: `note ${i}` }),
    score: i % 4 === 0 ? null : i / 4,
    payload: { tags: i % 2 === 0 ? ["a", "ü"] : [], level: i }
  }))
}

const changedKinds = (row: KindsRow): KindsRow => {
  const { note, ...rest } = row
  return {
    ...rest,
    label: `${row.label} ✓`,
    count: row.count + 1,
    ratio: row.ratio + 0.5,
    active: !row.active,
    seen_at: new Date(row.seen_at.getTime() - 86_400_000),
    updated_at: new Date(row.updated_at.getTime() + 1),
    // An optional field present becomes absent and the other way round.
    ...(note === undefined ? { note: "added" } : {}),
    score: row.score === null ? 1.25 : null,
    payload: { tags: [...row.payload.tags, "changed"], level: row.payload.level + 1 }
  }
}

const pickClassic = (row: UserRow): ClassicRow => {
  const { email_domain: _d, registered_year: _y, ...classic } = row
  return classic
}

/** The three tables, named with `suffix` so a run never meets an earlier run's table. */
export const fixtures = (suffix: string) => {
  const kinds: Fixture<KindsRow> = {
    label: "every column kind",
    table: TableSchema.make({ name: `c_kinds_${suffix}`, schema: KindsRow, key: "id" }),
    rows: kindRows,
    changed: changedKinds,
    refused: (row) => ({ ...row, id: "not-a-uuid" }),
    id: (row) => row.id
  }
  const users: Fixture<UserRow> = {
    label: "UserRow",
    table: TableSchema.make({ name: `c_users_${suffix}`, schema: UserRow, key: "id" }),
    rows: makeRows,
    changed: changedUser,
    refused: (row) => ({ ...row, id: "not-a-uuid" }),
    id: (row) => row.id
  }
  const classic: Fixture<ClassicRow> = {
    label: "ClassicRow",
    table: TableSchema.make({ name: `c_classic_${suffix}`, schema: ClassicRow, key: "id" }),
    rows: (count, seed) => makeRows(count, seed).map(pickClassic),
    changed: (row) => pickClassic(changedUser({ ...row, email_domain: "", registered_year: 0 })),
    refused: (row) => ({ ...row, id: "not-a-uuid" }),
    id: (row) => row.id
  }
  const refined = TableSchema.make({ name: `c_refined_${suffix}`, schema: RefinedRow, key: "id" })
  return { kinds, users, classic, refined }
}

/** `count` rows of `RefinedRow` that pass its refinements. */
export const refinedRows = (count: number, seed: number): Array<RefinedRow> => {
  const next = prng(seed)
  return Array.from({ length: count }, (_, i): RefinedRow => ({ id: uuid(next), code: "abc".slice(0, 1 + (i % 3)), qty: i + 1, sku: `AB-${i}` }))
}
