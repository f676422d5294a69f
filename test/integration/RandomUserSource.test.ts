/**
 * The HTTP source against real HTTP servers on 127.0.0.1: the emulator, and tiny node:http
 * servers answering with hand-written v1.4 fixtures and with the API's quirks and faults
 * (issue 9, "The API source"): a mixed page through the real pipeline, an error body with
 * HTTP 200, another version, short, repeated and foreign pages, page sizes, a truncated body
 * and a stalled one with a 2 s timeout.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Layer, Logger, Stream, TestContext } from "effect"
import * as net from "node:net"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import * as FakeUsers from "../../layers/FakeUsers.js"
import * as RandomUser from "../../layers/RandomUser.js"
import * as RandomUserEmulator from "../../layers/RandomUserEmulator.js"
import * as RandomUserSource from "../../layers/RandomUserSource.js"
import * as TestDriver from "../../layers/TestDriver.js"
import * as UserSource from "../../layers/UserSource.js"
import { Broker } from "../../src/Broker.js"
import * as Pipeline from "../../src/Pipeline.js"
import * as Source from "../../src/Source.js"
import { ada, flatStreet, flatStreetUuid, grace, joan, legacyUser, noUuid, page, sendJson, serve } from "../support/randomUserApi.js"

// Fast retries: the tests check behaviour, not patience.
const fastRetry = { times: 2, base: "5 millis", max: "20 millis" } as const

/** `fetchPage` of a source pointed at `url`. */
const fetchFrom = (url: string, request: RandomUser.PageRequest, options: Partial<RandomUserSource.Options> = {}) =>
  Effect.flatMap(
    RandomUserSource.make({ baseUrl: url, retry: fastRetry, ...options }),
    (source) => Effect.either(source.fetchPage(request))
  ).pipe(Effect.provide(NodeHttpClient.layerUndici))

const expectSourceError = <A>(result: Either.Either<A, UserSource.SourceError>) => {
  if (Either.isRight(result)) throw new Error("expected a SourceError")
  return result.left
}

/** Collects the messages logged at warning level while `effect` runs. */
const warningsOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const warnings: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    const result = yield* effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    return [result, warnings] as const
  })

/** Runs the ingest job of the reference pipeline on a TestDriver, reading from `url`. */
const ingestFrom = (url: string, request: Source.Request) =>
  Effect.gen(function*() {
    const driver = yield* TestDriver.make(RandomUserPipeline.make())
    const summary = yield* Pipeline.ingest(driver.pipeline, request).pipe(
      Effect.provide(Layer.mergeAll(
        Layer.succeed(Broker, driver.broker),
        RandomUserSource.layer({ baseUrl: url, retry: fastRetry }).pipe(Layer.provide(NodeHttpClient.layerUndici))
      ))
    )
    return { driver, summary }
  })

// --- The emulator ------------------------------------------------------------------------

const withEmulatorSource = <A, E>(
  f: (source: UserSource.UserSourceService, url: string) => Effect.Effect<A, E, UserSource.UserSource>
) =>
  Effect.gen(function*() {
    const { url } = yield* RandomUserEmulator.RandomUserEmulator
    const source = yield* RandomUserSource.make({ baseUrl: url, retry: fastRetry })
    return yield* f(source, url).pipe(Effect.provideService(UserSource.UserSource, source))
  }).pipe(Effect.provide([RandomUserEmulator.layer(), NodeHttpClient.layerUndici]))

