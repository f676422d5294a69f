/**
 * The randomuser API as a pandaflow `Source`: users fetched page by page through the
 * `UserSource` service, which the HTTP client (RandomUserSource) and the generator
 * (MemoryUserSource) implement.
 *
 * Every user is checked on its own: a valid one is emitted, an invalid one becomes a
 * `Source.Rejected` with a short reason and its origin (URL, page, index), which the ingest
 * job dead-letters and counts — so one bad user never sinks the page beside it.
 *
 * @since 0.1.0
 */
import { Chunk, Context, Data, Effect, Either, Option, Stream } from "effect"
import * as Source from "../src/Source.js"
import type { Info, PageRequest, User } from "./RandomUser.js"
import { checkUser, keyOf, maxResultsPerRequest } from "./RandomUser.js"

/**
 * Why the API gave no usable page:
 * - `Unreachable`: no connection (refused, DNS, TLS), after the bounded retries;
 * - `Timeout`: no complete response (headers and body) within the configured timeout;
 * - `ApiError`: the API answered with an error (`{ "error": … }`, any status) or a bad status;
 * - `Truncated`: the body ended before it was complete;
 * - `MalformedResponse`: not JSON, or not a randomuser response (no `results`/`info`);
 * - `WrongVersion`: `info.version` is not the version pandaflow reads;
 * - `UnexpectedPage`: `info.seed` or `info.page` is not what was asked for.
 */
export type SourceErrorReason =
  | "Unreachable"
  | "Timeout"
  | "ApiError"
  | "Truncated"
  | "MalformedResponse"
  | "WrongVersion"
  | "UnexpectedPage"

/** The API could not be reached, answered with an error, or sent an unusable body. */
export class SourceError extends Data.TaggedError("SourceError")<{
  readonly reason: SourceErrorReason
  /** The request's URL, secrets redacted. */
  readonly url: string
  /** One line, naming the URL: what happened. */
  readonly message: string
  /** The HTTP status, when a response arrived. */
  readonly status?: number | undefined
  readonly cause?: unknown
}> {}

/** One page as received: its users in order (invalid ones as `Rejected`) and what the API said about it. */
export interface Page {
  /** The request's URL with secrets redacted: the origin of its records. */
  readonly url: string
  readonly items: ReadonlyArray<User | Source.Rejected>
  /** The response's `info`, already checked against the request's seed, page and version. */
  readonly info: Info
}

/** The service: fetch one page of users for (seed, page). */
export interface UserSourceService {
  readonly fetchPage: (request: PageRequest) => Effect.Effect<Page, SourceError>
}

/** The tag the pipeline asks for. */
export class UserSource extends Context.Tag("pandaflow/UserSource")<UserSource, UserSourceService>() {}

/**
 * Checks each received user on its own: valid users as they decode, invalid ones as
 * `Rejected` with a short reason (at most three issues with their paths), the raw value,
 * its `login.uuid` when readable, and origin `{ url, page, index }` (index 0-based in the page).
 */
export const checkUsers = (
  results: ReadonlyArray<unknown>,
  origin: { readonly url: string; readonly page: number }
): Array<User | Source.Rejected> => {
  const page = String(origin.page)
  return results.map((raw, index) =>
    Either.getOrElse(checkUser(raw), (reason): User | Source.Rejected =>
      new Source.Rejected({ reason, value: raw, key: keyOf(raw), origin: { url: origin.url, page, index: String(index) } })
    )
  )
}

/** What `stream` reads: `records` users of one seed, `pageSize` a request. */
export interface StreamOptions extends Source.Request {
  readonly nat?: ReadonlyArray<string> | undefined
}

/** The default `pageSize`. */
export const defaultPageSize = 1000

/**
 * The `results` each request of a run asks for: `min(pageSize, records)`, within 1…5000.
 * See `stream` for what it means for determinism.
 */
export const pageSizeFor = (records: number, pageSize: number = defaultPageSize): number =>
  Math.max(1, Math.min(Math.floor(pageSize), maxResultsPerRequest, Math.floor(records)))

