import { HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Layer, Ref, Schema, Stream } from "effect"
import { createServer } from "node:http"
import * as net from "node:net"
import * as FakeUsers from "../../layers/FakeUsers.js"
import * as RandomUserEmulator from "../../layers/RandomUserEmulator.js"
import * as RandomUserSource from "../../layers/RandomUserSource.js"
import * as RandomUser from "../../layers/RandomUser.js"
import * as UserSource from "../../layers/UserSource.js"

const encodeUser = Schema.encodeSync(RandomUser.User)

// Fast retries: the tests check behaviour, not patience.
const fastRetry = { times: 2, base: "5 millis", max: "20 millis" } as const

/** A source pointed at a fresh emulator on a free port of 127.0.0.1. */
const withEmulatorSource = <A, E>(
  f: (source: UserSource.UserSourceService, url: string) => Effect.Effect<A, E, UserSource.UserSource>
) =>
  Effect.gen(function*() {
    const { url } = yield* RandomUserEmulator.RandomUserEmulator
    const source = yield* RandomUserSource.make({ baseUrl: url, retry: fastRetry })
    return yield* f(source, url).pipe(Effect.provideService(UserSource.UserSource, source))
  }).pipe(Effect.provide([RandomUserEmulator.layer(), NodeHttpClient.layerUndici]))

/** Serves `app` on a free port of 127.0.0.1 for the enclosing scope; returns its base URL. */
const throwawayServer = <E>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E>) =>
  Effect.gen(function*() {
    yield* HttpServer.serveEffect(app)
    return yield* HttpServer.addressWith((address) =>
      Effect.succeed(address._tag === "TcpAddress" ? `http://127.0.0.1:${address.port}/api/` : "")
    )
  }).pipe(Layer.scoped(ServerUrl), Layer.provide(NodeHttpServer.layer(() => createServer(), { port: 0, host: "127.0.0.1" })))

class ServerUrl extends Effect.Tag("test/ServerUrl")<ServerUrl, string>() {}

/** A port nothing listens on: bind a free one, then release it. */
const closedPort = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const expectSourceError = <A>(result: Either.Either<A, UserSource.SourceError>) => {
  if (Either.isRight(result)) throw new Error("expected a SourceError")
  return result.left
}

describe("RandomUserSource against the emulator", () => {
  it.live("fetches a page equal to the generator's", () =>
    withEmulatorSource((source, url) =>
      Effect.gen(function*() {
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/)
        const users = yield* source.fetchPage({ results: 25, seed: "it", page: 3, nat: ["FR", "GB"] })
        expect(users.map((u) => encodeUser(u))).toEqual(
          FakeUsers.generatePage({ seed: "it", page: 3, results: 25, nat: ["FR", "GB"] })
        )
      })
    ))

  it.live("streams exactly `records` users across pages", () =>
    withEmulatorSource(() =>
      Effect.gen(function*() {
        const users = yield* Stream.runCollect(UserSource.stream({ records: 2500, seed: "stream", pageSize: 1000 }))
        expect(Chunk.size(users)).toBe(2500)
        // Page 1 of 2500 is users 0..2499 of the seed: the same numbering as 1000-user pages.
        expect(Chunk.toReadonlyArray(users).map((u) => encodeUser(u))).toEqual(
          FakeUsers.generatePage({ seed: "stream", page: 1, results: 2500 })
        )
      })
    ))

  it.live("turns a 400 into an ApiError with the API's message", () =>
    withEmulatorSource((source) =>
      Effect.gen(function*() {
        for (const results of [0, 9999]) {
          const error = expectSourceError(yield* Effect.either(source.fetchPage({ results, seed: "x", page: 1 })))
          expect(error.reason).toBe("ApiError")
          expect(error.message).toContain("HTTP 400")
          expect(error.message).toContain("results must be")
          expect(error.url).toContain(`results=${results}`)
        }
      })
    ))
})