describe("RandomUserSource against the emulator", () => {
  it.live("fetches a page equal to the generator's, from the pinned version", () =>
    withEmulatorSource((source, url) =>
      Effect.gen(function*() {
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/1\.4\/$/)
        const fetched = yield* source.fetchPage({ results: 25, seed: "it", page: 3, nat: ["FR", "GB"] })
        expect(fetched.info).toEqual({ seed: "it", results: 25, page: 3, version: "1.4" })
        expect(fetched.url).toBe(`${url}?results=25&seed=it&page=3&nat=FR%2CGB`)
        expect(fetched.items.filter(Source.isRejected)).toEqual([])
        expect(fetched.items).toEqual(FakeUsers.generatePage({ seed: "it", page: 3, results: 25, nat: ["FR", "GB"] }))
      })
    ))

  it.live("streams exactly `records` users, in pages of the run's page size", () =>
    withEmulatorSource(() =>
      Effect.gen(function*() {
        const users = yield* Stream.runCollect(UserSource.stream({ records: 2500, seed: "stream", pageSize: 1000 }))
        expect(Chunk.size(users)).toBe(2500)
        // Pages 1..3 of 1000 are users 0..2999 of the seed; the third is cut to 500.
        expect(Chunk.toReadonlyArray(users)).toEqual(FakeUsers.generatePage({ seed: "stream", page: 1, results: 2500 }))
      })
    ))

  it.live("turns a 400 into an ApiError with the API's message and the status", () =>
    withEmulatorSource((source) =>
      Effect.gen(function*() {
        for (const results of [0, 9999]) {
          const error = expectSourceError(yield* Effect.either(source.fetchPage({ results, seed: "x", page: 1 })))
          expect(error.reason).toBe("ApiError")
          expect(error.status).toBe(400)
          expect(error.message).toContain("HTTP 400: results must be")
          expect(error.url).toContain(`results=${results}`)
        }
      })
    ))
})

// --- Issue 9, item 1: one bad user does not sink its page --------------------------------

describe("a page with invalid users", () => {
  it.live("lands its valid users and dead-letters the rest, stage source, with reason and origin", () =>
    Effect.scoped(Effect.gen(function*() {
      const api = yield* serve((_req, res, q) => sendJson(res, page(q, [ada, noUuid, flatStreet, grace])))
      const { driver, summary } = yield* ingestFrom(api.url, { records: 4, seed: "mixed", pageSize: 1000 })
      expect(api.requests).toEqual([{ results: 4, seed: "mixed", page: 1 }])
      expect(summary).toEqual({ requested: 4, received: 4, produced: 2, duplicates: 0, rejected: 2 })

      yield* driver.run.pipe(Effect.provide(TestContext.TestContext))
      const rows = yield* driver.rows("postgres")
      expect(rows.map((r) => (r as { id: string }).id)).toEqual([ada.login.uuid, grace.login.uuid])

      const pageUrl = `${api.url}?results=4&seed=mixed&page=1`
      const letters = yield* driver.deadLetters
      expect(letters).toEqual([
        {
          error: "login.uuid: is missing",
          stage: "source",
          source: { topic: "users.raw.v1", partition: -1, offset: "-1" },
          origin: { url: pageUrl, page: "1", index: "1" },
          attempt: 1,
          value: JSON.stringify(noUuid)
        },
        {
          error: "location.street: expected an object, got \"12 Main St\"",
          stage: "source",
          source: { topic: "users.raw.v1", partition: -1, offset: "-1" },
          origin: { url: pageUrl, page: "1", index: "2" },
          attempt: 1,
          value: JSON.stringify(flatStreet)
        }
      ])
    })))

  it.live("keys a rejected user by its login.uuid when it has one", () =>
    Effect.scoped(Effect.gen(function*() {
      const api = yield* serve((_req, res, q) => sendJson(res, page(q, [flatStreet, noUuid])))
      const fetched = yield* fetchFrom(api.url, { results: 2, seed: "k", page: 1 })
      if (Either.isLeft(fetched)) throw fetched.left
      const [a, b] = fetched.right.items
      expect(Source.isRejected(a) && a.key).toBe(flatStreetUuid)
      expect(Source.isRejected(b) && b.key).toBe(undefined)
    })))
})

// --- Items 2, 3: error bodies and versions ------------------------------------------------

