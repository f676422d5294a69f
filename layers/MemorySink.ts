/**
 * An in-memory `RowSink<UserRow>`: the test double of the Postgres and Cassandra sinks.
 *
 * It keeps one row a key (upsert), rejects rows the real sinks would reject, writes a
 * batch all-or-nothing, and can be told to fail the next writes, so pipeline tests can
 * play an outage (`Unavailable`) or a poison batch (`Rejected`) without a database.
 *
 * @since 0.1.0
 */
import { Effect, Ref, Schema } from "effect"
import { type RowSink, SinkError } from "../src/Sink.js"
import { UserRow } from "../src/UserRow.js"

/** A memory sink plus the handles tests use to inspect and disturb it. */
export interface MemorySink extends RowSink<UserRow> {
  /** Every stored row by id: what a `SELECT *` on the real table would return. */
  readonly store: Ref.Ref<ReadonlyMap<string, UserRow>>
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

const isUserRow = Schema.is(UserRow)

/** Creates an empty memory sink; `name` defaults to `memory`. */
export const make = (name = "memory"): Effect.Effect<MemorySink> =>
  Effect.gen(function*() {
    const store = yield* Ref.make<ReadonlyMap<string, UserRow>>(new Map())
    const writes = yield* Ref.make(0)
    const fault = yield* Ref.make<Fault | undefined>(undefined)

    // Takes one injected failure, if any is pending.
    const takeFault = Ref.modify(fault, (f): [Fault | undefined, Fault | undefined] =>
      f === undefined || f.remaining <= 0
        ? [undefined, undefined]
        : [f, f.remaining - 1 <= 0 ? undefined : { remaining: f.remaining - 1, reason: f.reason }])

    const write = (rows: ReadonlyArray<UserRow>): Effect.Effect<void, SinkError> =>
      Effect.gen(function*() {
        const injected = yield* takeFault
        if (injected !== undefined) {
          return yield* new SinkError({
            sink: name,
            reason: injected.reason,
            message: `injected ${injected.reason} failure`
          })
        }
        // The real sinks reject a row their column types refuse (a non-UUID id, a
        // fractional year) and store nothing of that batch: so does the double.
        const bad = rows.findIndex((row) => !isUserRow(row))
        if (bad >= 0) {
          return yield* new SinkError({
            sink: name,
            reason: "Rejected",
            message: `row ${bad} (id ${String(rows[bad]?.id)}) does not match the UserRow schema`
          })
        }
        yield* Ref.update(store, (current) => {
          const next = new Map(current)
          // Copies, so a caller mutating its objects later cannot change stored rows; the
          // id lower-cased because uuid columns read back lower-case in both databases.
          for (const row of rows) {
            const id = row.id.toLowerCase()
            next.set(id, { ...row, id })
          }
          return next
        })
        yield* Ref.update(writes, (n) => n + 1)
      })

    const scan: Effect.Effect<ReadonlyArray<UserRow>, SinkError> = Effect.map(
      Ref.get(store),
      // Same order as the Postgres sink's `ORDER BY id` (lower-case uuid text sorts as bytes).
      (m) => Array.from(m.values()).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    )

    return {
      name,
      write,
      scan,
      store,
      writes,
      failNext: (n, reason) => Ref.set(fault, n > 0 ? { remaining: n, reason } : undefined),
      clearFaults: Ref.set(fault, undefined)
    }
  })
