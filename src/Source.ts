/**
 * Sources: where a pipeline's records come from before they reach the broker (an HTTP
 * API, a file, a database). A source is a Stream of values, typed in its errors and in
 * the services it needs; the ingest job writes what it emits to the pipeline's topic.
 *
 * @since 0.2.0
 */
import { Data, Predicate, Stream } from "effect"

/** What one ingest run asks a source for. Sources read the hints that apply to them. */
export interface Request {
  /** How many records to read (a source that runs dry earlier ends earlier). */
  readonly records: number
  /** Picks what to read: the same seed gives the same records (a scheduled run's slot makes its own). */
  readonly seed: string
  /** Records a request to the upstream system, when it pages. */
  readonly pageSize?: number | undefined
}

/**
 * A record the source received but cannot use (it fails the schema, say): the ingest job
 * dead-letters it with the reason and where it came from, and counts it, instead of
 * failing the whole page — so the valid records beside it still land.
 */
export class Rejected extends Data.TaggedClass("SourceRejected")<{
  readonly reason: string
  /** What was received, as it was (JSON-encoded into the dead letter). */
  readonly value: unknown
  /** Its key, when one can be read (the dead letter's record key). */
  readonly key?: string | undefined
  /** Where it came from, e.g. `{ url, page, index }`: the dead letter's coordinates. */
  readonly origin: Readonly<Record<string, string>>
}> {}

/** Whether an emitted element is a `Rejected`. */
export const isRejected = (u: unknown): u is Rejected => Predicate.isTagged(u, "SourceRejected")

/** A source of values of type `A`; it may also emit `Rejected` records. */
export interface Source<out A, out E = never, out R = never> {
  /** Shown in progress lines and in the `pandaflow-source` header. */
  readonly name: string
  readonly stream: (request: Request) => Stream.Stream<A | Rejected, E, R>
}

/** A source from a stream-producing function. */
export const make = <A, E = never, R = never>(
  name: string,
  stream: (request: Request) => Stream.Stream<A | Rejected, E, R>
): Source<Exclude<A, Rejected>, E, R> => ({
  name,
  stream: stream as (request: Request) => Stream.Stream<Exclude<A, Rejected> | Rejected, E, R>
})

/** A source that computes its records: record `i` of a request is `f(i, request)`. */
export const generate = <A>(name: string, f: (index: number, request: Request) => A): Source<A> =>
  make(name, (request) => Stream.map(Stream.range(0, Math.max(0, request.records) - 1), (i) => f(i, request)).pipe(
    Stream.take(Math.max(0, request.records))
  ))

/** The valid values a source emits for a request, without its `Rejected` records: for tests and tools. */
export const values = <A, E, R>(source: Source<A, E, R>, request: Request): Stream.Stream<A, E, R> =>
  Stream.filter(source.stream(request), (item): item is A => !isRejected(item))
