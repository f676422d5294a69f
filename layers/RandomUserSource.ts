/**
 * The live `UserSource`: the randomuser.me v1.4 API (or its emulator) over
 * @effect/platform's HttpClient.
 *
 * Every response is checked, in this order, and each failure is a `SourceError` with its
 * own reason and a one-line message naming the URL (secrets redacted):
 * 1. the transfer: no connection (`Unreachable`), no complete response within the timeout —
 *    headers *and* body (`Timeout`), a body cut mid-transfer (`Truncated`, with the bytes
 *    that arrived);
 * 2. an error answer: `{ "error": … }` with any status, or a non-2xx status (`ApiError`,
 *    with the API's own message and the status);
 * 3. the envelope: JSON (`MalformedResponse`), `info.version` (`WrongVersion`: "the API
 *    answered version 1.3, pandaflow reads 1.4"), `{ results: [...], info }`
 *    (`MalformedResponse`, at most three issues), `info.seed`/`info.page` against the
 *    request (`UnexpectedPage`);
 * 4. each user on its own: an invalid one becomes a `Source.Rejected` (see `UserSource.checkUsers`).
 *
 * Only failures that can heal by themselves (network, timeouts, truncated bodies, 5xx,
 * 429, an error body with a 2xx status) are retried, a bounded number of times.
 *
 * @since 0.1.0
 */
// Modules by path, not the packages' index (see RandomUserEmulator.ts).
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Config, type ConfigError, Data, Duration, Effect, Either, Layer, Schedule, Schema, Stream } from "effect"
import * as RandomUser from "./RandomUser.js"
import * as Redact from "./Redact.js"
import { checkUsers, type Page, SourceError, type SourceErrorReason, UserSource, type UserSourceService } from "./UserSource.js"

/** How transient failures are retried: jittered exponential backoff, bounded. */
export interface RetryOptions {
  /** Retries after the first attempt. Default 4. */
  readonly times?: number | undefined
  /** The first delay; each next one doubles. Default 250 ms. */
  readonly base?: Duration.DurationInput | undefined
  /** No single delay exceeds this (before jitter). Default 5 s. */
  readonly max?: Duration.DurationInput | undefined
}

/** What `make` needs. */
export interface Options {
  /** The API base URL, e.g. `https://randomuser.me/api/1.4/` (see `defaultBaseUrl`). */
  readonly baseUrl: string
  /**
   * Per attempt, from sending the request to the last byte of the body. Default 30 s. A
   * page fails after at most `(retry.times + 1) × timeout` plus the backoff between attempts.
   */
  readonly timeout?: Duration.DurationInput | undefined
  readonly retry?: RetryOptions | undefined
}

/** The public API pinned to the version the schemas describe, used when `PANDAFLOW_API_URL` is not set. */
export const defaultBaseUrl = `https://randomuser.me/api/${RandomUser.version}/`

// One attempt's failure, with whether trying again could help. Internal: callers only
// ever see the SourceError.
class AttemptError extends Data.TaggedError("AttemptError")<{
  readonly error: SourceError
  readonly transient: boolean
}> {}

/** The retry schedule for `RetryOptions`. */
export const retrySchedule = (options: RetryOptions = {}): Schedule.Schedule<unknown> =>
  Schedule.exponential(options.base ?? Duration.millis(250), 2).pipe(
    // `union` takes the shorter delay, so `spaced(max)` caps the backoff.
    Schedule.union(Schedule.spaced(options.max ?? Duration.seconds(5))),
    // Jitter spreads retries of many clients so they do not hit a recovering API at once.
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(options.times ?? 4))
  )

/** A request URL fit to print (see `Redact.url`): a lone user name may be an API token. */
export const redactUrl = (url: string): string => Redact.url(url, { userIsSecret: true })

/** The request URL of a page: `baseUrl` with `results`, `seed`, `page` (and `nat`). */
export const requestUrl = (baseUrl: string, request: RandomUser.PageRequest): string => {
  const params = new URLSearchParams({
    results: String(request.results),
    seed: request.seed,
    page: String(request.page)
  })
  if (request.nat !== undefined && request.nat.length > 0) params.set("nat", request.nat.join(","))
  return `${baseUrl}${baseUrl.includes("?") ? "&" : "?"}${params.toString()}`
}

