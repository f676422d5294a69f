/**
 * An in-memory sink of any `TableSchema`: the test double of the Postgres and Cassandra
 * sinks.
 *
 * It keeps one row a key (upsert), rejects rows the real sinks would reject (what
 * `table.is` refuses, and values no column of their kind holds), writes a batch
 * all-or-nothing, stores rows as the databases give them back (only the columns, uuids
 * lower-cased, absent optional fields absent, copies) and can be told to fail the next
 * writes, so pipeline tests can play an outage (`Unavailable`) or a poison batch
 * (`Rejected`) without a database.
 *
 * @since 0.1.0
 */
import { Effect, Ref } from "effect"
import type * as RowSink from "../src/RowSink.js"
import { SinkError } from "../src/RowSink.js"
import * as TableSchema from "../src/TableSchema.js"
import * as RowValues from "./RowValues.js"

/** A memory sink plus the handles tests use to inspect and disturb it. */
export interface MemorySink<A> extends RowSink.ReadableSink<A> {
  /** The table it mirrors. */
  readonly table: TableSchema.TableSchema<A>
  /** Every stored row by `table.keyOf`: what a `SELECT *` on the real table would return. */
  readonly store: Ref.Ref<ReadonlyMap<string, A>>
  /** How many `write` calls succeeded (empty batches included). */
  readonly writes: Ref.Ref<number>
  /**
   * Makes the next `n` writes fail with `reason` without storing anything. `Infinity`
   * keeps failing until `clearFaults`. Scans are not affected.
   */
  readonly failNext: (n: number, reason: SinkError["reason"]) => Effect.Effect<void>
  /** Cancels every pending injected failure. */
  readonly clearFaults: Effect.Effect<void>
}

interface Fault {
  readonly remaining: number
  readonly reason: SinkError["reason"]
}

/** Creates an empty memory sink of a table; `sinkName` defaults to `memory`. */
export const make = <A>(table: TableSchema.TableSchema<A>, sinkName = "memory"): Effect.Effect<MemorySink<A>> =>
  Effect.gen(function*() {
    const name = sinkName
    const store = yield* Ref.make<ReadonlyMap<string, A>>(new Map())
    const writes = yield* Ref.make(0)
    const fault = yield* Ref.make<Fault | undefined>(undefined)
    const fields = RowValues.fieldsOf(table)
    const order = RowValues.byKey(table)

    // Takes one injected failure, if any is pending.
    const takeFault = Ref.modify(fault, (f): [Fault | undefined, Fault | undefined] =>
      f === undefined || f.remaining <= 0
        ? [undefined, undefined]
        : [f, f.remaining - 1 <= 0 ? undefined : { remaining: f.remaining - 1, reason: f.reason }])

    const write = (rows: ReadonlyArray<A>): Effect.Effect<void, SinkError> =>
      Effect.gen(function*() {
        const injected = yield* takeFault
        if (injected !== undefined) {
          return yield* new SinkError({ sink: name, reason: injected.reason, message: `injected ${injected.reason} failure` })
        }
        // The real sinks reject a row their column types refuse (a non-UUID id, a
        // fractional integer) and store nothing of that batch: so does the double.
        const refused = RowValues.firstRefused(table, rows)
        if (refused !== undefined) return yield* new SinkError({ sink: name, reason: "Rejected", message: refused })
        yield* Ref.update(store, (current) => {
          const next = new Map(current)
          // Copies as the databases return them, so a caller mutating its objects later
          // cannot change stored rows.
          for (const row of rows) next.set(table.keyOf(row), RowValues.stored(fields, row))
          return next
        })
        yield* Ref.update(writes, (n) => n + 1)
      })

    const scan: Effect.Effect<ReadonlyArray<A>, SinkError> = Effect.map(
      Ref.get(store),
      // The real sinks' order: by key.
      (m) => Array.from(m.values()).sort(order)
    )

    return {
      name,
      key: table.keyOf,
      table,
      write,
      scan,
      store,
      writes,
      failNext: (n, reason) => Ref.set(fault, n > 0 ? { remaining: n, reason } : undefined),
      clearFaults: Ref.set(fault, undefined)
    }
  })

/** Wraps an existing memory sink as a definition, so a test can inspect what it stored. */
export const definition = <A>(sink: MemorySink<A>): RowSink.Definition<A> & { readonly table: TableSchema.TableSchema<A> } => ({
  name: sink.name,
  table: sink.table,
  build: Effect.succeed(sink)
})

/**
 * A memory sink of a table described by a schema, as a pipeline lists it; every build
 * makes a fresh, empty sink. Throws `TableSchemaError` for a schema that cannot be a table.
 */
export const table = <A, I>(
  options: TableSchema.Options<A, I> & { readonly sinkName?: string | undefined }
): RowSink.Definition<A> & { readonly table: TableSchema.TableSchema<A> } => {
  const described = TableSchema.make(options)
  const name = options.sinkName ?? "memory"
  return { name, table: described, build: make(described, name) }
}
