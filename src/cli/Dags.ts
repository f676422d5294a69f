/**
 * `pandaflow dags …`: control a running pandaflow through its JSON API on 127.0.0.1.
 * With no pandaflow running, `list`, `runs` and `run` read the run store directly when
 * the composition root configured one (as Airflow's CLI reads its metadata database).
 *
 * @since 0.1.0
 */
import { Args, Command, Options } from "@effect/cli"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Control from "../scheduler/Control.js"
import type { AttemptRecord, JobRecord, RunRecord, RunStore, RunStoreService } from "../scheduler/RunStore.js"
import type { JobInfo } from "../scheduler/Scheduler.js"
import * as Argv from "./Argv.js"

const url = Options.text("url").pipe(
  Options.withFallbackConfig(Config.string("PANDAFLOW_CONTROL_URL").pipe(Config.withDefault("http://127.0.0.1:8787"))),
  Options.withDescription(Argv.describe(Argv.spec(Argv.dagsCommands["list"]!.options, "url")))
)
const jobArg = Args.text({ name: "job" }).pipe(Args.withDescription("a job name, as `pandaflow dags list` shows it"))
const runIdArg = Args.text({ name: "run-id" }).pipe(Args.withDescription("a run id, as `pandaflow dags runs` shows it"))

/** `2026-11-30T00:00:00Z` (milliseconds only when there are some). */
export const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z")
const optIso = (o: Option.Option<number>) => Option.match(o, { onNone: () => "-", onSome: iso })

/** A duration as a person reads it: `850 ms`, `27.2 s`, `4 min 12 s`, `7 h 32 min`, `2 d 3 h`. */
export const humanDuration = (ms: number): string => {
  if (ms < 0) return `-${humanDuration(-ms)}`
  if (ms < 1000) return `${Math.round(ms)} ms`
  const seconds = ms / 1000
  if (seconds < 60) return `${seconds.toFixed(1)} s`
  const s = Math.floor(seconds)
  const minutes = Math.floor(s / 60)
  if (minutes < 60) return `${minutes} min ${s % 60} s`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return `${hours} h ${minutes % 60} min`
  return `${Math.floor(hours / 24)} d ${hours % 24} h`
}

/** Rows under a header, each column as wide as its widest cell; the last column is not padded. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

/** When a run happened: its start, or its creation while it waits. */
const timeOf = (r: RunRecord) => Option.getOrElse(r.startedAt, () => r.createdAt)

/** Runs newest first by when they ran (a backfill of an old slot that ran today is new). */
export const newestFirst = (runs: ReadonlyArray<RunRecord>) => [...runs].sort((a, b) => timeOf(b) - timeOf(a) || b.slot - a.slot)

const took = (r: { readonly startedAt: Option.Option<number> | number; readonly endedAt: Option.Option<number> }, now: number) => {
  const started = typeof r.startedAt === "number" ? Option.some(r.startedAt) : r.startedAt
  return Option.match(started, {
    onNone: () => "-",
    onSome: (s) => Option.match(r.endedAt, { onNone: () => `${humanDuration(now - s)} so far`, onSome: (e) => humanDuration(e - s) })
  })
}

/** The `runs` table. LATENCY is how long after its slot a run started. */
export const runsTable = (runs: ReadonlyArray<RunRecord>, now: number): string =>
  table(
    ["RUN ID", "JOB", "KIND", "STATE", "SLOT", "STARTED", "DURATION", "LATENCY", "ERROR"],
    newestFirst(runs).map((r) => [
      r.id,
      r.job,
      r.kind,
      r.state,
      iso(r.slot),
      optIso(r.startedAt),
      took(r, now),
      Option.match(r.startedAt, { onNone: () => "-", onSome: (s) => humanDuration(s - r.slot) }),
      Option.getOrElse(r.error, () => "")
    ])
  )