const oneLine = (text: string, max = 200): string => {
  const line = text.replace(/\s+/g, " ").trim()
  return line.length > max ? `${line.slice(0, max)}…` : line
}

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

// A JSON.parse failure at the very end of the text: the document was cut.
const endsMidJson = (error: unknown, text: string): boolean => {
  const message = error instanceof Error ? error.message : String(error)
  if (/end of (JSON )?input|Unterminated/i.test(message)) return true
  const position = /position (\d+)/.exec(message)
  return position !== null && Number(position[1]) >= text.trimEnd().length
}

const decodeEnvelope = Schema.decodeUnknownEither(RandomUser.Envelope, { errors: "all" })

/** Builds the service over the `HttpClient` in context. */
export const make = (options: Options): Effect.Effect<UserSourceService, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const timeout = Duration.decode(options.timeout ?? Duration.seconds(30))
    const attempts = (options.retry?.times ?? 4) + 1
    const schedule = retrySchedule(options.retry)

    const fetchPage = (request: RandomUser.PageRequest): Effect.Effect<Page, SourceError> => {
      const url = requestUrl(options.baseUrl, request)
      const safeUrl = redactUrl(url)
      const error = (reason: SourceErrorReason, message: string, extra: { status?: number; cause?: unknown } = {}) =>
        new SourceError({ reason, url: safeUrl, message: `${message} (${safeUrl})`, ...extra })
      const fail = (
        reason: SourceErrorReason,
        message: string,
        transient: boolean,
        extra: { status?: number; cause?: unknown } = {}
      ) => new AttemptError({ error: error(reason, message, extra), transient })

      // Reads the body chunk by chunk, so a cut or a stall can say how far it got.
      const readBody = (response: HttpClientResponse.HttpClientResponse, progress: { bytes: number }) =>
        Effect.suspend(() => {
          const decoder = new TextDecoder()
          let text = ""
          return Stream.runForEachChunk(response.stream, (chunk) =>
            Effect.sync(() => {
              for (const bytes of chunk) {
                progress.bytes += bytes.length
                text += decoder.decode(bytes, { stream: true })
              }
            })).pipe(
              Effect.map(() => text + decoder.decode()),
              Effect.mapError((e) => {
                const length = response.headers["content-length"]
                const of = length === undefined ? "" : ` of ${length}`
                return fail(
                  "Truncated",
                  `the body ended after ${progress.bytes}${of} bytes: truncated (HTTP ${response.status})`,
                  true,
                  { status: response.status, cause: e.cause }
                )
              })
            )
        })

      // Status and body of a complete response: the API's answer, or why it is not one.
      const answer = (status: number, text: string, bytes: number): Effect.Effect<unknown, AttemptError> => {
        const ok = status >= 200 && status < 300
        // 429 and 5xx are the API being busy or restarting; other 4xx are our bug. The
        // public API also answers overload with `{ error }` and HTTP 200.
        const transient = ok || status === 429 || status >= 500
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch (e) {
          if (!ok) return Effect.fail(fail("ApiError", `HTTP ${status}${text.trim() ? `: ${oneLine(text)}` : ""}`, transient, { status }))
          if (text.length > 0 && endsMidJson(e, text)) {
            return Effect.fail(fail("Truncated", `the body ended after ${bytes} bytes mid-JSON: truncated`, true, { status, cause: e }))
          }
          return Effect.fail(
            fail("MalformedResponse", `the body is not JSON (${e instanceof Error ? e.message : String(e)}): ${oneLine(text, 80)}`, false, {
              status,
              cause: e
            })
          )
        }
        if (isObject(json) && typeof json["error"] === "string") {
          const detail = oneLine(json["error"])
          return Effect.fail(fail("ApiError", ok ? `HTTP ${status} with an error: ${detail}` : `HTTP ${status}: ${detail}`, transient, { status }))
        }
        if (!ok) return Effect.fail(fail("ApiError", `HTTP ${status}: ${oneLine(text)}`, transient, { status }))
        return Effect.succeed(json)
      }

      // The envelope, against the request: the page's users, or why this is not the page asked for.
      const check = (json: unknown): Either.Either<Page, SourceError> => {
        const info = isObject(json) ? json["info"] : undefined
        const reported = isObject(info) ? info["version"] : undefined
        if ((typeof reported === "string" || typeof reported === "number") && String(reported) !== RandomUser.version) {
          return Either.left(error("WrongVersion", `the API answered version ${String(reported)}, pandaflow reads ${RandomUser.version}`))
        }
        const envelope = decodeEnvelope(json)
        if (Either.isLeft(envelope)) {
          return Either.left(
            error("MalformedResponse", `not a randomuser ${RandomUser.version} response: ${RandomUser.formatIssues(envelope.left.issue)}`, {
              cause: envelope.left
            })
          )
        }
        const { info: got, results } = envelope.right
        if (got.seed !== request.seed || got.page !== request.page) {
          return Either.left(
            error(
              "UnexpectedPage",
              `asked for seed ${JSON.stringify(request.seed)} page ${request.page}, the API answered seed ${JSON.stringify(got.seed)} page ${got.page}`
            )
          )
        }
        return Either.right({ url: safeUrl, info: got, items: checkUsers(results, { url: safeUrl, page: request.page }) })
      }

      let attempt = 0
      // One attempt: the whole exchange, headers and body, within `timeout`.
      const once = Effect.suspend(() => {
        attempt++
        const progress: { status?: number; bytes: number } = { bytes: 0 }
        return client.execute(HttpClientRequest.get(url).pipe(HttpClientRequest.acceptJson)).pipe(
          Effect.mapError((e) =>
            // A malformed URL will not get better by asking again. The platform's message
            // repeats the full URL (secrets and all): say it our way.
            fail(
              "Unreachable",
              `cannot reach the API: ${e.cause instanceof Error ? e.cause.message : e.reason}`,
              !(e._tag === "RequestError" && e.reason !== "Transport"),
              { cause: e.cause }
            )
          ),
          Effect.flatMap((response) => {
            progress.status = response.status
            return Effect.map(readBody(response, progress), (text) => ({ status: response.status, text }))
          }),
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              progress.status === undefined
                ? fail("Timeout", `no response within ${Duration.format(timeout)}`, true)
                : fail(
                  "Timeout",
                  `the body stalled: ${progress.bytes} bytes within ${Duration.format(timeout)} (HTTP ${progress.status})`,
                  true,
                  { status: progress.status }
                )
          }),
          Effect.flatMap(({ status, text }) => answer(status, text, progress.bytes)),
          Effect.tapError((e) =>
            e.transient && attempt < attempts
              ? Effect.logWarning(`randomuser: attempt ${attempt} of ${attempts} failed, retrying: ${e.error.message}`)
              : Effect.void
          )
        )
      })

      return once.pipe(
        Effect.retry({ schedule, while: (e) => e.transient }),
        Effect.mapError((e) => e.error),
        // Checking is outside the retry: the same request would get the same answer.
        Effect.flatMap(check),
        Effect.withSpan("RandomUserSource.fetchPage", {
          attributes: { seed: request.seed, page: request.page, results: request.results }
        })
      )
    }

    return UserSource.of({ fetchPage })
  })

