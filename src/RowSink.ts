/**
 * Sinks: where a pipeline's rows land. Every sink writes idempotently (upsert by natural
 * key), so a batch redelivered after a crash leaves no duplicate.
 *
 * A pipeline lists sink *definitions*: a name, the natural key and how to build the sink
 * (create its table, prepare statements) when the consume job starts. Schema-driven sinks
 * (`PostgresSink.table`, `CassandraSink.table`, `MemorySink.table` in `pandaflow/layers`)
 * also carry their `TableSchema`, which lets the test driver swap them for in-memory
 * doubles of the very same table.
 *
 * @since 0.2.0
 */
import { Data, Effect, type Scope } from "effect"
import type * as TableSchema from "./TableSchema.js"

/** A sink failed to write. `Unavailable` is worth retrying; `Rejected` is not. */
export class SinkError extends Data.TaggedError("SinkError")<{
  readonly sink: string
  readonly reason: "Unavailable" | "Rejected"
  readonly message: string
  readonly cause?: unknown
}> {}

/** One running sink of rows of type `A`. */
export interface RowSink<in A> {
  /** Shown in progress lines and errors, e.g. `postgres`. */
  readonly name: string
  /** The natural key of a row: the pipeline keeps the last row per key within a batch. */
  readonly key: (row: A) => string
  /**
   * Writes (upserts) every row durably, or fails. A `Rejected` batch may have written any
   * subset of its accepted rows, each exactly as given (Cassandra's concurrent inserts land
   * some before the server refuses one; Postgres writes none), never anything else. That is
   * harmless because they are upserts of the batch's own rows and the pipeline, bisecting
   * the batch to find the refused rows, writes every accepted row again
   * (test/contract/Sink.contract.ts, test/integration/Bisection.test.ts).
   */
  readonly write: (rows: ReadonlyArray<A>) => Effect.Effect<void, SinkError>
}

/** A sink that can also read back what it holds: for verification and tests. */
export interface ReadableSink<A> extends RowSink<A> {
  /** Every stored row, ordered by key: for tests and small tables only. */
  readonly scan: Effect.Effect<ReadonlyArray<A>, SinkError>
}

/** A sink switched off where it runs (for example Cassandra in the embedded mode). */
export interface Off {
  readonly _tag: "Off"
  readonly name: string
  /** Why, and how to switch it on: shown once at start-up. */
  readonly reason: string
}

/** A sink as a pipeline lists it: built when the consume job starts, released when it ends. */
export interface Definition<in A, out E = never, out R = never> {
  readonly name: string
  /** The table it stores, when it is schema-driven: what the test driver mirrors. */
  readonly table: TableSchema.Any | undefined
  readonly build: Effect.Effect<RowSink<A> | Off, E, R | Scope.Scope>
}

/** A sink that is off, with the reason shown at start-up. */
export const off = (name: string, reason: string): Off => ({ _tag: "Off", name, reason })

/** Whether a built sink is off. */
export const isOff = <A>(sink: RowSink<A> | Off): sink is Off => "_tag" in sink && sink._tag === "Off"

/**
 * A sink of your own, for example a write to another service of your application:
 * `write` must upsert by `key`, so a redelivered batch changes nothing.
 */
export const make = <A>(sink: RowSink<A>): Definition<A> => ({
  name: sink.name,
  table: undefined,
  build: Effect.succeed(sink)
})

/** A sink of your own that needs services or set-up (a connection, a table) first. */
export const makeEffect = <A, E, R>(
  name: string,
  build: Effect.Effect<RowSink<A> | Off, E, R | Scope.Scope>
): Definition<A, E, R> => ({ name, table: undefined, build })
