/**
 * Sources: where a pipeline's records come from before they reach the broker (an HTTP
 * API, a file, a database). A source is a Stream of values, typed in its errors and in
 * the services it needs; the ingest job writes what it emits to the pipeline's topic.
 *
 * @since 0.2.0
 */
import { Stream } from "effect"

/** What one ingest run asks a source for. Sources read the hints that apply to them. */
export interface Request {
  /** How many records to read (a source that runs dry earlier ends earlier). */
  readonly records: number
  /** Picks what to read: the same seed gives the same records (a scheduled run's slot makes its own). */
  readonly seed: string
  /** Records a request to the upstream system, when it pages. */
  readonly pageSize?: number | undefined
}

/** A source of values of type `A`. */
export interface Source<out A, out E = never, out R = never> {
  /** Shown in progress lines and in the `pandaflow-source` header. */
  readonly name: string
  readonly stream: (request: Request) => Stream.Stream<A, E, R>
}

/** A source from a stream-producing function. */
export const make = <A, E = never, R = never>(name: string, stream: (request: Request) => Stream.Stream<A, E, R>): Source<A, E, R> => ({
  name,
  stream
})

/** A source that computes its records: record `i` of a request is `f(i, request)`. */
export const generate = <A>(name: string, f: (index: number, request: Request) => A): Source<A> =>
  make(name, (request) => Stream.map(Stream.range(0, Math.max(0, request.records) - 1), (i) => f(i, request)).pipe(
    Stream.take(Math.max(0, request.records))
  ))
