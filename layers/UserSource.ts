/**
 * The randomuser API as a pandaflow `Source`: users fetched page by page through the
 * `UserSource` service, which the HTTP client (RandomUserSource) and the generator
 * (MemoryUserSource) implement.
 *
 * @since 0.1.0
 */
import { Context, Data, Effect, Stream } from "effect"
import * as Source from "../src/Source.js"
import type { PageRequest, User } from "./RandomUser.js"
import { maxResultsPerRequest } from "./RandomUser.js"

/** The API could not be reached, answered with an error, or sent a malformed body. */
export class SourceError extends Data.TaggedError("SourceError")<{
  readonly reason: "Unreachable" | "ApiError" | "MalformedResponse"
  readonly url: string
  readonly message: string
  readonly cause?: unknown
}> {}

/** The service: fetch one page of users for (seed, page). */
export interface UserSourceService {
  readonly fetchPage: (request: PageRequest) => Effect.Effect<ReadonlyArray<User>, SourceError>
}

/** The tag the pipeline asks for. */
export class UserSource extends Context.Tag("pandaflow/UserSource")<UserSource, UserSourceService>() {}

/** What `stream` reads: `records` users of one seed, `pageSize` a request. */
export interface StreamOptions extends Source.Request {
  readonly nat?: ReadonlyArray<string> | undefined
}

/**
 * Streams `records` users as consecutive pages of one seed. Pages are fetched one at a
 * time: the API is a shared, rate-limited resource, and the broker is the buffer.
 */
export const stream = (
  options: StreamOptions
): Stream.Stream<User, SourceError, UserSource> => {
  const pageSize = Math.min(options.pageSize ?? 1000, maxResultsPerRequest)
  const pages = Math.ceil(options.records / pageSize)
  // Every request asks for a full page: the API numbers pages by `results`, so a short
  // last request would shift its offset and return other users. We truncate instead.
  if (pages <= 0) return Stream.empty
  return Stream.range(1, pages).pipe(
    Stream.mapEffect((page) =>
      Effect.flatMap(UserSource, (source) =>
        source.fetchPage({ results: pageSize, seed: options.seed, page, nat: options.nat })
      )
    ),
    Stream.mapConcat((users) => users),
    Stream.take(options.records)
  )
}

/** The randomuser API as a pipeline source: `records` users of `seed`, page by page. */
export const source: Source.Source<User, SourceError, UserSource> = Source.make("randomuser", stream)
