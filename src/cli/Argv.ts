/**
 * The command line checked before @effect/cli parses it, so a mistake gets one line that
 * names the option: unknown options with the closest known one, values out of range,
 * options that do not apply together. The option table here is also where `--help`
 * takes each option's default and environment variable from.
 *
 * Pure and cheap: it loads nothing, so `pandaflow --help` stays fast.
 *
 * @since 0.3.0
 */
import * as Data from "effect/Data"

/** A usage mistake: `message` is the whole line (without the `pandaflow: ` prefix). */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** One option as the CLI documents and checks it. */
export interface OptionSpec {
  readonly name: string
  readonly kind: "integer" | "text" | "boolean" | "choice"
  readonly description: string
  readonly min?: number
  readonly max?: number
  readonly choices?: ReadonlyArray<string>
  /** The default as help shows it. */
  readonly default?: string
  /** The environment variable the option falls back to. */
  readonly env?: string
}

/** A command: its options, how many positional arguments it takes, its subcommands. */
export interface CommandSpec {
  readonly options: ReadonlyArray<OptionSpec>
  readonly positionals?: ReadonlyArray<string>
  readonly subcommands?: Readonly<Record<string, CommandSpec>>
}

const int = (name: string, description: string, extra: Omit<OptionSpec, "name" | "kind" | "description">): OptionSpec => ({
  name,
  kind: "integer",
  description,
  ...extra
})

/** The options of a run (`pandaflow …` and `pandaflow run <file> …`). */
export const runOptions: ReadonlyArray<OptionSpec> = [
  int("records", "records to ingest a run", { min: 1, default: "1000" }),
  { name: "seed", kind: "text", description: "source seed: the same seed gives the same records", default: "pandaflow" },
  int("page-size", "records per source request", { min: 1, max: 5000, default: "1000" }),
  int("partitions", "partitions of new topics", { min: 1, max: 1000, default: "the topic's, 3 unless it says" }),
  { name: "group", kind: "text", description: "consumer group of the consume job", default: "the pipeline's, `<name>-process`" },
  { name: "once", kind: "boolean", description: "ingest, consume everything, print a summary and exit", default: "off: run as a service" },
  { name: "exact", kind: "boolean", description: "with --once: fail (exit 1) when the source delivers fewer distinct records than --records", default: "off: a shortfall is a warning" },
  int("progress-seconds", "seconds between progress lines (an unchanged line at most once a minute)", { min: 1, default: "2" }),
  { name: "quiet", kind: "boolean", description: "no progress lines: the summary, warnings and errors only", default: "off" },
  { name: "log-format", kind: "choice", choices: ["text", "json"], description: "text, or json: one JSON object a line (for a supervisor)", default: "text", env: "PANDAFLOW_LOG_FORMAT" },
  { name: "cron", kind: "text", description: "schedule of the ingest job in the long-running mode (cron, five fields)", default: "0 0 * * *, daily at midnight", env: "PANDAFLOW_INGEST_CRON" },
  { name: "zone", kind: "text", description: "IANA time zone of --cron", default: "UTC", env: "PANDAFLOW_INGEST_ZONE" },
  int("control-port", "port of the control API on 127.0.0.1 (pandaflow dags …)", { min: 1, max: 65535, default: "8787", env: "PANDAFLOW_CONTROL_PORT" })
]

const url: OptionSpec = {
  name: "url",
  kind: "text",
  description: "control API of the running pandaflow",
  default: "http://127.0.0.1:8787",
  env: "PANDAFLOW_CONTROL_URL"
}