/** The `run` view: the run's fields, then its attempts. */
export const runView = (run: RunRecord, attempts: ReadonlyArray<AttemptRecord>, now: number): string =>
  [
    table(["FIELD", "VALUE"], [
      ["run", run.id],
      ["job", run.job],
      ["kind", run.kind],
      ["state", run.cancelRequested && (run.state === "running" || run.state === "queued") ? `${run.state} (cancel requested)` : run.state],
      ["slot", iso(run.slot)],
      ["interval", `${iso(run.intervalStart)} → ${iso(run.intervalEnd)}`],
      ["started", optIso(run.startedAt)],
      ["ended", optIso(run.endedAt)],
      ["duration", took(run, now)],
      ["latency", Option.match(run.startedAt, { onNone: () => "-", onSome: (s) => humanDuration(s - run.slot) })],
      ["owner", run.owner],
      ...Option.match(run.error, { onNone: () => [], onSome: (e) => [["error", e]] })
    ]).split("\n").slice(1).join("\n"),
    "",
    attempts.length === 0
      ? "no task attempts yet"
      : table(
        ["TASK", "ATTEMPT", "STATE", "STARTED", "DURATION", "ERROR"],
        attempts.map((a) => [a.task, String(a.attempt), a.state, iso(a.startedAt), took(a, now), Option.getOrElse(a.error, () => "")])
      )
  ].join("\n")

/** A `list` row: from the scheduler (JobInfo) or from the store (no next run, no tasks). */
export type JobRow = Pick<JobInfo, "name" | "timetable" | "paused" | "nextRun" | "tasks">

/** The `list` table; `nextRun` is only known to a running scheduler. */
export const jobsTable = (jobs: ReadonlyArray<JobRow>) =>
  jobs.length === 0
    ? "no jobs"
    : table(
      ["JOB", "SCHEDULE", "PAUSED", "NEXT RUN", "TASKS"],
      jobs.map((j) => [j.name, j.timetable, String(j.paused), optIso(j.nextRun), j.tasks.length === 0 ? "-" : j.tasks.join(",")])
    )

/** What `backfill` prints: the slots it will run, and those that already ran (their claim exists: skipped). */
export const backfillReport = (job: string, range: { readonly start: number; readonly end: number }, slots: ReadonlyArray<number>, existing: ReadonlyArray<RunRecord>): string => {
  if (slots.length === 0) return `backfill ${job}: its schedule has no slot between ${iso(range.start)} and ${iso(range.end)}`
  const ran = new Map(existing.filter((r) => r.kind !== "manual" && r.kind !== "service").map((r) => [r.slot, r]))
  const done = slots.filter((s) => ran.has(s))
  const todo = slots.filter((s) => !ran.has(s))
  return [
    `backfill ${job}: ${slots.length} slot${slots.length === 1 ? "" : "s"} from ${iso(slots[0]!)} to ${iso(slots.at(-1)!)}`,
    ...(done.length === 0 ? [] : [
      `  ${done.length} already ran and will be skipped (a slot runs once; cancel or clear it to run again): ${
        done.map((s) => `${iso(s)} (${ran.get(s)!.state})`).join(", ")
      }`
    ]),
    todo.length === 0 ? "  nothing to run" : `  ${todo.length} to run, oldest first: ${todo.map(iso).join(", ")}`
  ].join("\n")
}

/** Where the run store comes from when no pandaflow answers (see Cli.Environment). */
export type StoreSource = Effect.Effect<Option.Option<Layer.Layer<RunStore, unknown>>> | undefined

const loadControl = Effect.promise(() => import("../scheduler/Control.js"))
const say = (line: string) => Console.error(`pandaflow dags: ${line}`)

const unreachable = (baseUrl: string, e: Control.ControlError) =>
  `no pandaflow answers at ${baseUrl} — start one with \`pnpm start\`, or set PANDAFLOW_PG_URL to read its run store (${e.message})`

/** Runs `f` on the control API; a failure prints one line (ControlError: exit 1). */
const withClient = <A>(baseUrl: string, f: (c: Control.ControlClient) => Effect.Effect<A, Control.ControlError>) =>
  // The HTTP client loads only when a subcommand runs, not for `--help`.
  Effect.flatMap(Effect.flatMap(loadControl, (C) => C.fetchClient(baseUrl)), f).pipe(
    Effect.tapError((e) => say(e.reason === "Unreachable" ? unreachable(baseUrl, e) : `${e.reason}: ${e.message}`))
  )

