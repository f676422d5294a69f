/**
 * Every `PANDAFLOW_*` setting the CLI reads, read and checked at once at start-up, before
 * any connection: a bad value fails with one `InvalidSetting` naming the variable, what is
 * wrong with it and a value that would do. Secrets (the Postgres URL's password, the
 * Cassandra password) are never echoed; URLs are shown through `redactUrl`.
 *
 * Reading goes through Effect's `ConfigProvider` (the environment by default), so tests
 * check settings with `ConfigProvider.fromMap(…, { pathDelim: "_" })`.
 *
 * An empty value counts as unset (`export PANDAFLOW_PG_URL=` switches Postgres back to the
 * embedded default).
 *
 * @since 0.2.0
 */
// Subpath imports: the CLI checks settings before it loads anything heavy (the `effect`
// barrel alone takes a second to load).
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Redact from "./Redact.js"
import * as SettingChecks from "./SettingChecks.js"

/** A setting has a value pandaflow cannot use. `message` is one line, without the value of a secret. */
export class InvalidSetting extends Data.TaggedError("InvalidSetting")<{
  /** The environment variable, e.g. `PANDAFLOW_BROKERS`. */
  readonly variable: string
  /** What is wrong, e.g. `expected host:port[,host:port…]`. */
  readonly problem: string
  /** A value that would do. */
  readonly example: string
  /** The value as it may be shown: `undefined` for a secret (or a value that may hold one). */
  readonly shown?: string | undefined
}> {
  override get message(): string {
    const subject = this.shown === undefined ? `${this.variable} (value not shown)` : `${this.variable}=${this.shown}`
    return `${subject}: ${this.problem}, e.g. ${this.example}`
  }
}

/** Every variable `load` reads, in the order they are checked. */
export const variables = [
  "PANDAFLOW_LOG_LEVEL",
  "PANDAFLOW_BROKERS",
  "PANDAFLOW_KAFKA_CLIENT_ID",
  "PANDAFLOW_KAFKA_CONNECT_TIMEOUT",
  "PANDAFLOW_PG_URL",
  "PANDAFLOW_PG_MAX_CONNECTIONS",
  "PANDAFLOW_PG_CONNECT_TIMEOUT",
  "PANDAFLOW_CASSANDRA_CONTACT_POINTS",
  "PANDAFLOW_CASSANDRA_LOCAL_DC",
  "PANDAFLOW_CASSANDRA_KEYSPACE",
  "PANDAFLOW_CASSANDRA_USERNAME",
  "PANDAFLOW_CASSANDRA_PASSWORD",
  "PANDAFLOW_CASSANDRA_CONNECT_TIMEOUT",
  "PANDAFLOW_API_URL",
  "PANDAFLOW_API_TIMEOUT",
  "PANDAFLOW_INGEST_CRON",
  "PANDAFLOW_INGEST_ZONE",
  "PANDAFLOW_CONTROL_PORT",
  "PANDAFLOW_CONTROL_URL",
  "PANDAFLOW_SCHEDULER_SCHEMA",
  "PANDAFLOW_SCHEDULER_INSTANCE_ID",
  "PANDAFLOW_SCHEDULER_LEASE",
  "PANDAFLOW_SCHEDULER_HEARTBEAT",
  "PANDAFLOW_SCHEDULER_MAX_BACKFILL"
] as const
/** One of the variables `load` reads. */
export type Variable = typeof variables[number]

/** The raw values, as read: absent or empty is `undefined`. */
export type Raw = Partial<Record<Variable, string>>

/** Postgres settings, when `PANDAFLOW_PG_URL` is set. */
export interface Postgres {
  readonly url: Redacted.Redacted
  /** `host:port/database`: where it connects, without user or password. */
  readonly address: string
  /** The URL with its password and secret-like parameters replaced by `***`. */
  readonly shown: string
  readonly maxConnections: number
  readonly connectTimeout: Duration.Duration
}

/** Cassandra settings, when `PANDAFLOW_CASSANDRA_CONTACT_POINTS` is set. */
export interface Cassandra {
  readonly contactPoints: ReadonlyArray<string>
  readonly localDataCenter: string
  readonly keyspace: string
  readonly username: string | undefined
  readonly password: Redacted.Redacted | undefined
  readonly connectTimeout: Duration.Duration
}

