/**
 * The live `UserSource`: the randomuser.me v1.4 API (or its emulator) over
 * @effect/platform's HttpClient.
 *
 * Every response is checked: a non-2xx status, a body that is not a v1.4 response, and a
 * server that cannot be reached each become a `SourceError` with its own reason. Only
 * failures that can heal by themselves (network, timeouts, 5xx, 429) are retried.
 *
 * @since 0.1.0
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Config, type ConfigError, Data, Duration, Effect, Either, Layer, Option, ParseResult, Schedule, Schema } from "effect"
import * as RandomUser from "./RandomUser.js"
import { SourceError, UserSource, type UserSourceService } from "./UserSource.js"

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
  /** The API base URL, e.g. `https://randomuser.me/api/`. */
  readonly baseUrl: string
  /** Per request, including reading the body. Default 30 s. */
  readonly timeout?: Duration.DurationInput | undefined
  readonly retry?: RetryOptions | undefined
}

/** The public API, used when `PANDAFLOW_API_URL` is not set. */
export const defaultBaseUrl = "https://randomuser.me/api/"

// One attempt's failure, with whether trying again could help. Internal: callers only
// ever see the SourceError.
class AttemptError extends Data.TaggedError("AttemptError")<{
  readonly error: SourceError
  readonly transient: boolean
}> {}

const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(RandomUser.ErrorResponse))
const decodeResponse = Schema.decodeUnknownEither(RandomUser.Response)

/** The retry schedule for `RetryOptions`. */
export const retrySchedule = (options: RetryOptions = {}): Schedule.Schedule<unknown> =>
  Schedule.exponential(options.base ?? Duration.millis(250), 2).pipe(
    // `union` takes the shorter delay, so `spaced(max)` caps the backoff.
    Schedule.union(Schedule.spaced(options.max ?? Duration.seconds(5))),
    // Jitter spreads retries of many clients so they do not hit a recovering API at once.
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(options.times ?? 4))
  )

const requestUrl = (baseUrl: string, request: RandomUser.PageRequest): string => {
  const params = new URLSearchParams({
    results: String(request.results),
    seed: request.seed,
    page: String(request.page)
  })
  if (request.nat !== undefined && request.nat.length > 0) params.set("nat", request.nat.join(","))
  return `${baseUrl}${baseUrl.includes("?") ? "&" : "?"}${params.toString()}`
}

/** Builds the service over the `HttpClient` in context. */
export const make = (options: Options): Effect.Effect<UserSourceService, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const timeout = Duration.decode(options.timeout ?? Duration.seconds(30))
    const schedule = retrySchedule(options.retry)

    const fetchPage = (request: RandomUser.PageRequest) => {
      const url = requestUrl(options.baseUrl, request)
      const fail = (reason: SourceError["reason"], message: string, transient: boolean, cause?: unknown) =>
        new AttemptError({
          error: new SourceError(
            cause === undefined ? { reason, url, message } : { reason, url, message, cause }
          ),
          transient
        })

      // One request: status and body text, or why not. The timeout covers reading the
      // body too, since a stalled body hangs a pipeline just as well as a stalled connect.
      const attempt = client.execute(HttpClientRequest.get(url).pipe(HttpClientRequest.acceptJson)).pipe(
        Effect.flatMap((response) => Effect.map(response.text, (text) => ({ status: response.status, text }))),
        Effect.mapError((error) =>
          fail(
            "Unreachable",
            error.message,
            // A malformed URL will not get better by asking again.
            !(error._tag === "RequestError" && error.reason !== "Transport"),
            error
          )
        ),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => fail("Unreachable", `no response within ${Duration.format(timeout)}`, true)
        }),
        Effect.flatMap(({ status, text }) => {
          if (status >= 200 && status < 300) return Effect.succeed(text)
          const detail = Option.match(decodeErrorBody(text), {
            onNone: () => text.slice(0, 200),
            onSome: (body) => body.error
          })
          // 429 and 5xx are the API being busy or restarting; other 4xx are our bug.
          const transient = status === 429 || status >= 500
          return Effect.fail(fail("ApiError", `HTTP ${status}${detail ? `: ${detail}` : ""}`, transient))
        })
      )

      return attempt.pipe(
        Effect.retry({ schedule, while: (e) => e.transient }),
        Effect.mapError((e) => e.error),
        // Decoding is outside the retry: the same request would get the same bad body.
        Effect.flatMap((text) => {
          let json: unknown
          try {
            json = JSON.parse(text)
          } catch (e) {
            return Effect.fail(
              new SourceError({
                reason: "MalformedResponse",
                url,
                message: `invalid JSON: ${e instanceof Error ? e.message : String(e)}`,
                cause: e
              })
            )
          }
          return Either.match(decodeResponse(json), {
            onLeft: (error) =>
              Effect.fail(
                new SourceError({
                  reason: "MalformedResponse",
                  url,
                  message: ParseResult.TreeFormatter.formatErrorSync(error),
                  cause: error
                })
              ),
            onRight: (body): Effect.Effect<ReadonlyArray<RandomUser.User>> => Effect.succeed(body.results)
          })
        }),
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
      message: "expected an http(s) URL such as https://randomuser.me/api/",
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