/** `pandaflow dags …`. */
export const dagsCommands: Readonly<Record<string, CommandSpec>> = {
  list: { options: [url] },
  trigger: { options: [url], positionals: ["job"] },
  pause: { options: [url], positionals: ["job"] },
  unpause: { options: [url], positionals: ["job"] },
  runs: {
    options: [
      url,
      { name: "job", kind: "text", description: "only this job's runs", default: "every job" },
      int("limit", "most runs to show", { min: 1, max: 10000, default: "20" })
    ]
  },
  run: { options: [url], positionals: ["run-id"] },
  backfill: {
    options: [
      url,
      { name: "start", kind: "text", description: "first slot, ISO time, inclusive" },
      { name: "end", kind: "text", description: "last slot, ISO time, inclusive" }
    ],
    positionals: ["job"]
  },
  cancel: { options: [url], positionals: ["run-id"] }
}

/** The whole tree. */
export const root: CommandSpec = {
  options: runOptions,
  subcommands: {
    run: { options: runOptions, positionals: ["file"] },
    dags: { options: [], subcommands: dagsCommands }
  }
}

/** `description (default: …; env: …)`: what `--help` shows for an option. */
export const describe = (spec: OptionSpec): string => {
  const range = spec.kind === "integer"
    ? spec.max === undefined ? `, ≥ ${spec.min}` : `, ${spec.min}..${spec.max}`
    : ""
  const notes = [
    ...(spec.default === undefined ? ["required"] : [`default: ${spec.default}`]),
    ...(spec.env === undefined ? [] : [`env: ${spec.env}`])
  ]
  return `${spec.description}${range} (${notes.join("; ")})`
}

/** Looks an option up by name in a command's table. */
export const spec = (options: ReadonlyArray<OptionSpec>, name: string): OptionSpec => {
  const found = options.find((o) => o.name === name)
  if (found === undefined) throw new Error(`no option spec ${name}`)
  return found
}

/** Levenshtein distance. */
export const distance = (a: string, b: string): number => {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]!
}

/** The closest candidate, when it is close enough to be what was meant. */
export const closest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = distance(word, c)
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}

// @effect/cli's built-in options, on every command.
const builtInValued = ["completions", "log-level"]
const builtInFlags = ["help", "version", "wizard"]

/** What the check found: the command path (`["dags", "runs"]`) and whether help was asked for. */
export interface Checked {
  readonly path: ReadonlyArray<string>
  readonly help: boolean
  /** Options given on the command line, by name (flags as `"true"`). */
  readonly given: Readonly<Record<string, string>>
}