/** Everything the CLI and its services are configured with. */
export interface Settings {
  /** Effect's minimum log level (`PANDAFLOW_LOG_LEVEL`); client libraries' debug lines show at `debug`. */
  readonly logLevel: LogLevel.LogLevel
  readonly brokers: Option.Option<ReadonlyArray<string>>
  readonly kafkaClientId: string
  /** How long the broker connection may take at start-up (each try; one retry). */
  readonly kafkaConnectTimeout: Duration.Duration
  readonly postgres: Option.Option<Postgres>
  readonly cassandra: Option.Option<Cassandra>
  /** `PANDAFLOW_API_URL`; the built-in emulator when absent. */
  readonly apiUrl: Option.Option<string>
  readonly apiTimeout: Duration.Duration
  readonly ingestCron: string
  readonly ingestZone: string
  readonly controlPort: number
  readonly controlUrl: string
  readonly scheduler: {
    readonly schema: string
    readonly instanceId: string | undefined
    readonly lease: Duration.Duration
    readonly heartbeat: Duration.Duration
    readonly maxBackfill: number
  }
}

/** A URL fit to print (see `Redact.url`): what settings and the mode line show. */
export const redactUrl = (url: string): string => Redact.url(url)

/** `host:port/database` of a Postgres URL: where it connects, nothing secret (`?host=`/`?port=` win, as in `pg`). */
const pgAddress = (url: URL): string => {
  const host = url.searchParams.get("host") ?? url.hostname
  const port = url.searchParams.get("port") ?? (url.port === "" ? "5432" : url.port)
  return `${host}:${port}${url.pathname.length > 1 ? url.pathname : ""}`
}

type Check<A> = SettingChecks.Check<A>
const { bad, ok } = SettingChecks
const { cron, duration, hostPortList, integer, url, zone } = SettingChecks

/** The value checks, also usable on their own (see `SettingChecks`). */
export { cron, duration, hostPortList, integer, url, zone } from "./SettingChecks.js"

const logLevels: Record<string, LogLevel.LogLevel> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/

// ---------------------------------------------------------------------------------------
// Validation

