/**
 * The schema-driven `RowSink` contract: one suite every sink implementation passes, the
 * in-memory double included, so a double cannot drift from the real thing. It runs on a
 * table with every column kind and on the reference `UserRow` and `ClassicRow` tables.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Either, Exit, Scope } from "effect"
import type * as RowSink from "../../src/RowSink.js"
import type * as TableSchema from "../../src/TableSchema.js"
import { type Fixture, fixtures, type KindsRow, type RefinedRow, refinedRows } from "./SinkFixtures.js"

/** A sink to test, and how to empty its storage between tests. */
export interface SinkUnderTest<A> {
  readonly sink: RowSink.ReadableSink<A>
  readonly reset: Effect.Effect<void, unknown>
}

/** Builds the sink of a table; its scope closes after the suite (drop the table there). */
export interface SinkFactory {
  readonly make: <A>(table: TableSchema.TableSchema<A>) => Effect.Effect<SinkUnderTest<A>, unknown, Scope.Scope>
}

/** Options of the suite. */
export interface ContractOptions {
  /** Rows of the large-batch test: enough to span the sink's chunking. Default 12,000. */
  readonly largeBatch?: number
}

const sortById = <A>(id: (row: A) => string, rows: ReadonlyArray<A>): Array<A> =>
  [...rows].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0))

const expectRejected = (result: Either.Either<void, RowSink.SinkError>, sinkName: string) => {
  expect(Either.isLeft(result), "expected the batch to be refused").toBe(true)
  if (Either.isLeft(result)) {
    expect(result.left._tag).toBe("SinkError")
    expect(result.left.reason, result.left.message).toBe("Rejected")
    expect(result.left.sink).toBe(sinkName)
  }
}

/**
 * What a `Rejected` batch may leave behind (the RowSink contract): any subset of its
 * accepted rows, each exactly as given — Cassandra's concurrent inserts land some before
 * the server refuses one, the others write nothing — and the accepted rows written again,
 * as bisection does, leave exactly them. `before` is what the table held already.
 */
const expectRejectedBatchLeftOnlyItsRows = <A>(
  sink: RowSink.ReadableSink<A>,
  id: (row: A) => string,
  accepted: ReadonlyArray<A>,
  before: ReadonlyArray<A> = []
) =>
  Effect.gen(function*() {
    const mayHold = new Map<string, ReadonlyArray<A>>()
    for (const r of before) mayHold.set(id(r), [r])
    for (const r of accepted) mayHold.set(id(r), [...(mayHold.get(id(r)) ?? []), r])
    const partial = yield* sink.scan
    for (const r of partial) expect(mayHold.get(id(r)) ?? [], `a row the batch did not hold: ${id(r)}`).toContainEqual(r)
    for (const r of before) expect(partial.map(id), "a row held before the batch is gone").toContain(id(r))
    yield* sink.write(accepted)
    const after = new Map(before.map((r) => [id(r), r]))
    for (const r of accepted) after.set(id(r), r)
    expect(yield* sink.scan).toEqual(sortById(id, [...after.values()]))
  })

/**
 * Registers the contract suite for one implementation. `acquire` runs once for the suite
 * (its scope closes after the last test); each table's sink is built by the first test
 * that needs it, and `reset` runs before every test. If set-up fails, every test fails
 * with its error: never skipped.
 */