const valueProblem = (o: OptionSpec, value: string): string | undefined => {
  switch (o.kind) {
    case "integer": {
      const range = o.max === undefined ? `an integer ≥ ${o.min}` : `an integer from ${o.min} to ${o.max}`
      if (!/^[+-]?\d+$/.test(value.trim())) return `--${o.name} must be ${range}, got '${value}'`
      const n = Number(value)
      if ((o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) return `--${o.name} must be ${range}, got ${n}`
      return undefined
    }
    case "choice":
      return o.choices!.includes(value) ? undefined : `--${o.name} must be one of ${o.choices!.join(", ")}, got '${value}'`
    case "text":
      return value.trim() === "" ? `--${o.name} needs a value` : undefined
    case "boolean":
      return undefined
  }
}

/**
 * Checks `args` (the arguments after the script) against `tree`. With `--help`,
 * `--version` or `--wizard` only the command path is worked out.
 */
export const check = (args: ReadonlyArray<string>, tree: CommandSpec = root): { readonly _tag: "Left"; readonly left: UsageError } | { readonly _tag: "Right"; readonly right: Checked } => {
  const fail = (message: string) => ({ _tag: "Left" as const, left: new UsageError({ message }) })
  const help = args.some((a) => a === "--help" || a === "-h" || a === "--version" || a === "--wizard")
  const path: Array<string> = []
  const given: Record<string, string> = {}
  let command = tree
  let positionals = 0
  const where = () => ["pandaflow", ...path].join(" ")
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg.startsWith("-") && arg !== "-" && !/^-\d/.test(arg)) {
      if (arg === "-h" || arg === "--") continue
      const [rawName, inline] = arg.startsWith("--") ? splitOnce(arg.slice(2)) : [arg.slice(1), undefined]
      const name = rawName
      if (builtInFlags.includes(name)) continue
      if (builtInValued.includes(name)) {
        if (inline === undefined) i++
        continue
      }
      const option = command.options.find((o) => o.name === name)
      if (option === undefined) {
        if (help) continue
        const names = [...command.options.map((o) => o.name), ...builtInFlags, ...builtInValued]
        const suggestion = closest(name, names)
        return fail(
          `unknown option ${arg.startsWith("--") ? "--" : "-"}${name}${suggestion ? `; did you mean --${suggestion}?` : ` for ${where()} (see ${where()} --help)`}`
        )
      }
      if (option.kind === "boolean") {
        if (inline !== undefined && !help) return fail(`--${name} is a flag and takes no value, got '--${name}=${inline}'`)
        given[name] = "true"
        continue
      }
      const value = inline ?? args[i + 1]
      if (inline === undefined) i++
      if (help) continue
      if (value === undefined) return fail(`--${name} needs a value: ${describe(option)}`)
      const problem = valueProblem(option, value)
      if (problem !== undefined) return fail(problem)
      given[name] = value
      continue
    }
    if (command.subcommands !== undefined && positionals === 0) {
      const sub = command.subcommands[arg]
      if (sub === undefined) {
        if (help) break
        const names = Object.keys(command.subcommands)
        const suggestion = closest(arg, names)
        return fail(
          `unknown command '${arg}' for ${where()}${suggestion ? `; did you mean '${suggestion}'?` : ""} (commands: ${names.join(", ")})`
        )
      }
      path.push(arg)
      command = sub
      continue
    }
    positionals++
    if (positionals > (command.positionals?.length ?? 0) && !help) {
      return fail(`unexpected argument '${arg}' for ${where()}${command.positionals?.length ? ` (takes ${command.positionals.map((p) => `<${p}>`).join(" ")})` : ""}`)
    }
  }
  if (!help) {
    if (command.subcommands !== undefined && command !== tree) {
      return fail(`${where()} needs a command: ${Object.keys(command.subcommands).join(", ")}`)
    }
    const missing = command.positionals?.[positionals]
    if (missing !== undefined) return fail(`${where()} needs <${missing}>`)
    for (const o of command.options) {
      if (o.default === undefined && given[o.name] === undefined) return fail(`${where()} needs --${o.name}: ${o.description}`)
    }
    if (given["once"] !== undefined) {
      const notHere = ["cron", "zone"].filter((n) => given[n] !== undefined)
      if (notHere.length > 0) {
        return fail(
          `${notHere.map((n) => `--${n}`).join(" and ")} ${notHere.length > 1 ? "do" : "does"} not apply with --once: ${notHere.length > 1 ? "they schedule" : "it schedules"} the ingest job of the long-running mode (drop --once to run on a schedule)`
        )
      }
    } else if (given["exact"] !== undefined) {
      return fail("--exact applies with --once: it makes a short ingest fail the run")
    }
  }
  return { _tag: "Right", right: { path, help, given } }
}

const splitOnce = (s: string): [string, string | undefined] => {
  const i = s.indexOf("=")
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)]
}

/** Checks the environment variables the CLI's options fall back to: the first problem, as one line. */
export const checkEnv = (env: Readonly<Record<string, string | undefined>>, options: ReadonlyArray<OptionSpec> = runOptions): string | undefined => {
  for (const o of options) {
    if (o.env === undefined) continue
    const value = env[o.env]
    if (value === undefined) continue
    const problem = valueProblem(o, value)
    if (problem !== undefined) {
      return `${o.env}=${value}: ${problem.replace(/^--\S+ must be/, "must be").replace(/, got .*$/, "")}, e.g. ${o.env}=${o.default?.split(",")[0] ?? ""}`
    }
  }
  return undefined
}