/** Checks raw values (the environment, say) into `Settings`; the first bad one fails. */
export const validate = (raw: Raw): Either.Either<Settings, InvalidSetting> => {
  const get = (v: Variable): string | undefined => {
    const value = raw[v]
    return value === undefined || value.trim() === "" ? undefined : value
  }
  // Throws out of `validate` on the first failure; caught below.
  class Failed {
    constructor(readonly error: InvalidSetting) {}
  }
  const check = <A>(variable: Variable, example: string, f: (value: string) => Check<A>, secret = false) =>
  (value: string): A =>
    Either.getOrElse(f(value), (problem) => {
      throw new Failed(new InvalidSetting({ variable, problem, example, shown: secret ? undefined : value }))
    })
  const read = <A>(variable: Variable, example: string, f: (value: string) => Check<A>, fallback: A, secret = false): A => {
    const value = get(variable)
    return value === undefined ? fallback : check(variable, example, f, secret)(value)
  }
  const optional = <A>(variable: Variable, example: string, f: (value: string) => Check<A>, secret = false): Option.Option<A> => {
    const value = get(variable)
    return value === undefined ? Option.none() : Option.some(check(variable, example, f, secret)(value))
  }
  const fail = (variable: Variable, problem: string, example: string, shown?: string): never => {
    throw new Failed(new InvalidSetting({ variable, problem, example, shown }))
  }
  try {
    const logLevel = read("PANDAFLOW_LOG_LEVEL", "debug", (s) => {
      const level = logLevels[s.trim().toLowerCase()]
      return level === undefined ? bad("expected one of none, error, warn, info, debug, trace, all") : ok(level)
    }, LogLevel.Info)
    const brokers = optional("PANDAFLOW_BROKERS", "127.0.0.1:19092", (s) => hostPortList(s))
    const kafkaClientId = read("PANDAFLOW_KAFKA_CLIENT_ID", "pandaflow", (s) =>
      /^[A-Za-z0-9._-]{1,249}$/.test(s) ? ok(s) : bad("expected letters, digits, '.', '_' or '-'"), "pandaflow")
    const kafkaConnectTimeout = read("PANDAFLOW_KAFKA_CONNECT_TIMEOUT", "3 seconds", (s) => duration(s, Duration.minutes(2)), Duration.seconds(3))

    const pgExample = "postgres://user:password@127.0.0.1:5432/pandaflow"
    const pgUrl = get("PANDAFLOW_PG_URL")
    let postgres: Option.Option<Postgres> = Option.none()
    const maxConnections = read("PANDAFLOW_PG_MAX_CONNECTIONS", "4", (s) => integer(s, 1, 1000), 4)
    const pgConnectTimeout = read("PANDAFLOW_PG_CONNECT_TIMEOUT", "5 seconds", (s) => duration(s, Duration.minutes(5)), Duration.seconds(5))
    if (pgUrl !== undefined) {
      // The value is shown redacted only once it parses: before, any part may be the password.
      const parsed = Either.getOrElse(url(pgUrl, ["postgres", "postgresql"]), (problem) =>
        fail("PANDAFLOW_PG_URL", problem, pgExample, URL.canParse(pgUrl.trim()) ? redactUrl(pgUrl.trim()) : undefined))
      if (parsed.pathname.length > 1 && !/^\/[^/]+$/.test(parsed.pathname)) {
        // A '/' in an unencoded password ends the authority early: what looks like a path may hold it.
        fail("PANDAFLOW_PG_URL", "the path must be one database name", pgExample)
      }
      postgres = Option.some({
        url: Redacted.make(pgUrl.trim()),
        address: pgAddress(parsed),
        shown: redactUrl(pgUrl.trim()),
        maxConnections,
        connectTimeout: pgConnectTimeout
      })
    }

    const contactPoints = optional("PANDAFLOW_CASSANDRA_CONTACT_POINTS", "127.0.0.1:19042", (s) => hostPortList(s, true))
    const localDataCenter = read("PANDAFLOW_CASSANDRA_LOCAL_DC", "datacenter1", (s) => /^\S+$/.test(s) ? ok(s) : bad("must not contain spaces"), "datacenter1")
    const keyspace = read("PANDAFLOW_CASSANDRA_KEYSPACE", "spark_streams", (s) =>
      identifier.test(s) ? ok(s) : bad("expected a plain identifier: a letter or '_', then letters, digits or '_' (at most 48)"), "spark_streams")
    const username = optional("PANDAFLOW_CASSANDRA_USERNAME", "cassandra", ok)
    const password = get("PANDAFLOW_CASSANDRA_PASSWORD")
    if (password !== undefined && Option.isNone(username)) {
      fail("PANDAFLOW_CASSANDRA_PASSWORD", "is set but PANDAFLOW_CASSANDRA_USERNAME is not: set both or neither", "PANDAFLOW_CASSANDRA_USERNAME=cassandra")
    }
    if (password === undefined && Option.isSome(username)) {
      fail("PANDAFLOW_CASSANDRA_USERNAME", "is set but PANDAFLOW_CASSANDRA_PASSWORD is not: set both or neither", "PANDAFLOW_CASSANDRA_PASSWORD=<the password>", username.value)
    }
    const cassandraConnectTimeout = read("PANDAFLOW_CASSANDRA_CONNECT_TIMEOUT", "5 seconds", (s) => duration(s, Duration.minutes(5)), Duration.seconds(5))
    const cassandra = Option.map(contactPoints, (points): Cassandra => ({
      contactPoints: points,
      localDataCenter,
      keyspace,
      username: Option.getOrUndefined(username),
      password: password === undefined ? undefined : Redacted.make(password),
      connectTimeout: cassandraConnectTimeout
    }))

    const apiUrl = optional("PANDAFLOW_API_URL", "https://randomuser.me/api/1.4/", (s) => Either.map(url(s, ["http", "https"]), () => s.trim()))
    const apiTimeout = read("PANDAFLOW_API_TIMEOUT", "30 seconds", (s) => duration(s, Duration.hours(1)), Duration.seconds(30))

    const ingestZone = read("PANDAFLOW_INGEST_ZONE", "Europe/Berlin", zone, "UTC")
    const ingestCron = read("PANDAFLOW_INGEST_CRON", "0 0 * * * (daily at midnight)", (s) => cron(s, ingestZone), "0 0 * * *")
    const controlPort = read("PANDAFLOW_CONTROL_PORT", "8787", (s) => integer(s, 1, 65535), 8787)
    const controlUrl = read("PANDAFLOW_CONTROL_URL", "http://127.0.0.1:8787", (s) => Either.map(url(s, ["http", "https"]), () => s.trim()), "http://127.0.0.1:8787")

    const schema = read("PANDAFLOW_SCHEDULER_SCHEMA", "pandaflow_scheduler", (s) =>
      identifier.test(s) ? ok(s) : bad("expected a plain identifier: a letter or '_', then letters, digits or '_'"), "pandaflow_scheduler")
    const instanceId = Option.getOrUndefined(optional("PANDAFLOW_SCHEDULER_INSTANCE_ID", "worker-1", (s) =>
      /^\S{1,200}$/.test(s) ? ok(s) : bad("must be 1–200 characters without spaces")))
    const lease = read("PANDAFLOW_SCHEDULER_LEASE", "30 seconds", (s) => duration(s, Duration.hours(24)), Duration.seconds(30))
    const heartbeat = read("PANDAFLOW_SCHEDULER_HEARTBEAT", "10 seconds", (s) => duration(s, Duration.hours(24)), Duration.seconds(10))
    if (!Duration.lessThan(heartbeat, lease)) {
      fail(
        get("PANDAFLOW_SCHEDULER_HEARTBEAT") !== undefined ? "PANDAFLOW_SCHEDULER_HEARTBEAT" : "PANDAFLOW_SCHEDULER_LEASE",
        `the heartbeat (${Duration.format(heartbeat)}) must be shorter than the lease (${Duration.format(lease)})`,
        "PANDAFLOW_SCHEDULER_LEASE=30 seconds with PANDAFLOW_SCHEDULER_HEARTBEAT=10 seconds",
        get("PANDAFLOW_SCHEDULER_HEARTBEAT") ?? get("PANDAFLOW_SCHEDULER_LEASE")
      )
    }
    const maxBackfill = read("PANDAFLOW_SCHEDULER_MAX_BACKFILL", "1000", (s) => integer(s, 1, 1_000_000), 1000)

    return Either.right({
      logLevel,
      brokers,
      kafkaClientId,
      kafkaConnectTimeout,
      postgres,
      cassandra,
      apiUrl,
      apiTimeout,
      ingestCron,
      ingestZone,
      controlPort,
      controlUrl,
      scheduler: { schema, instanceId, lease, heartbeat, maxBackfill }
    })
  } catch (e) {
    if (e instanceof Failed) return Either.left(e.error)
    throw e
  }
}

