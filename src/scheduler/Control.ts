/**
 * Control of a running scheduler over a small JSON HTTP API, bound to 127.0.0.1, and a
 * typed client for it (what `pandaflow dags …` uses to reach a running `pandaflow start`).
 *
 * | method | path                     | body / query                  | answer        |
 * |--------|--------------------------|-------------------------------|---------------|
 * | GET    | /jobs                    |                               | JobInfo[]     |
 * | POST   | /jobs/:name/trigger      |                               | Run           |
 * | POST   | /jobs/:name/pause        |                               | { ok }        |
 * | POST   | /jobs/:name/unpause      |                               | { ok }        |
 * | POST   | /jobs/:name/backfill     | { start, end } (ISO or ms)    | BackfillPlan  |
 * | GET    | /runs                    | ?job=&state=&limit=           | Run[]         |
 * | GET    | /runs/:id                | attempts included             | RunDetail     |
 * | POST   | /runs/:id/cancel         |                               | { ok }        |
 *
 * Errors answer `{ error: { _tag, message } }` with 400 / 404 / 500.
 *
 * @since 0.1.0
 */
// Subpath imports: the package barrels load every module of both packages, which cost
// `pandaflow --help` half a second.
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Data, Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"
import type { RunKind, RunState } from "./RunStore.js"
import { type BackfillPlan, type JobInfo, type RunDetail, Scheduler } from "./Scheduler.js"
import type { RunRecord } from "./RunStore.js"

// ---- wire schemas (shared by server and client) -------------------------------------

const Millis = Schema.Number
const OptionalMillis = Schema.OptionFromNullOr(Schema.Number)

/** A run on the wire. */
export const RunSchema = Schema.Struct({
  id: Schema.String,
  job: Schema.String,
  key: Schema.String,
  kind: Schema.Literal("scheduled", "manual", "backfill", "service"),
  slot: Millis,
  intervalStart: Millis,
  intervalEnd: Millis,
  state: Schema.Literal("queued", "running", "success", "failed", "cancelled", "skipped"),
  owner: Schema.String,
  fencingToken: Schema.Number,
  leaseUntil: Millis,
  cancelRequested: Schema.Boolean,
  createdAt: Millis,
  startedAt: OptionalMillis,
  endedAt: OptionalMillis,
  error: Schema.OptionFromNullOr(Schema.String)
})

/** A task attempt on the wire. */
export const AttemptSchema = Schema.Struct({
  runId: Schema.String,
  task: Schema.String,
  attempt: Schema.Number,
  state: Schema.Literal("running", "success", "failed", "skipped"),
  fencingToken: Schema.Number,
  startedAt: Millis,
  endedAt: OptionalMillis,
  error: Schema.OptionFromNullOr(Schema.String)
})

/** A job listing entry on the wire. */
export const JobInfoSchema = Schema.Struct({
  name: Schema.String,
  timetable: Schema.String,
  paused: Schema.Boolean,
  nextRun: OptionalMillis,
  catchup: Schema.String,
  overlap: Schema.String,
  tasks: Schema.Array(Schema.String)
})

/** A run with its attempts on the wire. */
export const RunDetailSchema = Schema.Struct({ run: RunSchema, attempts: Schema.Array(AttemptSchema) })

/** A backfill plan on the wire. */
export const BackfillPlanSchema = Schema.Struct({ job: Schema.String, slots: Schema.Array(Millis) })

/** An instant given as epoch milliseconds or an ISO-8601 string. */
const Instant = Schema.Union(
  Schema.Number,
  Schema.transform(Schema.DateFromString, Schema.Number, {
    strict: true,
    decode: (d) => d.getTime(),
    encode: (ms) => new Date(ms)
  })
)

/** The body of a backfill request. */
export const BackfillRequest = Schema.Struct({ start: Instant, end: Instant })

const Ok = Schema.Struct({ ok: Schema.Boolean })
const ErrorBody = Schema.Struct({ error: Schema.Struct({ _tag: Schema.String, message: Schema.String }) })

// ---- server ------------------------------------------------------------------------

const json = <A, I>(schema: Schema.Schema<A, I>, value: A, status = 200) =>
  Effect.flatMap(Schema.encode(schema)(value), (body) => HttpServerResponse.json(body, { status }))