describe("what the API answers instead of a page", () => {
  it.live("an error body with HTTP 200 is an ApiError with the API's message, the status and the URL (retried, bounded)", () =>
    Effect.scoped(Effect.gen(function*() {
      const message = "Uh oh, something has gone wrong. Please tweet us @randomapi about the issue. Thank you."
      const api = yield* serve((_req, res) => sendJson(res, { error: message }))
      const error = expectSourceError(yield* fetchFrom(api.url, { results: 5, seed: "e", page: 1 }))
      const url = `${api.url}?results=5&seed=e&page=1`
      expect(error.reason).toBe("ApiError")
      expect(error.status).toBe(200)
      expect(error.url).toBe(url)
      expect(error.message).toBe(`HTTP 200 with an error: ${message} (${url})`)
      expect(api.requests).toHaveLength(1 + fastRetry.times)
    })))

  it.live("another version is WrongVersion, one short line, not retried", () =>
    Effect.scoped(Effect.gen(function*() {
      const api = yield* serve((_req, res, q) => sendJson(res, page(q, [legacyUser], { version: "1.3" })))
      const error = expectSourceError(yield* fetchFrom(api.url, { results: 1, seed: "v", page: 1 }))
      expect(error.reason).toBe("WrongVersion")
      expect(error.message).toBe(`the API answered version 1.3, pandaflow reads 1.4 (${api.url}?results=1&seed=v&page=1)`)
      expect(api.requests).toHaveLength(1)
    })))

  it.live("a legacy user under a 1.4 label is rejected with at most three short issues", () =>
    Effect.scoped(Effect.gen(function*() {
      const api = yield* serve((_req, res, q) => sendJson(res, page(q, [legacyUser])))
      const fetched = yield* fetchFrom(api.url, { results: 1, seed: "l", page: 1 })
      if (Either.isLeft(fetched)) throw fetched.left
      const [rejected] = fetched.right.items
      if (!Source.isRejected(rejected)) throw new Error("expected a Rejected")
      expect(rejected.reason).toBe(
        // 7 issues: street, country, coordinates, timezone, login.uuid, dob, registered.
        "location.street: expected an object, got \"1234 main st\"; location.country: is missing; " +
          "location.coordinates: is missing (and 4 more)"
      )
      expect(rejected.key).toBe(undefined)
    })))

  it.live("a body that is not a randomuser response is MalformedResponse with the first issues, not retried", () =>
    Effect.scoped(Effect.gen(function*() {
      const api = yield* serve((_req, res, q) => sendJson(res, { results: "nope", info: { seed: q.seed, page: 1, version: "1.4" } }))
      const error = expectSourceError(yield* fetchFrom(api.url, { results: 1, seed: "m", page: 1 }))
      expect(error.reason).toBe("MalformedResponse")
      expect(error.message).toBe(
        `not a randomuser 1.4 response: results: expected an array, got "nope"; info.results: is missing (${api.url}?results=1&seed=m&page=1)`
      )
      expect(api.requests).toHaveLength(1)
    })))

  it.live("a page or seed other than the one asked for is UnexpectedPage", () =>
    Effect.scoped(Effect.gen(function*() {
      const wrongPage = yield* serve((_req, res, q) => sendJson(res, page(q, [ada], { page: 1 })))
      const e1 = expectSourceError(yield* fetchFrom(wrongPage.url, { results: 1, seed: "p", page: 2 }))
      expect(e1.reason).toBe("UnexpectedPage")
      expect(e1.message).toBe(`asked for seed "p" page 2, the API answered seed "p" page 1 (${wrongPage.url}?results=1&seed=p&page=2)`)
      const wrongSeed = yield* serve((_req, res, q) => sendJson(res, page(q, [ada], { seed: "other" })))
      const e2 = expectSourceError(yield* fetchFrom(wrongSeed.url, { results: 1, seed: "p", page: 1 }))
      expect(e2.reason).toBe("UnexpectedPage")
      expect(e2.message).toContain(`the API answered seed "other" page 1`)
    })))
})

// --- Items 4, 5: short and repeated pages, page sizes ------------------------------------