describe("RandomUserSource failure modes", () => {
  it.live("reports a body that is not a v1.4 response as MalformedResponse, without retrying", () =>
    Effect.gen(function*() {
      const hits = yield* Ref.make(0)
      const layer = throwawayServer(
        Ref.update(hits, (n) => n + 1).pipe(
          Effect.as(HttpServerResponse.unsafeJson({ results: [{ gender: 1 }], info: {} }))
        )
      )
      const result = yield* Effect.gen(function*() {
        const source = yield* RandomUserSource.make({ baseUrl: yield* ServerUrl, retry: fastRetry })
        return yield* Effect.either(source.fetchPage({ results: 1, seed: "x", page: 1 }))
      }).pipe(Effect.provide([layer, NodeHttpClient.layerUndici]))
      const error = expectSourceError(result)
      expect(error.reason).toBe("MalformedResponse")
      expect(error.message).toContain("gender")
      expect(yield* Ref.get(hits)).toBe(1)
    }))

  it.live("retries 5xx and 429, then succeeds", () =>
    Effect.gen(function*() {
      const hits = yield* Ref.make(0)
      const layer = throwawayServer(
        Ref.updateAndGet(hits, (n) => n + 1).pipe(
          Effect.map((n) =>
            n === 1
              ? HttpServerResponse.unsafeJson({ error: "busy" }, { status: 503 })
              : n === 2
              ? HttpServerResponse.unsafeJson({ error: "slow down" }, { status: 429 })
              : HttpServerResponse.unsafeJson({
                results: FakeUsers.generatePage({ seed: "r", page: 1, results: 2 }),
                info: { seed: "r", results: 2, page: 1, version: "1.4" }
              })
          )
        )
      )
      const users = yield* Effect.gen(function*() {
        const source = yield* RandomUserSource.make({ baseUrl: yield* ServerUrl, retry: fastRetry })
        return yield* source.fetchPage({ results: 2, seed: "r", page: 1 })
      }).pipe(Effect.provide([layer, NodeHttpClient.layerUndici]))
      expect(users).toHaveLength(2)
      expect(yield* Ref.get(hits)).toBe(3)
    }))

  it.live("gives up on a persistent 5xx after the bounded retries, as ApiError", () =>
    Effect.gen(function*() {
      const hits = yield* Ref.make(0)
      const layer = throwawayServer(
        Ref.update(hits, (n) => n + 1).pipe(
          Effect.as(HttpServerResponse.unsafeJson({ error: "down" }, { status: 500 }))
        )
      )
      const result = yield* Effect.gen(function*() {
        const source = yield* RandomUserSource.make({ baseUrl: yield* ServerUrl, retry: fastRetry })
        return yield* Effect.either(source.fetchPage({ results: 1, seed: "x", page: 1 }))
      }).pipe(Effect.provide([layer, NodeHttpClient.layerUndici]))
      const error = expectSourceError(result)
      expect(error.reason).toBe("ApiError")
      expect(error.message).toBe("HTTP 500: down")
      expect(yield* Ref.get(hits)).toBe(1 + fastRetry.times)
    }))

  it.live("reports a closed port as Unreachable after retrying", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const source = yield* RandomUserSource.make({ baseUrl: `http://127.0.0.1:${port}/api/`, retry: fastRetry })
      const error = expectSourceError(yield* Effect.either(source.fetchPage({ results: 1, seed: "x", page: 1 })))
      expect(error.reason).toBe("Unreachable")
      expect(error.url).toBe(`http://127.0.0.1:${port}/api/?results=1&seed=x&page=1`)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.live("reports a server that never answers as Unreachable after the timeout", () =>
    Effect.gen(function*() {
      const result = yield* Effect.gen(function*() {
        const source = yield* RandomUserSource.make({
          baseUrl: yield* ServerUrl,
          timeout: "100 millis",
          retry: { times: 1, base: "5 millis" }
        })
        return yield* Effect.either(source.fetchPage({ results: 1, seed: "x", page: 1 }))
      }).pipe(Effect.provide([throwawayServer(Effect.never), NodeHttpClient.layerUndici]))
      const error = expectSourceError(result)
      expect(error.reason).toBe("Unreachable")
      expect(error.message).toContain("no response within")
    }))
})