const failure = (status: number, _tag: string, message: string) =>
  HttpServerResponse.json({ error: { _tag, message } }, { status })

const nameParam = Effect.map(HttpRouter.params, (p) => p["name"] ?? "")
const idParam = Effect.map(HttpRouter.params, (p) => p["id"] ?? "")
const ok = json(Ok, { ok: true })

const RunsQuery = Schema.Struct({
  job: Schema.optional(Schema.String),
  state: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.NumberFromString)
})

/** The routes, needing the Scheduler. */
export const router = HttpRouter.empty.pipe(
  HttpRouter.get("/jobs", Effect.flatMap(Scheduler, (s) => s.list).pipe(Effect.flatMap((jobs) => json(Schema.Array(JobInfoSchema), jobs)))),
  HttpRouter.post(
    "/jobs/:name/trigger",
    Effect.gen(function*() {
      const run = yield* (yield* Scheduler).trigger(yield* nameParam)
      return yield* json(RunSchema, run, 201)
    })
  ),
  HttpRouter.post("/jobs/:name/pause", Effect.gen(function*() {
    yield* (yield* Scheduler).pause(yield* nameParam)
    return yield* ok
  })),
  HttpRouter.post("/jobs/:name/unpause", Effect.gen(function*() {
    yield* (yield* Scheduler).unpause(yield* nameParam)
    return yield* ok
  })),
  HttpRouter.post(
    "/jobs/:name/backfill",
    Effect.gen(function*() {
      const range = yield* HttpServerRequest.schemaBodyJson(BackfillRequest)
      const plan = yield* (yield* Scheduler).backfill(yield* nameParam, range)
      return yield* json(BackfillPlanSchema, plan, 202)
    })
  ),
  HttpRouter.get(
    "/runs",
    Effect.gen(function*() {
      const query = yield* HttpServerRequest.schemaSearchParams(RunsQuery)
      const runs = yield* (yield* Scheduler).runs({
        job: query.job,
        states: query.state === undefined ? undefined : (query.state.split(",") as Array<RunState>),
        limit: query.limit
      })
      return yield* json(Schema.Array(RunSchema), runs)
    })
  ),
  HttpRouter.get("/runs/:id", Effect.gen(function*() {
    const detail = yield* (yield* Scheduler).run(yield* idParam)
    return yield* json(RunDetailSchema, detail)
  })),
  HttpRouter.post("/runs/:id/cancel", Effect.gen(function*() {
    yield* (yield* Scheduler).cancel(yield* idParam)
    return yield* ok
  })),
  HttpRouter.catchTags({
    NotFound: (e) => failure(404, e._tag, e.message),
    RunStoreError: (e) => failure(500, e._tag, e.message),
    ParseError: (e) => failure(400, "BadRequest", e.message),
    RequestError: (e) => failure(400, "BadRequest", e.message),
    HttpBodyError: () => failure(500, "HttpBodyError", "could not encode the response")
  })
)

/** Serves the API on the ambient HttpServer. */
export const layer: Layer.Layer<never, never, Scheduler | HttpServer.HttpServer> = HttpServer.serve(router).pipe(
  HttpServer.withLogAddress
)

/**
 * Serves the API on Node's HTTP server, bound to 127.0.0.1 only: the API can trigger
 * and cancel runs and has no authentication, so it must not be reachable from outside.
 */
export const layerServer = (options: { readonly port: number }) =>
  layer.pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: options.port, host: "127.0.0.1" })))

// ---- client ------------------------------------------------------------------------

/** A control request failed: not reachable, refused (4xx/5xx), or answered something unexpected. */
export class ControlError extends Data.TaggedError("ControlError")<{
  readonly reason: "Unreachable" | "NotFound" | "BadRequest" | "ServerError" | "BadResponse"
  readonly message: string
  readonly cause?: unknown
}> {}

