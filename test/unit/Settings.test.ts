/**
 * Every setting is checked at start-up: each bad value fails with one `InvalidSetting`
 * naming the variable, what is wrong and an example, and never the value of a secret.
 * Expected values are written by hand.
 */
import { ConfigProvider, Duration, Effect, Either, LogLevel, Option, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import * as Live from "../../layers/Live.js"
import * as Settings from "../../layers/Settings.js"

const invalid = (raw: Settings.Raw): Settings.InvalidSetting =>
  Either.match(Settings.validate(raw), {
    onLeft: (e) => e,
    onRight: () => {
      throw new Error(`expected ${JSON.stringify(raw)} to be refused`)
    }
  })
const valid = (raw: Settings.Raw): Settings.Settings =>
  Either.getOrThrowWith(Settings.validate(raw), (e) => new Error(e.message))

describe("Settings.validate: defaults", () => {
  it("nothing set: embedded everything, documented defaults", () => {
    const s = valid({})
    expect(Option.isNone(s.brokers)).toBe(true)
    expect(Option.isNone(s.postgres)).toBe(true)
    expect(Option.isNone(s.cassandra)).toBe(true)
    expect(Option.isNone(s.apiUrl)).toBe(true)
    expect(s.logLevel).toBe(LogLevel.Info)
    expect(s.kafkaClientId).toBe("pandaflow")
    expect(Duration.toMillis(s.kafkaConnectTimeout)).toBe(3000)
    expect(Duration.toMillis(s.apiTimeout)).toBe(30_000)
    expect(s.ingestCron).toBe("0 0 * * *")
    expect(s.ingestZone).toBe("UTC")
    expect(s.controlPort).toBe(8787)
    expect(s.controlUrl).toBe("http://127.0.0.1:8787")
    expect(s.scheduler.schema).toBe("pandaflow_scheduler")
    expect(s.scheduler.instanceId).toBeUndefined()
    expect(Duration.toMillis(s.scheduler.lease)).toBe(30_000)
    expect(Duration.toMillis(s.scheduler.heartbeat)).toBe(10_000)
    expect(s.scheduler.maxBackfill).toBe(1000)
  })

  it("an empty value counts as unset", () => {
    const s = valid({ PANDAFLOW_BROKERS: "", PANDAFLOW_PG_URL: "  ", PANDAFLOW_API_TIMEOUT: "" })
    expect(Option.isNone(s.brokers)).toBe(true)
    expect(Option.isNone(s.postgres)).toBe(true)
    expect(Duration.toMillis(s.apiTimeout)).toBe(30_000)
  })

  it("the services' addresses, as .pandaflow/env writes them", () => {
    const s = valid({
      PANDAFLOW_BROKERS: "127.0.0.1:19092, localhost:19093",
      PANDAFLOW_PG_URL: "postgres://postgres@127.0.0.1:55432/pandaflow",
      PANDAFLOW_PG_MAX_CONNECTIONS: "8",
      PANDAFLOW_PG_CONNECT_TIMEOUT: "2 seconds",
      PANDAFLOW_CASSANDRA_CONTACT_POINTS: "127.0.0.1:19042,cassandra-2",
      PANDAFLOW_CASSANDRA_LOCAL_DC: "dc1",
      PANDAFLOW_CASSANDRA_KEYSPACE: "users_ks",
      PANDAFLOW_CASSANDRA_USERNAME: "cassandra",
      PANDAFLOW_CASSANDRA_PASSWORD: "hunter2",
      PANDAFLOW_API_URL: "https://randomuser.me/api/1.4/",
      PANDAFLOW_API_TIMEOUT: "2 seconds",
      PANDAFLOW_INGEST_CRON: "30 6 * * 1-5",
      PANDAFLOW_INGEST_ZONE: "Europe/Berlin",
      PANDAFLOW_CONTROL_PORT: "9000",
      PANDAFLOW_CONTROL_URL: "http://127.0.0.1:9000",
      PANDAFLOW_SCHEDULER_SCHEMA: "sched",
      PANDAFLOW_SCHEDULER_INSTANCE_ID: "worker-1",
      PANDAFLOW_SCHEDULER_LEASE: "1 minute",
      PANDAFLOW_SCHEDULER_HEARTBEAT: "20 seconds",
      PANDAFLOW_SCHEDULER_MAX_BACKFILL: "50",
      PANDAFLOW_LOG_LEVEL: "DEBUG",
      PANDAFLOW_KAFKA_CLIENT_ID: "my-app.1"
    })
    expect(Option.getOrThrow(s.brokers)).toEqual(["127.0.0.1:19092", "localhost:19093"])
    const pg = Option.getOrThrow(s.postgres)
    expect(pg.address).toBe("127.0.0.1:55432/pandaflow")
    expect(pg.maxConnections).toBe(8)
    expect(Duration.toMillis(pg.connectTimeout)).toBe(2000)
    const c = Option.getOrThrow(s.cassandra)
    expect(c.contactPoints).toEqual(["127.0.0.1:19042", "cassandra-2"])
    expect(c.localDataCenter).toBe("dc1")
    expect(c.keyspace).toBe("users_ks")
    expect(c.username).toBe("cassandra")
    expect(Redacted.value(c.password!)).toBe("hunter2")
    expect(Option.getOrThrow(s.apiUrl)).toBe("https://randomuser.me/api/1.4/")
    expect(Duration.toMillis(s.apiTimeout)).toBe(2000)
    expect(s.ingestZone).toBe("Europe/Berlin")
    expect(s.controlPort).toBe(9000)
    expect(s.scheduler).toEqual({
      schema: "sched",
      instanceId: "worker-1",
      lease: Duration.minutes(1),
      heartbeat: Duration.seconds(20),
      maxBackfill: 50
    })
    expect(s.logLevel).toBe(LogLevel.Debug)
    expect(s.kafkaClientId).toBe("my-app.1")
  })

  it("a Postgres URL without port or database says where it connects", () => {
    expect(Option.getOrThrow(valid({ PANDAFLOW_PG_URL: "postgresql://db.internal" }).postgres).address).toBe("db.internal:5432")
    // `pg` lets ?host= and ?port= override the authority: the address says where it really goes.
    expect(Option.getOrThrow(valid({ PANDAFLOW_PG_URL: "postgres://u:pw@ignored/app?host=10.0.0.5&port=6432" }).postgres).address).toBe("10.0.0.5:6432/app")
  })
})

describe("Settings.validate: each bad value is one line with the variable, the problem and an example", () => {
  const cases: ReadonlyArray<readonly [Settings.Raw, string]> = [
    [{ PANDAFLOW_BROKERS: "garbage" }, `PANDAFLOW_BROKERS=garbage: "garbage" is not host:port (port 1–65535); expected host:port[,host:port…], e.g. 127.0.0.1:19092`],
    [{ PANDAFLOW_BROKERS: "127.0.0.1:19092,,x:1" }, "PANDAFLOW_BROKERS=127.0.0.1:19092,,x:1: expected host:port[,host:port…] (an entry is empty), e.g. 127.0.0.1:19092"],
    [{ PANDAFLOW_BROKERS: "127.0.0.1:0" }, `PANDAFLOW_BROKERS=127.0.0.1:0: "127.0.0.1:0" is not host:port (port 1–65535); expected host:port[,host:port…], e.g. 127.0.0.1:19092`],
    [{ PANDAFLOW_BROKERS: "127.0.0.1:99999" }, `PANDAFLOW_BROKERS=127.0.0.1:99999: "127.0.0.1:99999" is not host:port (port 1–65535); expected host:port[,host:port…], e.g. 127.0.0.1:19092`],
    [{ PANDAFLOW_BROKERS: "http://broker:9092" }, `PANDAFLOW_BROKERS=http://broker:9092: "http://broker:9092" is not host:port (port 1–65535); expected host:port[,host:port…], e.g. 127.0.0.1:19092`],
    [{ PANDAFLOW_KAFKA_CLIENT_ID: "my app" }, "PANDAFLOW_KAFKA_CLIENT_ID=my app: expected letters, digits, '.', '_' or '-', e.g. pandaflow"],
    [{ PANDAFLOW_KAFKA_CONNECT_TIMEOUT: "3" }, "PANDAFLOW_KAFKA_CONNECT_TIMEOUT=3: expected a duration: a number and a unit (millis, seconds, minutes, hours), e.g. 3 seconds"],
    [{ PANDAFLOW_PG_URL: "not-a-url" }, "PANDAFLOW_PG_URL (value not shown): not a URL; expected postgres:// or postgresql://…, e.g. postgres://user:password@127.0.0.1:5432/pandaflow"],
    [{ PANDAFLOW_PG_URL: "mysql://root:pw@127.0.0.1/db" }, "PANDAFLOW_PG_URL=mysql://root:***@127.0.0.1/db: the scheme is mysql:, expected postgres: or postgresql:, e.g. postgres://user:password@127.0.0.1:5432/pandaflow"],
    [{ PANDAFLOW_PG_URL: "postgres://127.0.0.1:5432/a/b" }, "PANDAFLOW_PG_URL (value not shown): the path must be one database name, e.g. postgres://user:password@127.0.0.1:5432/pandaflow"],
    [{ PANDAFLOW_PG_MAX_CONNECTIONS: "four" }, "PANDAFLOW_PG_MAX_CONNECTIONS=four: expected a whole number from 1 to 1000, e.g. 4"],
    [{ PANDAFLOW_PG_MAX_CONNECTIONS: "0" }, "PANDAFLOW_PG_MAX_CONNECTIONS=0: 0 is out of range: expected 1 to 1000, e.g. 4"],
    [{ PANDAFLOW_PG_MAX_CONNECTIONS: "2.5" }, "PANDAFLOW_PG_MAX_CONNECTIONS=2.5: expected a whole number from 1 to 1000, e.g. 4"],
    [{ PANDAFLOW_PG_CONNECT_TIMEOUT: "soon" }, "PANDAFLOW_PG_CONNECT_TIMEOUT=soon: expected a duration: a number and a unit (millis, seconds, minutes, hours), e.g. 5 seconds"],
    [{ PANDAFLOW_PG_CONNECT_TIMEOUT: "0 seconds" }, "PANDAFLOW_PG_CONNECT_TIMEOUT=0 seconds: must be longer than 0, e.g. 5 seconds"],
    [{ PANDAFLOW_PG_CONNECT_TIMEOUT: "1 hour" }, "PANDAFLOW_PG_CONNECT_TIMEOUT=1 hour: must be at most 5m, e.g. 5 seconds"],
    [{ PANDAFLOW_CASSANDRA_CONTACT_POINTS: "127.0.0.1:abc" }, `PANDAFLOW_CASSANDRA_CONTACT_POINTS=127.0.0.1:abc: "127.0.0.1:abc" is not host or host:port (port 1–65535); expected host[:port][,host[:port]…], e.g. 127.0.0.1:19042`],
    [{ PANDAFLOW_CASSANDRA_LOCAL_DC: "data center" }, "PANDAFLOW_CASSANDRA_LOCAL_DC=data center: must not contain spaces, e.g. datacenter1"],
    [{ PANDAFLOW_CASSANDRA_KEYSPACE: "my-keyspace" }, "PANDAFLOW_CASSANDRA_KEYSPACE=my-keyspace: expected a plain identifier: a letter or '_', then letters, digits or '_' (at most 48), e.g. spark_streams"],
    [{ PANDAFLOW_CASSANDRA_PASSWORD: "hunter2" }, "PANDAFLOW_CASSANDRA_PASSWORD (value not shown): is set but PANDAFLOW_CASSANDRA_USERNAME is not: set both or neither, e.g. PANDAFLOW_CASSANDRA_USERNAME=cassandra"],
    [{ PANDAFLOW_CASSANDRA_USERNAME: "cassandra" }, "PANDAFLOW_CASSANDRA_USERNAME=cassandra: is set but PANDAFLOW_CASSANDRA_PASSWORD is not: set both or neither, e.g. PANDAFLOW_CASSANDRA_PASSWORD=<the password>"],
    [{ PANDAFLOW_CASSANDRA_CONNECT_TIMEOUT: "-1 seconds" }, "PANDAFLOW_CASSANDRA_CONNECT_TIMEOUT=-1 seconds: must be longer than 0, e.g. 5 seconds"],
    [{ PANDAFLOW_API_URL: "randomuser.me/api" }, "PANDAFLOW_API_URL=randomuser.me/api: not a URL; expected http:// or https://…, e.g. https://randomuser.me/api/1.4/"],
    [{ PANDAFLOW_API_URL: "ftp://randomuser.me/api" }, "PANDAFLOW_API_URL=ftp://randomuser.me/api: the scheme is ftp:, expected http: or https:, e.g. https://randomuser.me/api/1.4/"],
    [{ PANDAFLOW_API_TIMEOUT: "banana" }, "PANDAFLOW_API_TIMEOUT=banana: expected a duration: a number and a unit (millis, seconds, minutes, hours), e.g. 30 seconds"],
    [{ PANDAFLOW_API_TIMEOUT: "2s" }, "PANDAFLOW_API_TIMEOUT=2s: expected a duration: a number and a unit (millis, seconds, minutes, hours), e.g. 30 seconds"],
    [{ PANDAFLOW_INGEST_CRON: "every day" }, "PANDAFLOW_INGEST_CRON=every day: not a cron expression (Invalid number of segments in cron expression), e.g. 0 0 * * * (daily at midnight)"],
    [{ PANDAFLOW_INGEST_CRON: "61 * * * *" }, "PANDAFLOW_INGEST_CRON=61 * * * *: not a cron expression (Expected a value between 0 and 59), e.g. 0 0 * * * (daily at midnight)"],
    [{ PANDAFLOW_INGEST_ZONE: "Mars/Olympus" }, "PANDAFLOW_INGEST_ZONE=Mars/Olympus: not an IANA time zone, e.g. Europe/Berlin"],
    [{ PANDAFLOW_CONTROL_PORT: "http" }, "PANDAFLOW_CONTROL_PORT=http: expected a whole number from 1 to 65535, e.g. 8787"],
    [{ PANDAFLOW_CONTROL_PORT: "70000" }, "PANDAFLOW_CONTROL_PORT=70000: 70000 is out of range: expected 1 to 65535, e.g. 8787"],
    [{ PANDAFLOW_CONTROL_URL: "127.0.0.1:8787" }, "PANDAFLOW_CONTROL_URL=127.0.0.1:8787: not a URL; expected http:// or https://…, e.g. http://127.0.0.1:8787"],
    [{ PANDAFLOW_CONTROL_URL: "ws://127.0.0.1:8787" }, "PANDAFLOW_CONTROL_URL=ws://127.0.0.1:8787: the scheme is ws:, expected http: or https:, e.g. http://127.0.0.1:8787"],
    [{ PANDAFLOW_SCHEDULER_SCHEMA: "drop table;" }, "PANDAFLOW_SCHEDULER_SCHEMA=drop table;: expected a plain identifier: a letter or '_', then letters, digits or '_', e.g. pandaflow_scheduler"],
    [{ PANDAFLOW_SCHEDULER_INSTANCE_ID: "worker 1" }, "PANDAFLOW_SCHEDULER_INSTANCE_ID=worker 1: must be 1–200 characters without spaces, e.g. worker-1"],
    [{ PANDAFLOW_SCHEDULER_LEASE: "long" }, "PANDAFLOW_SCHEDULER_LEASE=long: expected a duration: a number and a unit (millis, seconds, minutes, hours), e.g. 30 seconds"],
    [{ PANDAFLOW_SCHEDULER_HEARTBEAT: "1 minute" }, "PANDAFLOW_SCHEDULER_HEARTBEAT=1 minute: the heartbeat (1m) must be shorter than the lease (30s), e.g. PANDAFLOW_SCHEDULER_LEASE=30 seconds with PANDAFLOW_SCHEDULER_HEARTBEAT=10 seconds"],
    [{ PANDAFLOW_SCHEDULER_LEASE: "5 seconds" }, "PANDAFLOW_SCHEDULER_LEASE=5 seconds: the heartbeat (10s) must be shorter than the lease (5s), e.g. PANDAFLOW_SCHEDULER_LEASE=30 seconds with PANDAFLOW_SCHEDULER_HEARTBEAT=10 seconds"],
    [{ PANDAFLOW_SCHEDULER_MAX_BACKFILL: "-3" }, "PANDAFLOW_SCHEDULER_MAX_BACKFILL=-3: -3 is out of range: expected 1 to 1000000, e.g. 1000"],
    [{ PANDAFLOW_LOG_LEVEL: "loud" }, "PANDAFLOW_LOG_LEVEL=loud: expected one of none, error, warn, info, debug, trace, all, e.g. debug"]
  ]
  for (const [raw, line] of cases) {
    const variable = Object.keys(raw)[0]!
    it(`${variable}=${Object.values(raw)[0]}`, () => {
      const e = invalid(raw)
      expect(e._tag).toBe("InvalidSetting")
      expect(e.variable).toBe(variable)
      expect(e.message).toBe(line)
      expect(e.message).not.toContain("\n")
    })
  }

  it("the first bad setting is reported, in the order of Settings.variables", () => {
    expect(invalid({ PANDAFLOW_API_TIMEOUT: "x", PANDAFLOW_BROKERS: "y" }).variable).toBe("PANDAFLOW_BROKERS")
  })
})

describe("secrets are never echoed", () => {
  const secret = "s3cr@t:pa55"
  const refused: ReadonlyArray<Settings.Raw> = [
    // userinfo with '@' and ':' inside the password (as typed, not percent-encoded)
    { PANDAFLOW_PG_URL: `mysql://app:${secret}@127.0.0.1/db` },
    { PANDAFLOW_PG_URL: `postgres://app:${secret}@127.0.0.1/a/b` },
    // a '/' in the password ends the authority early: the rest looks like a path
    { PANDAFLOW_PG_URL: "postgres://app:12345/s3cr@127.0.0.1/db" },
    { PANDAFLOW_PG_URL: `mysql://127.0.0.1/db?password=${secret}&sslpassword=${secret}` },
    { PANDAFLOW_CASSANDRA_PASSWORD: secret }
  ]
  for (const raw of refused) {
    it(`refusing ${Object.keys(raw)[0]} does not show it (${Object.values(raw)[0]!.slice(0, 12)}…)`, () => {
      const e = invalid(raw)
      expect(e.message).not.toContain("s3cr")
      expect(e.message).not.toContain("pa55")
      expect(e.message).not.toContain("12345")
      expect(String(e)).not.toContain("s3cr")
      expect(JSON.stringify(e)).not.toContain("s3cr")
    })
  }

  it("redactUrl: userinfo password (with @ and :), ?password=, sslpassword, secret, token; the rest kept", () => {
    expect(Settings.redactUrl(`postgres://app:${secret}@db.internal:5432/pandaflow`)).toBe("postgres://app:***@db.internal:5432/pandaflow")
    expect(Settings.redactUrl(`postgres://app@db.internal/pandaflow?password=${encodeURIComponent(secret)}&sslmode=require`))
      .toBe("postgres://app@db.internal/pandaflow?password=***&sslmode=require")
    expect(Settings.redactUrl(`postgres://db/x?sslpassword=a1b2&application_name=pf&client_secret=c3&token=t4&apiKey=k5`))
      .toBe("postgres://db/x?sslpassword=***&application_name=pf&client_secret=***&token=***&apiKey=***")
    expect(Settings.redactUrl("postgres://postgres@127.0.0.1:55432/pandaflow")).toBe("postgres://postgres@127.0.0.1:55432/pandaflow")
    expect(Settings.redactUrl(`not a url ${secret}`)).toBe("<not a URL: not shown>")
  })

  it("the mode line shows the URL redacted", () => {
    const s = valid({ PANDAFLOW_PG_URL: `postgres://app:${secret}@127.0.0.1:5432/pf?password=${secret}`, PANDAFLOW_CASSANDRA_CONTACT_POINTS: "127.0.0.1:19042", PANDAFLOW_CASSANDRA_USERNAME: "u", PANDAFLOW_CASSANDRA_PASSWORD: secret })
    const line = Live.describeMode(s)
    expect(line).toBe("pandaflow: services mode — broker in-memory, postgres postgres://app:***@127.0.0.1:5432/pf?password=***, cassandra 127.0.0.1:19042, source built-in randomuser emulator")
    expect(JSON.stringify(s)).not.toContain("s3cr")
  })
})

describe("Settings.load and Live.load", () => {
  const provider = (map: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(map)), { pathDelim: "_" })

  it("read through the ConfigProvider; a bad value fails as InvalidSetting", async () => {
    const exit = await Effect.runPromise(Effect.either(Effect.withConfigProvider(Settings.load, provider({ PANDAFLOW_API_TIMEOUT: "banana" }))))
    expect(Either.isLeft(exit) && exit.left._tag).toBe("InvalidSetting")
    const ok = await Effect.runPromise(Effect.withConfigProvider(Live.load, provider({ PANDAFLOW_API_TIMEOUT: "2 seconds" })))
    expect(Duration.toMillis(ok.apiTimeout)).toBe(2000)
  })

  it("Live.Mode, the Config form, fails as a ConfigError at the variable with the same line", async () => {
    const exit = await Effect.runPromise(Effect.either(Effect.withConfigProvider(Live.Mode, provider({ PANDAFLOW_BROKERS: "garbage" }))))
    expect(Either.isLeft(exit) && String(exit.left)).toContain("PANDAFLOW_BROKERS=garbage: \"garbage\" is not host:port")
  })

  it("fromConfigError names the variable of another module's Config", () => {
    const e = Settings.fromConfigError(
      { _op: "InvalidData", path: ["PANDAFLOW_API_URL"], message: "expected an http(s) URL" } as never,
      "https://randomuser.me/api/"
    )
    expect(e.message).toBe("PANDAFLOW_API_URL (value not shown): expected an http(s) URL, e.g. https://randomuser.me/api/")
  })
})