/**
 * Reads through the control API; when nothing answers and a store is configured, reads
 * the store instead (a line on stderr says so).
 */
const read = <A>(
  store: StoreSource,
  baseUrl: string,
  viaApi: (c: Control.ControlClient) => Effect.Effect<A, Control.ControlError>,
  viaStore: (s: RunStoreService) => Effect.Effect<A, unknown>
) =>
  Effect.gen(function*() {
    const C = yield* loadControl
    const client = yield* C.fetchClient(baseUrl)
    return yield* viaApi(client).pipe(
      Effect.catchTag("ControlError", (e) =>
        Effect.gen(function*() {
          const layer = e.reason === "Unreachable" && store !== undefined ? yield* store : Option.none()
          if (Option.isNone(layer)) {
            yield* say(e.reason === "Unreachable" ? unreachable(baseUrl, e) : `${e.reason}: ${e.message}`)
            return yield* e
          }
          yield* say(`no pandaflow answers at ${baseUrl}; reading the run store (PANDAFLOW_PG_URL) directly`)
          const { RunStore } = yield* Effect.promise(() => import("../scheduler/RunStore.js"))
          return yield* Effect.flatMap(RunStore, viaStore).pipe(
            Effect.provide(layer.value),
            Effect.timeoutFail({ duration: "15 seconds", onTimeout: () => new Error("no answer within 15 s") }),
            Effect.catchAll((cause) =>
              Effect.zipRight(
                say(`cannot read the run store: ${cause instanceof Error ? cause.message : String((cause as { message?: unknown }).message ?? cause)}`),
                Effect.fail(new C.ControlError({ reason: "Unreachable", message: "run store unreadable", cause }))
              )
            )
          )
        })
      )
    )
  })

const now = Effect.sync(() => Date.now())
const fromRecord = (j: JobRecord): JobRow => ({ name: j.name, timetable: j.timetable, paused: j.paused, nextRun: Option.none(), tasks: [] })

