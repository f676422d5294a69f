/**
 * `pandaflow dags …`: control a running pandaflow through its JSON API on 127.0.0.1.
 *
 * @since 0.1.0
 */
import { Args, Command, Options } from "@effect/cli"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Control from "../scheduler/Control.js"
import type { RunRecord } from "../scheduler/RunStore.js"

const url = Options.text("url").pipe(
  Options.withFallbackConfig(Config.string("PANDAFLOW_CONTROL_URL").pipe(Config.withDefault("http://127.0.0.1:8787"))),
  Options.withDescription("control API of the running pandaflow (PANDAFLOW_CONTROL_URL)")
)
const jobArg = Args.text({ name: "job" })
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z")
const optIso = (o: Option.Option<number>) => Option.match(o, { onNone: () => "-", onSome: iso })

const withClient = <A>(baseUrl: string, f: (c: Control.ControlClient) => Effect.Effect<A, Control.ControlError>) =>
  // The HTTP client loads only when a subcommand runs, not for `--help`.
  Effect.flatMap(Effect.flatMap(Effect.promise(() => import("../scheduler/Control.js")), (C) => C.fetchClient(baseUrl)), f).pipe(
    Effect.catchTag("ControlError", (e) =>
      Effect.zipRight(
        Console.error(
          e.reason === "Unreachable"
            ? `pandaflow dags: no pandaflow answers at ${baseUrl} — start one with \`pnpm start\` (${e.message})`
            : `pandaflow dags: ${e.reason}: ${e.message}`
        ),
        Effect.fail(e)
      ))
  )

const runLine = (r: RunRecord) =>
  [r.id.padEnd(38), r.job.padEnd(18), r.kind.padEnd(9), r.state.padEnd(9), iso(r.slot), optIso(r.startedAt), optIso(r.endedAt), Option.getOrElse(r.error, () => "")].join("  ")

const list = Command.make("list", { url }, ({ url }) =>
  withClient(url, (c) => c.list).pipe(Effect.flatMap((jobs) =>
    Console.log([
      ["job".padEnd(18), "schedule".padEnd(24), "paused".padEnd(6), "next run".padEnd(21), "tasks"].join("  "),
      ...jobs.map((j) =>
        [j.name.padEnd(18), j.timetable.padEnd(24), String(j.paused).padEnd(6), optIso(j.nextRun).padEnd(21), j.tasks.join(",")].join("  ")
      )
    ].join("\n"))
  ))).pipe(Command.withDescription("jobs with their schedule and next run time"))

const trigger = Command.make("trigger", { url, job: jobArg }, ({ job, url }) =>
  withClient(url, (c) => c.trigger(job)).pipe(Effect.flatMap((r) => Console.log(`triggered ${job}: run ${r.id} (${r.state})`))))
  .pipe(Command.withDescription("start a run now"))

const pause = Command.make("pause", { url, job: jobArg }, ({ job, url }) =>
  withClient(url, (c) => c.pause(job)).pipe(Effect.zipRight(Console.log(`paused ${job}`))))

const unpause = Command.make("unpause", { url, job: jobArg }, ({ job, url }) =>
  withClient(url, (c) => c.unpause(job)).pipe(Effect.zipRight(Console.log(`unpaused ${job}`))))

const runs = Command.make("runs", {
  url,
  job: Options.text("job").pipe(Options.optional),
  limit: Options.integer("limit").pipe(Options.withDefault(20))
}, ({ job, limit, url }) =>
  withClient(url, (c) => c.runs({ job: Option.getOrUndefined(job), limit })).pipe(
    Effect.flatMap((rs) => Console.log(rs.length === 0 ? "no runs" : rs.map(runLine).join("\n")))
  )).pipe(Command.withDescription("recent runs, newest first"))

const show = Command.make("run", { url, id: Args.text({ name: "run-id" }) }, ({ id, url }) =>
  withClient(url, (c) => c.run(id)).pipe(Effect.flatMap(({ attempts, run }) =>
    Console.log([
      runLine(run),
      ...attempts.map((a) => `  ${a.task} attempt ${a.attempt}: ${a.state} ${iso(a.startedAt)} → ${optIso(a.endedAt)} ${Option.getOrElse(a.error, () => "")}`)
    ].join("\n"))
  ))).pipe(Command.withDescription("one run with its task attempts"))

const backfill = Command.make("backfill", {
  url,
  job: jobArg,
  start: Options.text("start").pipe(Options.withDescription("ISO time, inclusive")),
  end: Options.text("end").pipe(Options.withDescription("ISO time, inclusive"))
}, ({ end, job, start, url }) =>
  Effect.gen(function*() {
    const range = { start: Date.parse(start), end: Date.parse(end) }
    if (Number.isNaN(range.start) || Number.isNaN(range.end)) {
      return yield* Console.error(`pandaflow dags backfill: --start and --end must be ISO times, got ${start} and ${end}`)
    }
    const plan = yield* withClient(url, (c) => c.backfill(job, range))
    yield* Console.log(`backfill ${job}: ${plan.slots.length} slots, ${plan.slots.map(iso).join(", ")}`)
  })).pipe(Command.withDescription("run every slot of a date range, oldest first"))

const cancel = Command.make("cancel", { url, id: Args.text({ name: "run-id" }) }, ({ id, url }) =>
  withClient(url, (c) => c.cancel(id)).pipe(Effect.zipRight(Console.log(`cancel requested for run ${id}`))))

/** `pandaflow dags`: list, trigger, pause, unpause, runs, run, backfill, cancel. */
export const command = Command.make("dags").pipe(
  Command.withDescription("control the scheduled jobs of a running pandaflow"),
  Command.withSubcommands([list, trigger, pause, unpause, runs, show, backfill, cancel])
)