/** The raw values from the current `ConfigProvider` (the environment by default). */
export const raw: Config.Config<Raw> = Config.all(
  Object.fromEntries(variables.map((v) => [v, Config.option(Config.string(v))]))
).pipe(Config.map((values) => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(values)) if (Option.isSome(v)) out[k] = v.value
  return out as Raw
}))

/**
 * The settings as a `Config`: a bad value fails as `ConfigError.InvalidData` at its
 * variable, with `InvalidSetting`'s one-line message. `load` is the same with a typed error.
 */
export const config: Config.Config<Settings> = Config.mapOrFail(raw, (r) =>
  Either.mapLeft(validate(r), (e) => ConfigError.InvalidData([e.variable], e.message)))

/** Reads and checks every setting; the first bad one fails as `InvalidSetting`. No I/O besides reading. */
export const load: Effect.Effect<Settings, InvalidSetting> = Effect.flatMap(
  Effect.orDie(raw),
  (r) => Either.match(validate(r), { onLeft: Effect.fail, onRight: Effect.succeed })
)

/** A setting a `Config` of another module rejected, as `InvalidSetting` (the value not shown: the config may not say whether it is secret). */
export const fromConfigError = (error: ConfigError.ConfigError, example: string): InvalidSetting => {
  const first = (e: ConfigError.ConfigError): { path: ReadonlyArray<string>; message: string } =>
    e._op === "And" || e._op === "Or" ? first(e.left) : "path" in e ? { path: e.path, message: e.message } : { path: [], message: String(e) }
  const { message, path } = first(error)
  return new InvalidSetting({ variable: path.join("_") || "configuration", problem: message, example })
}