/** `pandaflow dags`: list, trigger, pause, unpause, runs, run, backfill, cancel. */
export const make = (store?: StoreSource) => {
  const list = Command.make("list", { url }, ({ url }) =>
    read<ReadonlyArray<JobRow>>(store, url, (c) => c.list, (s) => Effect.map(s.listJobs, (jobs) => jobs.map(fromRecord))).pipe(
      Effect.flatMap((jobs) => Console.log(jobsTable(jobs)))
    )).pipe(Command.withDescription("jobs with their schedule and next run time"))

  const trigger = Command.make("trigger", { url, job: jobArg }, ({ job, url }) =>
    withClient(url, (c) => c.trigger(job)).pipe(Effect.flatMap((r) => Console.log(`triggered ${job}: run ${r.id} (${r.state})`))))
    .pipe(Command.withDescription("start a run of a job now"))

  const pause = Command.make("pause", { url, job: jobArg }, ({ job, url }) =>
    withClient(url, (c) => c.pause(job)).pipe(Effect.zipRight(Console.log(`paused ${job}: no new runs are scheduled; active runs go on`))))
    .pipe(Command.withDescription("stop scheduling new runs of a job (active runs go on)"))

  const unpause = Command.make("unpause", { url, job: jobArg }, ({ job, url }) =>
    withClient(url, (c) => c.unpause(job)).pipe(Effect.zipRight(Console.log(`unpaused ${job}`))))
    .pipe(Command.withDescription("resume scheduling a paused job (its catchup policy decides about missed slots)"))

  const runs = Command.make("runs", {
    url,
    job: Options.text("job").pipe(Options.optional, Options.withDescription(Argv.describe(Argv.spec(Argv.dagsCommands["runs"]!.options, "job")))),
    limit: Options.integer("limit").pipe(Options.withDefault(20), Options.withDescription(Argv.describe(Argv.spec(Argv.dagsCommands["runs"]!.options, "limit"))))
  }, ({ job, limit, url }) => {
    const query = { job: Option.getOrUndefined(job), limit }
    return read(store, url, (c) => c.runs(query), (s) => s.listRuns(query)).pipe(
      Effect.flatMap((rs) => Effect.flatMap(now, (t) => Console.log(rs.length === 0 ? "no runs" : runsTable(rs, t))))
    )
  }).pipe(Command.withDescription("recent runs, newest first"))

  const show = Command.make("run", { url, id: runIdArg }, ({ id, url }) =>
    read(store, url, (c) => c.run(id), (s) =>
      Effect.gen(function*() {
        const run = yield* s.getRun(id)
        if (Option.isNone(run)) return yield* Effect.fail(new Error(`no run with id ${id}`))
        return { run: run.value, attempts: yield* s.listAttempts(id) }
      })).pipe(
        Effect.flatMap(({ attempts, run }) => Effect.flatMap(now, (t) => Console.log(runView(run, attempts, t))))
      )).pipe(Command.withDescription("one run with its task attempts"))

  const backfill = Command.make("backfill", {
    url,
    job: jobArg,
    start: Options.text("start").pipe(Options.withDescription(Argv.describe(Argv.spec(Argv.dagsCommands["backfill"]!.options, "start")))),
    end: Options.text("end").pipe(Options.withDescription(Argv.describe(Argv.spec(Argv.dagsCommands["backfill"]!.options, "end"))))
  }, ({ end, job, start, url }) =>
    Effect.gen(function*() {
      const range = { start: Date.parse(start), end: Date.parse(end) }
      if (Number.isNaN(range.start) || Number.isNaN(range.end)) {
        const C = yield* loadControl
        const bad = Number.isNaN(range.start) ? `--start ${start}` : `--end ${end}`
        yield* say(`${bad} is not an ISO time (e.g. 2026-01-01T00:00:00Z)`)
        return yield* new C.ControlError({ reason: "BadRequest", message: "bad range" })
      }
      // What already ran, read before the backfill starts creating runs.
      const existing = yield* withClient(url, (c) => c.runs({ job, limit: 10000 }))
      const plan = yield* withClient(url, (c) => c.backfill(job, range))
      yield* Console.log(backfillReport(job, range, plan.slots, existing))
    })).pipe(Command.withDescription("run every slot of a date range, oldest first (slots that already ran are skipped)"))

  const cancel = Command.make("cancel", { url, id: runIdArg }, ({ id, url }) =>
    Effect.gen(function*() {
      const C = yield* loadControl
      const client = yield* C.fetchClient(url)
      const outcome = yield* client.cancel(id).pipe(
        Effect.as(undefined),
        Effect.catchTag("ControlError", (e) => e.reason === "NotFound" ? Effect.succeed(e) : Effect.fail(e))
      )
      if (outcome === undefined) return yield* Console.log(`cancel requested for run ${id}: its owner stops it at its next heartbeat`)
      // Say why it cannot be cancelled: it ended already, or there is no such run.
      const detail = yield* client.run(id).pipe(Effect.option)
      yield* say(Option.match(detail, {
        onNone: () => `cannot cancel run ${id}: there is no run with that id (see pandaflow dags runs)`,
        onSome: ({ run }) =>
          `cannot cancel run ${id}: it is not active — it ended ${run.state}${Option.match(run.endedAt, { onNone: () => "", onSome: (t) => ` at ${iso(t)}` })}`
      }))
      return yield* outcome
    }).pipe(Effect.tapError((e) => e.reason === "NotFound" ? Effect.void : say(e.reason === "Unreachable" ? unreachable(url, e) : `${e.reason}: ${e.message}`))))
    .pipe(Command.withDescription("cancel an active run (its owner stops it at its next heartbeat)"))

  return Command.make("dags").pipe(
    Command.withDescription("control the scheduled jobs of a running pandaflow (list, runs and run also read a Postgres run store)"),
    Command.withSubcommands([list, trigger, pause, unpause, runs, show, backfill, cancel])
  )
}

/** The command without a store to fall back on. */
export const command = make()
