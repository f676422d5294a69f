/**
 * The CLI's pure parts, expected by hand: the argument check (one line naming the option,
 * the closest option on a typo), help text, the console that drops colour, exit codes,
 * and the `pandaflow dags` tables.
 */
import { ConfigError, Option } from "effect"
import { describe, expect, it } from "vitest"
import * as Argv from "../../src/cli/Argv.js"
import * as Cli from "../../src/cli/Cli.js"
import * as Dags from "../../src/cli/Dags.js"
import type { RunRecord } from "../../src/scheduler/RunStore.js"

const problem = (...args: Array<string>) => {
  const r = Argv.check(args)
  return r._tag === "Left" ? r.left.message : undefined
}

describe("Argv.check", () => {
  it.each([
    [["--records", "-5"], "--records must be an integer ≥ 1, got -5"],
    [["--records", "0"], "--records must be an integer ≥ 1, got 0"],
    [["--records", "abc"], "--records must be an integer ≥ 1, got 'abc'"],
    [["--records=1.5"], "--records must be an integer ≥ 1, got '1.5'"],
    [["--partitions", "0"], "--partitions must be an integer from 1 to 1000, got 0"],
    [["--partitions", "1001"], "--partitions must be an integer from 1 to 1000, got 1001"],
    [["--page-size", "99999"], "--page-size must be an integer from 1 to 5000, got 99999"],
    [["--progress-seconds", "0"], "--progress-seconds must be an integer ≥ 1, got 0"],
    [["--control-port", "0"], "--control-port must be an integer from 1 to 65535, got 0"],
    [["--control-port", "65536"], "--control-port must be an integer from 1 to 65535, got 65536"],
    [["--log-format", "xml"], "--log-format must be one of text, json, got 'xml'"],
    [["--recrods", "5"], "unknown option --recrods; did you mean --records?"],
    [["run", "f.ts", "--pagesize", "5"], "unknown option --pagesize; did you mean --page-size?"],
    [["dags", "runs", "--limt", "5"], "unknown option --limt; did you mean --limit?"],
    [["--once", "--cron", "0 * * * *"], "--cron does not apply with --once: it schedules the ingest job of the long-running mode (drop --once to run on a schedule)"],
    [["--zone", "UTC", "--once"], "--zone does not apply with --once: it schedules the ingest job of the long-running mode (drop --once to run on a schedule)"],
    [["--exact"], "--exact applies with --once: it makes a short ingest fail the run"],
    [["dags", "lst"], "unknown command 'lst' for pandaflow dags; did you mean 'list'? (commands: list, trigger, pause, unpause, runs, run, backfill, cancel)"],
    [["dags"], "pandaflow dags needs a command: list, trigger, pause, unpause, runs, run, backfill, cancel"],
    [["dags", "trigger"], "pandaflow dags trigger needs <job>"],
    [["run"], "pandaflow run needs <file>"]
  ])("%j → %s", (args, expected) => {
    expect(problem(...args)).toBe(expected)
  })

  it("accepts good command lines and finds the command path", () => {
    for (const args of [
      ["--records", "5", "--once", "--exact"],
      ["--records=5", "--page-size", "5000", "--partitions", "1000", "--control-port", "65535"],
      ["run", "examples/orders/pipeline.ts", "--once", "--quiet", "--log-format", "json"],
      ["--cron", "0 * * * *", "--zone", "Europe/Zurich"],
      ["dags", "runs", "--job", "x", "--limit", "3"],
      ["dags", "backfill", "user_automation", "--start", "2026-01-01", "--end", "2026-01-02"]
    ]) expect(problem(...args)).toBeUndefined()
    const r = Argv.check(["dags", "runs", "--help"])
    expect(r._tag === "Right" && r.right).toMatchObject({ path: ["dags", "runs"], help: true })
  })

  it("help skips value checks", () => {
    expect(problem("--records", "abc", "--help")).toBeUndefined()
  })

  it("a far-off typo gets no guess", () => {
    expect(problem("--zzzzzzzz")).toBe("unknown option --zzzzzzzz for pandaflow (see pandaflow --help)")
  })

  it("checks the environment variables the options fall back to", () => {
    expect(Argv.checkEnv({ PANDAFLOW_CONTROL_PORT: "abc" })).toBe("PANDAFLOW_CONTROL_PORT=abc: must be an integer from 1 to 65535, e.g. PANDAFLOW_CONTROL_PORT=8787")
    expect(Argv.checkEnv({ PANDAFLOW_LOG_FORMAT: "xml" })).toBe("PANDAFLOW_LOG_FORMAT=xml: must be one of text, json, e.g. PANDAFLOW_LOG_FORMAT=text")
    expect(Argv.checkEnv({ PANDAFLOW_CONTROL_PORT: "8787", PANDAFLOW_LOG_FORMAT: "json" })).toBeUndefined()
  })

  it("help text carries each option's default and environment variable", () => {
    expect(Argv.describe(Argv.spec(Argv.runOptions, "records"))).toBe("records to ingest a run, ≥ 1 (default: 1000)")
    expect(Argv.describe(Argv.spec(Argv.runOptions, "control-port"))).toBe(
      "port of the control API on 127.0.0.1 (pandaflow dags …), 1..65535 (default: 8787; env: PANDAFLOW_CONTROL_PORT)"
    )
    for (const o of Argv.runOptions) expect(Argv.describe(o)).toMatch(/\(default: /)
  })
})

describe("Cli", () => {
  it("exit codes: 2 for a usage mistake or a bad setting, 1 for other known failures", () => {
    expect(Cli.exitCode(new Argv.UsageError({ message: "x" }))).toBe(2)
    expect(Cli.exitCode({ _tag: "InvalidSetting", variable: "PANDAFLOW_PG_URL", problem: "p", example: "e", message: "PANDAFLOW_PG_URL: p" })).toBe(2)
    expect(Cli.exitCode({ _tag: "BrokerError", message: "down" })).toBe(1)
    expect(Cli.exitCode({ _tag: "Shortfall", message: "short" })).toBe(1)
    expect(Cli.explain({ _tag: "InvalidSetting", message: "PANDAFLOW_PG_URL=not-a-url is not a URL, e.g. postgres://…" })).toBe(
      "pandaflow: PANDAFLOW_PG_URL=not-a-url is not a URL, e.g. postgres://…"
    )
    expect(Cli.explain(new Argv.UsageError({ message: "unknown option --x" }))).toBe("pandaflow: unknown option --x")
    // A setting read through Config (the config helper's `Settings.config`): its one line, exit 2.
    const bad = ConfigError.InvalidData(["PANDAFLOW_BROKERS"], "PANDAFLOW_BROKERS=garbage: not host:port, e.g. 127.0.0.1:19092")
    expect(Cli.explain(bad)).toBe("pandaflow: PANDAFLOW_BROKERS=garbage: not host:port, e.g. 127.0.0.1:19092")
    expect(Cli.exitCode(bad)).toBe(2)
    expect(Cli.exitCode(ConfigError.And(bad, ConfigError.MissingData(["X"], "missing")))).toBe(2)
  })

  it("colour only on a terminal and without NO_COLOR", () => {
    expect(Cli.colour({ isTTY: true }, {})).toBe(true)
    expect(Cli.colour({ isTTY: false }, {})).toBe(false)
    expect(Cli.colour({}, {})).toBe(false)
    expect(Cli.colour({ isTTY: true }, { NO_COLOR: "1" })).toBe(false)
    expect(Cli.colour({ isTTY: true }, { NO_COLOR: "" })).toBe(true)
  })

  it("the console drops ANSI codes and names a subcommand's usage in full", () => {
    const seen: Array<unknown> = []
    const base = { log: (...a: Array<unknown>) => seen.push(...a), error: (...a: Array<unknown>) => seen.push(...a) } as never
    const plain = Cli.plainConsole(base, { colourOut: false, colourErr: true, path: ["dags", "runs"] })
    plain.log("\x1b[0;1mUSAGE\x1b[0m\n\n$ runs [--url text]")
    plain.error("\x1b[31mred\x1b[0m")
    expect(seen).toEqual(["USAGE\n\n$ pandaflow dags runs [--url text]", "\x1b[31mred\x1b[0m"])
  })
})

const run = (over: Partial<RunRecord>): RunRecord => ({
  id: "r",
  job: "user_automation",
  key: "k",
  kind: "scheduled",
  slot: Date.parse("2026-11-30T00:00:00Z"),
  intervalStart: Date.parse("2026-11-29T00:00:00Z"),
  intervalEnd: Date.parse("2026-11-30T00:00:00Z"),
  state: "success",
  owner: "scheduler-1",
  fencingToken: 1,
  leaseUntil: 0,
  cancelRequested: false,
  createdAt: Date.parse("2026-11-30T07:32:53Z"),
  startedAt: Option.some(Date.parse("2026-11-30T07:32:53.932Z")),
  endedAt: Option.some(Date.parse("2026-11-30T07:33:21.132Z")),
  error: Option.none(),
  ...over
} as RunRecord)

describe("pandaflow dags output", () => {
  it("durations read as a person reads them", () => {
    expect(Dags.humanDuration(27_173_932)).toBe("7 h 32 min")
    expect(Dags.humanDuration(27_200)).toBe("27.2 s")
    expect(Dags.humanDuration(850)).toBe("850 ms")
    expect(Dags.humanDuration(252_000)).toBe("4 min 12 s")
    expect(Dags.humanDuration(2 * 86_400_000 + 3 * 3_600_000)).toBe("2 d 3 h")
  })

  it("runs: a header, aligned columns, newest first by when they ran", () => {
    const old = run({ id: "a-scheduled", slot: Date.parse("2026-11-30T00:00:00Z") })
    const backfill = run({
      id: "b-backfill",
      kind: "backfill",
      slot: Date.parse("2026-11-01T00:00:00Z"),
      startedAt: Option.some(Date.parse("2026-11-30T08:00:00Z")),
      endedAt: Option.none(),
      state: "running"
    })
    const text = Dags.runsTable([old, backfill], Date.parse("2026-11-30T08:00:05Z"))
    expect(text.split("\n")).toEqual([
      "RUN ID       JOB              KIND       STATE    SLOT                  STARTED                   DURATION      LATENCY     ERROR",
      "b-backfill   user_automation  backfill   running  2026-11-01T00:00:00Z  2026-11-30T08:00:00Z      5.0 s so far  29 d 8 h",
      "a-scheduled  user_automation  scheduled  success  2026-11-30T00:00:00Z  2026-11-30T07:32:53.932Z  27.2 s        7 h 32 min"
    ])
  })

  it("list: a header and aligned columns", () => {
    expect(Dags.jobsTable([{ name: "user_automation", timetable: 'cron "0 0 * * *" (UTC)', paused: false, nextRun: Option.none(), tasks: [] }])).toBe(
      'JOB              SCHEDULE                PAUSED  NEXT RUN  TASKS\nuser_automation  cron "0 0 * * *" (UTC)  false   -         -'
    )
  })

  it("a backfill over slots that already ran says so", () => {
    const d = (s: string) => Date.parse(s)
    const slots = [d("2026-11-28T00:00:00Z"), d("2026-11-29T00:00:00Z"), d("2026-11-30T00:00:00Z")]
    const existing = [run({ slot: slots[1]! }), run({ slot: slots[2]!, state: "failed" }), run({ kind: "manual", slot: slots[0]! })]
    expect(Dags.backfillReport("user_automation", { start: slots[0]!, end: slots[2]! }, slots, existing)).toBe([
      "backfill user_automation: 3 slots from 2026-11-28T00:00:00Z to 2026-11-30T00:00:00Z",
      "  2 already ran and will be skipped (a slot runs once; cancel or clear it to run again): 2026-11-29T00:00:00Z (success), 2026-11-30T00:00:00Z (failed)",
      "  1 to run, oldest first: 2026-11-28T00:00:00Z"
    ].join("\n"))
    expect(Dags.backfillReport("j", { start: 0, end: 1 }, [], [])).toBe("backfill j: its schedule has no slot between 1970-01-01T00:00:00Z and 1970-01-01T00:00:00.001Z")
  })
})