const firstKey = (items: ReadonlyArray<User | Source.Rejected>): string | undefined => {
  for (const item of items) {
    const key = Source.isRejected(item) ? item.key : item.login.uuid
    if (key !== undefined) return key
  }
  return undefined
}

/**
 * Streams `records` users of one seed as consecutive pages of `p = min(pageSize, records)`
 * users, one request at a time (the API is a shared, rate-limited resource, and the broker
 * is the buffer). Invalid users come as `Source.Rejected`.
 *
 * Which users a run gets. The API numbers pages by `results`: page `k` of `p` users holds
 * users `(k-1)·p … k·p-1` of the seed. So every request of a run asks for the same `p`,
 * and the last page is cut to what is needed (asking for a smaller last page would shift
 * its offset and return other users). Hence:
 * - the same (seed, records, pageSize) always gives the same users — what a scheduled run
 *   relies on, since its slot fixes the seed and its `--records` is fixed;
 * - with the same seed and pageSize, a run of fewer records gets a prefix of a longer run's
 *   users: with `records ≥ pageSize` the pages are the same; with `records < pageSize` the
 *   single request is page 1 of `records` users: the first users of the seed by the API's
 *   numbering (the emulator guarantees it; for the public API it is the documented paging,
 *   not a promise — where it matters keep `records` fixed, as the scheduled runs do);
 * - another pageSize gives other users from page 2 on: keep it fixed for a seed.
 *
 * The API's answer is checked: a page shorter than needed ends the stream early with a
 * warning naming its URL and how many users are missing (the ingest summary then shows
 * produced < requested), and a page that repeats an earlier page's users (same first key)
 * is emitted — the ingest job skips and counts its duplicates — and ends the stream with a
 * warning, instead of requesting more pages the API evidently does not serve.
 */
export const stream = (
  options: StreamOptions
): Stream.Stream<User | Source.Rejected, SourceError, UserSource> => {
  const records = Math.max(0, Math.floor(options.records))
  if (!(records > 0)) return Stream.empty
  const pageSize = pageSizeFor(records, options.pageSize)
  const pages = Math.ceil(records / pageSize)
  return Stream.unwrap(Effect.map(UserSource, (source) => {
    // Each page's first key and page number: enough to recognise a repeated page, at a
    // cost of one string a page.
    const firstKeys = new Map<string, number>()
    return Stream.paginateChunkEffect(1, (page: number) =>
      Effect.gen(function*() {
        const fetched = yield* source.fetchPage({ results: pageSize, seed: options.seed, page, nat: options.nat })
        const before = (page - 1) * pageSize
        const wanted = Math.min(pageSize, records - before)
        const items = fetched.items.length > wanted ? fetched.items.slice(0, wanted) : fetched.items
        const annotations = { url: fetched.url, page, seed: options.seed }
        let next: Option.Option<number> = page < pages ? Option.some(page + 1) : Option.none()
        if (items.length < wanted) {
          const missing = wanted - items.length
          yield* Effect.logWarning(
            `randomuser: page ${page} (${fetched.url}) has ${items.length} of the ${wanted} users asked for ` +
              `(info.results ${fetched.info.results}): ${missing} missing; the run ends with ${before + items.length} of ${records}`
          ).pipe(Effect.annotateLogs({ ...annotations, missing }))
          next = Option.none()
        }
        const key = firstKey(items)
        const earlier = key === undefined ? undefined : firstKeys.get(key)
        if (earlier !== undefined) {
          yield* Effect.logWarning(
            `randomuser: page ${page} (${fetched.url}) repeats the users of page ${earlier}: ` +
              `counted as duplicates; no further pages requested`
          ).pipe(Effect.annotateLogs({ ...annotations, repeats: earlier }))
          next = Option.none()
        } else if (key !== undefined) firstKeys.set(key, page)
        return [Chunk.unsafeFromArray(items), next] as const
      })
    )
  }))
}

/** The randomuser API as a pipeline source: `records` users of `seed`, page by page. */
export const source: Source.Source<User, SourceError, UserSource> = Source.make("randomuser", stream)