/** The source as a layer; provide an `HttpClient` (see `layerNode`). */
export const layer = (options: Options): Layer.Layer<UserSource, never, HttpClient.HttpClient> =>
  Layer.effect(UserSource, make(options))

/** The settings `layerConfig` reads: `PANDAFLOW_API_URL`, `PANDAFLOW_API_TIMEOUT`. */
export const config: Config.Config<Options> = Config.all({
  // Validate before the default, so the error carries the setting's name.
  baseUrl: Config.string("PANDAFLOW_API_URL").pipe(
    Config.validate({
      message: `expected an http(s) URL such as ${defaultBaseUrl}`,
      validation: (s) => /^https?:\/\/[^/\s]+/.test(s)
    }),
    Config.withDefault(defaultBaseUrl)
  ),
  timeout: Config.duration("PANDAFLOW_API_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30)))
})

/** The source configured from the environment (see `config`). */
export const layerConfig: Layer.Layer<UserSource, ConfigError.ConfigError, HttpClient.HttpClient> = Layer.effect(
  UserSource,
  Effect.flatMap(config, make)
)

/** `layer` with Node's HttpClient (undici) included. */
export const layerNode = (options: Options): Layer.Layer<UserSource> =>
  layer(options).pipe(Layer.provide(NodeHttpClient.layerUndici))

/** `layerConfig` with Node's HttpClient (undici) included. */
export const layerConfigNode: Layer.Layer<UserSource, ConfigError.ConfigError> = layerConfig.pipe(
  Layer.provide(NodeHttpClient.layerUndici)
)