/** The client: the scheduler's control operations, over HTTP. */
export interface ControlClient {
  readonly list: Effect.Effect<ReadonlyArray<JobInfo>, ControlError>
  readonly trigger: (job: string) => Effect.Effect<RunRecord, ControlError>
  readonly pause: (job: string) => Effect.Effect<void, ControlError>
  readonly unpause: (job: string) => Effect.Effect<void, ControlError>
  readonly backfill: (job: string, range: { readonly start: number; readonly end: number }) => Effect.Effect<BackfillPlan, ControlError>
  readonly cancel: (runId: string) => Effect.Effect<void, ControlError>
  readonly runs: (query: { readonly job?: string | undefined; readonly states?: ReadonlyArray<RunState> | undefined; readonly limit?: number | undefined }) => Effect.Effect<ReadonlyArray<RunRecord>, ControlError>
  readonly run: (runId: string) => Effect.Effect<RunDetail, ControlError>
}

/** A client for the API at `baseUrl` (e.g. `http://127.0.0.1:8765`), on the ambient HttpClient. */
export const client = (baseUrl: string): Effect.Effect<ControlClient, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const http = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(HttpClientRequest.prependUrl(baseUrl.replace(/\/$/, "")))
    )

    const decode = <A, I>(schema: Schema.Schema<A, I>) => (response: HttpClientResponse.HttpClientResponse) =>
      Effect.gen(function*() {
        const body = yield* response.json.pipe(
          Effect.mapError((cause) => new ControlError({ reason: "BadResponse", message: `unreadable response from ${baseUrl}`, cause }))
        )
        if (response.status >= 400) {
          const message = Schema.decodeUnknownOption(ErrorBody)(body).pipe(
            (o) => o._tag === "Some" ? o.value.error.message : `HTTP ${response.status}`
          )
          return yield* new ControlError({
            reason: response.status === 404 ? "NotFound" : response.status < 500 ? "BadRequest" : "ServerError",
            message
          })
        }
        return yield* Schema.decodeUnknown(schema)(body).pipe(
          Effect.mapError((cause) => new ControlError({ reason: "BadResponse", message: `unexpected response: ${cause.message}`, cause }))
        )
      })

    const send = <A, I>(request: HttpClientRequest.HttpClientRequest, schema: Schema.Schema<A, I>) =>
      http.execute(request).pipe(
        Effect.mapError((cause) =>
          new ControlError({ reason: "Unreachable", message: `cannot reach the scheduler at ${baseUrl}: ${cause.message}`, cause })
        ),
        Effect.flatMap(decode(schema)),
        Effect.scoped
      )
    const path = encodeURIComponent

    const service: ControlClient = {
      list: send(HttpClientRequest.get("/jobs"), Schema.Array(JobInfoSchema)),
      trigger: (job) => send(HttpClientRequest.post(`/jobs/${path(job)}/trigger`), RunSchema),
      pause: (job) => Effect.asVoid(send(HttpClientRequest.post(`/jobs/${path(job)}/pause`), Ok)),
      unpause: (job) => Effect.asVoid(send(HttpClientRequest.post(`/jobs/${path(job)}/unpause`), Ok)),
      backfill: (job, range) =>
        send(
          HttpClientRequest.post(`/jobs/${path(job)}/backfill`).pipe(HttpClientRequest.bodyUnsafeJson(range)),
          BackfillPlanSchema
        ),
      cancel: (runId) => Effect.asVoid(send(HttpClientRequest.post(`/runs/${path(runId)}/cancel`), Ok)),
      runs: (query) =>
        send(
          HttpClientRequest.get("/runs").pipe(HttpClientRequest.setUrlParams({
            ...(query.job === undefined ? {} : { job: query.job }),
            ...(query.states === undefined ? {} : { state: query.states.join(",") }),
            ...(query.limit === undefined ? {} : { limit: String(query.limit) })
          })),
          Schema.Array(RunSchema)
        ),
      run: (runId) => send(HttpClientRequest.get(`/runs/${path(runId)}`), RunDetailSchema)
    }
    return service
  })

/** `client` on the fetch-based HttpClient: no layers to provide. */
export const fetchClient = (baseUrl: string): Effect.Effect<ControlClient> =>
  Effect.provide(client(baseUrl), FetchHttpClient.layer)

/** Kinds of run, re-exported for CLI rendering. */
export type { RunKind, RunState }