describe("short and repeated pages", () => {
  it.live("a short page ends the run short, with a warning naming the URL, page and how many are missing", () =>
    Effect.scoped(Effect.gen(function*() {
      // Asked for 3 a page, the API sends one user.
      const api = yield* serve((_req, res, q) => sendJson(res, page(q, [ada])))
      const [{ summary }, warnings] = yield* warningsOf(ingestFrom(api.url, { records: 6, seed: "short", pageSize: 3 }))
      expect(summary).toEqual({ requested: 6, received: 1, produced: 1, duplicates: 0, rejected: 0 })
      // Page 2 is not asked for: it would start at user 3 and leave a hole.
      expect(api.requests).toEqual([{ results: 3, seed: "short", page: 1 }])
      expect(warnings).toEqual([
        `randomuser: page 1 (${api.url}?results=3&seed=short&page=1) has 1 of the 3 users asked for (info.results 1): ` +
        "2 missing; the run ends with 1 of 6"
      ])
    })))

  it.live("a repeated page is counted as duplicates and ends the run: no endless re-requests", () =>
    Effect.scoped(Effect.gen(function*() {
      // The API ignores `page` but echoes it: every page is the same three users.
      const api = yield* serve((_req, res, q) => sendJson(res, page(q, [ada, grace, joan])))
      const [{ summary }, warnings] = yield* warningsOf(ingestFrom(api.url, { records: 12, seed: "again", pageSize: 3 }))
      expect(summary).toEqual({ requested: 12, received: 6, produced: 3, duplicates: 3, rejected: 0 })
      expect(api.requests.map((q) => q.page)).toEqual([1, 2])
      expect(warnings).toEqual([
        `randomuser: page 2 (${api.url}?results=3&seed=again&page=2) repeats the users of page 1: ` +
        "counted as duplicates; no further pages requested"
      ])
    })))

  it.live("asks for what is needed: results = min(pageSize, records), the same size for every page", () =>
    Effect.scoped(Effect.gen(function*() {
      const api = yield* serve((_req, res, q) =>
        sendJson(res, page(q, FakeUsers.generatePage({ seed: q.seed, page: q.page, results: q.results })))
      )
      const run = (records: number, pageSize?: number) =>
        Stream.runCollect(Source.values(UserSource.source, { records, seed: "size", pageSize })).pipe(
          Effect.provide(RandomUserSource.layer({ baseUrl: api.url, retry: fastRetry })),
          Effect.provide(NodeHttpClient.layerUndici),
          Effect.map(Chunk.toReadonlyArray)
        )
      const one = yield* run(1)
      expect(api.requests).toEqual([{ results: 1, seed: "size", page: 1 }])
      const seven = yield* run(7, 3)
      expect(api.requests.slice(1)).toEqual([1, 2, 3].map((p) => ({ results: 3, seed: "size", page: p })))
      // The same seed and page size: a shorter run is a prefix of a longer one.
      expect(seven).toHaveLength(7)
      expect(one).toEqual(seven.slice(0, 1))
      const two = yield* run(2, 3)
      expect(api.requests.at(-1)).toEqual({ results: 2, seed: "size", page: 1 })
      expect(two).toEqual(seven.slice(0, 2))
    })))
})

// --- Item 6: transfers that fail half-way --------------------------------------------------

