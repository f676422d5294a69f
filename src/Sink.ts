/**
 * Sinks: where processed rows land. Every sink writes idempotently (upsert by natural
 * key), so a batch redelivered after a crash leaves no duplicate.
 *
 * @since 0.1.0
 */
import { Context, Data, Effect, Layer, type Scope } from "effect"
import type { UserRow } from "./UserRow.js"

/** A sink failed to write. `Unavailable` is worth retrying; `Rejected` is not. */
export class SinkError extends Data.TaggedError("SinkError")<{
  readonly sink: string
  readonly reason: "Unavailable" | "Rejected"
  readonly message: string
  readonly cause?: unknown
}> {}

/** One sink of rows of type `A`. */
export interface RowSink<A> {
  /** Shown in progress lines and errors, e.g. `postgres`. */
  readonly name: string
  /** Writes (upserts) every row durably, or fails without committing a partial batch. */
  readonly write: (rows: ReadonlyArray<A>) => Effect.Effect<void, SinkError>
  /** Reads every stored row back: for verification, tests and small tables only. */
  readonly scan: Effect.Effect<ReadonlyArray<A>, SinkError>
}

/** The sinks the process job writes every batch to, all of them, before committing. */
export class UserSinks extends Context.Tag("pandaflow/UserSinks")<UserSinks, ReadonlyArray<RowSink<UserRow>>>() {}

/** Builds the `UserSinks` service from sink constructors, each with its own requirements. */
export const layer = <const Sinks extends ReadonlyArray<Effect.Effect<RowSink<UserRow>, unknown, unknown>>>(
  ...sinks: Sinks
): Layer.Layer<UserSinks, Effect.Effect.Error<Sinks[number]>, Exclude<Effect.Effect.Context<Sinks[number]>, Scope.Scope>> =>
  Layer.scoped(
    UserSinks,
    Effect.all(sinks as ReadonlyArray<Effect.Effect<RowSink<UserRow>, Effect.Effect.Error<Sinks[number]>, Effect.Effect.Context<Sinks[number]>>>)
  )