export const sinkContract = (
  name: string,
  acquire: Effect.Effect<SinkFactory, unknown, Scope.Scope>,
  options: ContractOptions = {}
): void => {
  describe(`RowSink contract: ${name}`, () => {
    const scope = Effect.runSync(Scope.make())
    afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))
    const shared = <A>(label: string, build: () => Effect.Effect<A, unknown, Scope.Scope>) => {
      let once: Promise<Exit.Exit<A, unknown>> | undefined
      return Effect.flatMap(
        Effect.promise(() => (once ??= Effect.runPromiseExit(Scope.extend(build(), scope)))),
        (exit) =>
          Exit.isSuccess(exit)
            ? Effect.succeed(exit.value)
            : Effect.dieMessage(`${name}: could not set up ${label}:\n${Cause.pretty(exit.cause)}`)
      )
    }
    const factory = shared("the sink factory", () => acquire)

    const suffix = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
    const { classic, kinds, refined, users } = fixtures(suffix)
    const large = options.largeBatch ?? 12_000

    const generic = <A>(f: Fixture<A>, seed: number) => {
      const underTest = shared(`the sink of ${f.table.name}`, () => Effect.flatMap(factory, (m) => m.make(f.table)))
      const contract = (title: string, body: (sink: RowSink.ReadableSink<A>) => Effect.Effect<void, unknown>) =>
        it.live(title, () => Effect.flatMap(underTest, ({ reset, sink }) => Effect.zipRight(reset, body(sink))))
      const byId = (rows: ReadonlyArray<A>) => sortById(f.id, rows)

      contract("write then scan returns the rows, ordered by key", (sink) =>
        Effect.gen(function*() {
          const rows = f.rows(50, seed + 1)
          yield* sink.write(rows)
          expect(yield* sink.scan).toEqual(byId(rows))
        }))

      contract("writing the same keys again updates the values and adds no row", (sink) =>
        Effect.gen(function*() {
          const rows = f.rows(50, seed + 2)
          yield* sink.write(rows)
          const updated = rows.slice(0, 20).map(f.changed)
          yield* sink.write(updated)
          const back = yield* sink.scan
          expect(back).toHaveLength(50)
          expect(back).toEqual(byId([...updated, ...rows.slice(20)]))
        }))

      contract("writing a batch twice leaves no duplicate", (sink) =>
        Effect.gen(function*() {
          const rows = f.rows(40, seed + 3)
          yield* sink.write(rows)
          yield* sink.write(rows)
          expect(yield* sink.scan).toEqual(byId(rows))
        }))

      contract("a key twice in one batch keeps the last row", (sink) =>
        Effect.gen(function*() {
          const rows = f.rows(10, seed + 4)
          const again = f.changed(rows[3]!)
          yield* sink.write([...rows, again])
          expect(yield* sink.scan).toEqual(byId(rows.map((r) => (f.id(r) === f.id(again) ? again : r))))
        }))

      contract("an empty batch is a no-op", (sink) =>
        Effect.gen(function*() {
          yield* sink.write([])
          expect(yield* sink.scan).toEqual([])
          const rows = f.rows(5, seed + 5)
          yield* sink.write(rows)
          yield* sink.write([])
          expect(yield* sink.scan).toEqual(byId(rows))
        }))

      contract(`a batch of ${large} rows lands whole`, (sink) =>
        Effect.gen(function*() {
          const rows = f.rows(large, seed + 6)
          const started = Date.now()
          yield* sink.write(rows)
          const ms = Date.now() - started
          // Printed for the record; not asserted, machines differ.
          console.log(`[${name}] ${f.table.name}: ${large} rows in ${ms} ms (${Math.round((large * 1000) / Math.max(ms, 1))} rows/s)`)
          const back = yield* sink.scan
          expect(back.length).toBe(large)
          expect(back).toEqual(byId(rows))
        }))

      contract("a row the table cannot hold is Rejected; the batch left only its own rows, as given, and its accepted rows again make it whole", (sink) =>
        Effect.gen(function*() {
          const held = f.rows(3, seed + 8)
          yield* sink.write(held)
          const rows = f.rows(5, seed + 7)
          const updated = f.changed(held[1]!)
          const bad = f.refused(rows[2]!) as A
          const accepted = [...rows.slice(0, 2), updated, ...rows.slice(3)]
          expectRejected(yield* Effect.either(sink.write([...rows.slice(0, 2), updated, bad, ...rows.slice(3)])), sink.name)
          yield* expectRejectedBatchLeftOnlyItsRows(sink, f.id, accepted, held)
        }))

      return contract
    }

    describe(users.label, () => {
      const contract = generic(users, 10)

      contract("post codes stay strings, numeric-looking or not", (sink) =>
        Effect.gen(function*() {
          const [a, b, c] = users.rows(3, 17)
          yield* sink.write([{ ...a!, post_code: "01234" }, { ...b!, post_code: "SW1A 1AA" }, { ...c!, post_code: "0" }])
          const back = new Map((yield* sink.scan).map((r) => [r.id, r.post_code]))
          expect(back.get(a!.id)).toBe("01234")
          expect(back.get(b!.id)).toBe("SW1A 1AA")
          expect(back.get(c!.id)).toBe("0")
        }))

      contract("unicode text round-trips", (sink) =>
        Effect.gen(function*() {
          const [a] = users.rows(1, 18)
          const row = { ...a!, first_name: "Zoë 美咲 😀", last_name: "Ελένη-Łukasiewicz", address: "Straße 1, Αθήνα, 東京" }
          yield* sink.write([row])
          expect(yield* sink.scan).toEqual([row])
        }))
    })

    describe(classic.label, () => {
      generic(classic, 20)
    })

    describe(kinds.label, () => {
      const contract = generic(kinds, 30)

      // Written by hand: what each kind must read back as.
      const written: ReadonlyArray<KindsRow> = [
        {
          id: "F0F8FAD5-D9CB-469F-A165-70867728950E",
          label: "Zoë \"quoted\", {braced}\\",
          count: 9007199254740991,
          ratio: -0.1,
          active: false,
          seen_at: new Date("2021-03-04T05:06:07.089Z"),
          updated_at: new Date("1999-12-31T23:59:59.999Z"),
          score: null,
          payload: { tags: ["x", "ÿ"], level: 1.5 }
        },
        {
          id: "0a0eebc9-9c0b-4ef8-bb6d-6bb9bd380a11",
          label: "",
          count: -42,
          ratio: 1e300,
          active: true,
          seen_at: new Date("1970-01-01T00:00:00.000Z"),
          updated_at: new Date("2030-06-15T12:00:00.001Z"),
          note: "a note",
          score: 2.5,
          payload: { tags: [], level: 0 }
        }
      ]
      const expected = [
        {
          id: "0a0eebc9-9c0b-4ef8-bb6d-6bb9bd380a11",
          label: "",
          count: -42,
          ratio: 1e300,
          active: true,
          seen_at: new Date("1970-01-01T00:00:00.000Z"),
          updated_at: new Date("2030-06-15T12:00:00.001Z"),
          note: "a note",
          score: 2.5,
          payload: { tags: [], level: 0 }
        },
        {
          id: "f0f8fad5-d9cb-469f-a165-70867728950e",
          label: "Zoë \"quoted\", {braced}\\",
          count: 9007199254740991,
          ratio: -0.1,
          active: false,
          seen_at: new Date("2021-03-04T05:06:07.089Z"),
          updated_at: new Date("1999-12-31T23:59:59.999Z"),
          score: null,
          payload: { tags: ["x", "ÿ"], level: 1.5 }
        }
      ]

      contract("every kind reads back as written: Date, number, JSON, null, an absent optional field", (sink) =>
        Effect.gen(function*() {
          yield* sink.write(written)
          const back = yield* sink.scan
          expect(back).toStrictEqual(expected)
          expect(back[1]!.seen_at).toBeInstanceOf(Date)
          expect("note" in back[1]!).toBe(false)
        }))

      contract("an upper-case uuid key is the same key as its lower-case form", (sink) =>
        Effect.gen(function*() {
          yield* sink.write([written[0]!])
          yield* sink.write([{ ...written[0]!, id: "f0f8fad5-d9cb-469f-a165-70867728950e", label: "again" }])
          const back = yield* sink.scan
          expect(back.map((r) => [r.id, r.label])).toEqual([["f0f8fad5-d9cb-469f-a165-70867728950e", "again"]])
        }))

      contract("an upsert clears the optional and nullable values the new row lacks", (sink) =>
        Effect.gen(function*() {
          yield* sink.write([written[1]!])
          const { note: _note, ...withoutNote } = written[1]!
          yield* sink.write([{ ...withoutNote, score: null }])
          const back = yield* sink.scan
          const { note: _cleared, ...cleared } = expected[0]!
          expect(back).toStrictEqual([{ ...cleared, score: null }])
          expect("note" in back[0]!).toBe(false)
        }))

      const refusals: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
        ["a fractional integer", { count: 1.5 }],
        ["an invalid Date", { seen_at: new Date(Number.NaN) }],
        ["a NUL character in text", { label: "a\u0000b" }],
        ["a required field missing", { label: undefined }]
      ]
      for (const [what, patch] of refusals) {
        contract(`${what} is Rejected; the batch left only its own rows`, (sink) =>
          Effect.gen(function*() {
            const rows = kinds.rows(3, 41)
            const bad = { ...rows[1]!, ...patch } as KindsRow
            expectRejected(yield* Effect.either(sink.write([rows[0]!, bad, rows[2]!])), sink.name)
            yield* expectRejectedBatchLeftOnlyItsRows(sink, kinds.id, [rows[0]!, rows[2]!])
          }))
      }
    })

    // Refinements the column types cannot express (text of any length fits a text column):
    // the databases would take these rows, the schema does not, and no sink may differ.
    describe("refinements (maxLength, positive, pattern)", () => {
      const underTest = shared(`the sink of ${refined.name}`, () => Effect.flatMap(factory, (m) => m.make(refined)))
      const contract = (title: string, body: (sink: RowSink.ReadableSink<RefinedRow>) => Effect.Effect<void, unknown>) =>
        it.live(title, () => Effect.flatMap(underTest, ({ reset, sink }) => Effect.zipRight(reset, body(sink))))

      contract("rows within the refinements are written", (sink) =>
        Effect.gen(function*() {
          const rows = refinedRows(6, 51)
          yield* sink.write(rows)
          expect(yield* sink.scan).toEqual(sortById((r: RefinedRow) => r.id, rows))
        }))

      const refusals: ReadonlyArray<readonly [string, string, Partial<RefinedRow>]> = [
        ["a text longer than maxLength(3)", "code", { code: "abcd" }],
        ["a non-positive integer", "qty", { qty: 0 }],
        ["a text not matching the pattern", "sku", { sku: "ab-1" }]
      ]
      for (const [what, field, patch] of refusals) {
        contract(`${what} is Rejected naming the row's key and the field; the batch left only its own rows`, (sink) =>
          Effect.gen(function*() {
            const rows = refinedRows(3, 52)
            const bad = { ...rows[1]!, ...patch }
            const result = yield* Effect.either(sink.write([rows[0]!, bad, rows[2]!]))
            expectRejected(result, sink.name)
            if (Either.isLeft(result)) {
              expect(result.left.message).toContain(`row 1 (id ${JSON.stringify(bad.id)}) does not match the schema of table ${refined.name}`)
              expect(result.left.message).toContain(`field ${field}:`)
            }
            yield* expectRejectedBatchLeftOnlyItsRows(sink, (r: RefinedRow) => r.id, [rows[0]!, rows[2]!])
          }))
      }
    })
  })
}
