/**
 * An emulator of the randomuser.me v1.4 API, served over real HTTP on 127.0.0.1.
 *
 * It answers from `FakeUsers`, so a page is a pure function of (seed, page, results,
 * nat): the embedded run mode works offline, and tests can compare what the source
 * fetched with what the generator produces.
 *
 * @since 0.1.0
 */
// Modules by path, not the packages' index: @effect/platform's index also loads the API
// docs UIs (Swagger, Scalar: ~20 MiB of script source held for the life of the process).
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Effect, Layer } from "effect"
import { createServer } from "node:http"
import { maxResultsPerRequest, version } from "./RandomUser.js"
import * as FakeUsers from "./FakeUsers.js"

/** The running emulator: where to point a `UserSource`. */
export interface RandomUserEmulatorService {
  /** The API base URL, pinned to the version it serves as the real one is, e.g. `http://127.0.0.1:40123/api/1.4/`. */
  readonly url: string
}

/** The tag of a running emulator. */
export class RandomUserEmulator extends Context.Tag("pandaflow/RandomUserEmulator")<
  RandomUserEmulator,
  RandomUserEmulatorService
>() {}

/** Where the emulator listens. */
export interface Options {
  /** 0 (the default) picks a free port. */
  readonly port?: number | undefined
  /** Defaults to 127.0.0.1: the emulator is a local test double, never a public service. */
  readonly host?: string | undefined
}

/** The seed the emulator uses when a request names none. */
export const defaultSeed = "pandaflow"

const badRequest = (error: string) => HttpServerResponse.unsafeJson({ error }, { status: 400 })

// Strict integer parsing: "12abc" or "1.5" is a client bug the real API would also reject.
const parseIntParam = (raw: string | undefined, fallback: number): number | undefined => {
  if (raw === undefined || raw === "") return fallback
  return /^\d+$/.test(raw) ? Number(raw) : undefined
}

const single = (value: string | ReadonlyArray<string> | undefined): string | undefined =>
  typeof value === "string" ? value : value?.[0]

/** The `/api/` handler: validates the query the way the API does and serves a page. */
export const handler = Effect.gen(function*() {
  const params = yield* HttpServerRequest.ParsedSearchParams
  const results = parseIntParam(single(params["results"]), 1)
  if (results === undefined || results < 1 || results > maxResultsPerRequest) {
    return badRequest(`results must be an integer between 1 and ${maxResultsPerRequest}`)
  }
  const page = parseIntParam(single(params["page"]), 1)
  if (page === undefined || page < 1) {
    return badRequest("page must be a positive integer")
  }
  const seed = single(params["seed"]) || defaultSeed
  const nat = single(params["nat"])
  const users = FakeUsers.generatePage({ seed, page, results, nat })
  return HttpServerResponse.unsafeJson({ results: users, info: { seed, results, page, version } })
})

/**
 * The emulator's routes: `GET /api/` (the latest version) and `GET /api/1.4/` (pinned), as
 * the real API serves both, with or without the trailing slash: the router ignores it, and
 * declaring both fails.
 */
export const router = HttpRouter.empty.pipe(HttpRouter.get("/api", handler), HttpRouter.get(`/api/${version}`, handler))

/**
 * Serves the emulator for the lifetime of the layer and provides its URL. Binding
 * port 0 lets parallel tests each get their own server.
 */
export const layer = (options: Options = {}): Layer.Layer<RandomUserEmulator, ServeError> => {
  const host = options.host ?? "127.0.0.1"
  const server = NodeHttpServer.layer(() => createServer(), { port: options.port ?? 0, host })
  // Report the host we asked for (an IPv6 literal needs brackets in a URL) and the port
  // the OS actually bound.
  const urlHost = host.includes(":") ? `[${host}]` : host
  const url = Layer.effect(
    RandomUserEmulator,
    HttpServer.addressWith((address) =>
      Effect.succeed({
        url: address._tag === "TcpAddress"
          ? `http://${urlHost}:${address.port}/api/${version}/`
          : `http://${urlHost}/api/${version}/`
      })
    )
  )
  // A defect here is an emulator bug: log it, since the client only sees a bare 500.
  return Layer.merge(HttpServer.serve(router.pipe(Effect.tapDefect(Effect.logError))), url).pipe(Layer.provide(server))
}