describe("transfers that fail half-way", () => {
  it.live("a body cut mid-transfer is Truncated, naming the bytes that arrived; retried, bounded", () =>
    Effect.scoped(Effect.gen(function*() {
      const api = yield* serve((_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": 2000 })
        res.write(JSON.stringify({ results: [ada] }).slice(0, 500), () => res.destroy())
      })
      const error = expectSourceError(yield* fetchFrom(api.url, { results: 1, seed: "t", page: 1 }))
      expect(error.reason).toBe("Truncated")
      expect(error.status).toBe(200)
      expect(error.message).toBe(`the body ended after 500 of 2000 bytes: truncated (HTTP 200) (${api.url}?results=1&seed=t&page=1)`)
      expect(api.requests).toHaveLength(1 + fastRetry.times)
    })))

  it.live("a complete transfer of cut JSON is Truncated too, not a decode error", () =>
    Effect.scoped(Effect.gen(function*() {
      const cut = JSON.stringify(page({ results: 1, seed: "t", page: 1 }, [ada])).slice(0, 300)
      const api = yield* serve((_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": 300 })
        res.end(cut)
      })
      const error = expectSourceError(yield* fetchFrom(api.url, { results: 1, seed: "t", page: 1 }))
      expect(error.reason).toBe("Truncated")
      expect(error.message).toBe(`the body ended after 300 bytes mid-JSON: truncated (${api.url}?results=1&seed=t&page=1)`)
    })))

  it.live("a body that stalls after the headers fails on the configured 2 s timeout, per attempt, retries bounded", () =>
    Effect.scoped(Effect.gen(function*() {
      const api = yield* serve((_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": 5000 })
        res.write("{\"results\":[") // then nothing
      })
      const started = Date.now()
      const error = expectSourceError(
        yield* fetchFrom(api.url, { results: 1, seed: "s", page: 1 }, { timeout: "2 seconds", retry: { times: 1, base: "10 millis" } })
      )
      const elapsed = Date.now() - started
      expect(error.reason).toBe("Timeout")
      expect(error.message).toBe(`the body stalled: 12 bytes within 2s (HTTP 200) (${api.url}?results=1&seed=s&page=1)`)
      expect(api.requests).toHaveLength(2)
      // Two attempts of 2 s each and a 10 ms backoff: not the 162 s of before.
      expect(elapsed).toBeGreaterThanOrEqual(3_900)
      expect(elapsed).toBeLessThan(6_000)
    })), 15_000)

  it.live("a server that never answers fails on the timeout as Timeout", () =>
    Effect.scoped(Effect.gen(function*() {
      const api = yield* serve(() => {})
      const error = expectSourceError(
        yield* fetchFrom(api.url, { results: 1, seed: "x", page: 1 }, { timeout: "100 millis", retry: { times: 1, base: "5 millis" } })
      )
      expect(error.reason).toBe("Timeout")
      expect(error.message).toContain("no response within 100ms")
      expect(api.requests).toHaveLength(2)
    })))

  it.live("retries 5xx and 429, then succeeds", () =>
    Effect.scoped(Effect.gen(function*() {
      const api = yield* serve((_req, res, q, hit) =>
        hit === 1
          ? sendJson(res, { error: "busy" }, 503)
          : hit === 2
          ? sendJson(res, { error: "slow down" }, 429)
          : sendJson(res, page(q, [ada, grace]))
      )
      const fetched = yield* fetchFrom(api.url, { results: 2, seed: "r", page: 1 })
      if (Either.isLeft(fetched)) throw fetched.left
      expect(fetched.right.items).toEqual([ada, grace])
      expect(api.requests).toHaveLength(3)
    })))

  it.live("gives up on a persistent 5xx after the bounded retries, as ApiError", () =>
    Effect.scoped(Effect.gen(function*() {
      const api = yield* serve((_req, res) => sendJson(res, { error: "down" }, 500))
      const error = expectSourceError(yield* fetchFrom(api.url, { results: 1, seed: "x", page: 1 }))
      expect(error.reason).toBe("ApiError")
      expect(error.status).toBe(500)
      expect(error.message).toBe(`HTTP 500: down (${api.url}?results=1&seed=x&page=1)`)
      expect(api.requests).toHaveLength(1 + fastRetry.times)
    })))
})

/** A port nothing listens on: bind a free one, then release it. */
const closedPort = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

describe("an API that cannot be reached", () => {
  it.live("is Unreachable after retrying, and never prints a secret of the URL", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const error = expectSourceError(
        yield* fetchFrom(`http://me:s3cret@127.0.0.1:${port}/api/1.4/?api_key=t0ken`, { results: 1, seed: "x", page: 1 })
      )
      expect(error.reason).toBe("Unreachable")
      expect(error.url).toBe(`http://me:***@127.0.0.1:${port}/api/1.4/?api_key=***&results=1&seed=x&page=1`)
      expect(error.message).toMatch(/^cannot reach the API: /)
      expect(`${error.message} ${error.url}`).not.toMatch(/s3cret|t0ken/)
    }))
})
