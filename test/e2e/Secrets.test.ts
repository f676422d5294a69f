/**
 * A secret is never printed: every run of the CLI — success, a bad setting, a service
 * that cannot be reached or refuses us, a crash — is checked for the Postgres password
 * (in the URL's userinfo, raw with '@' and ':', or as `?password=`) and the Cassandra
 * password, in stdout and stderr, raw and percent-encoded.
 *
 * The local services trust every password (trust auth, AllowAllAuthenticator), so a
 * secret-bearing URL still connects: the success runs really use the secrets.
 */
import { execFile } from "node:child_process"
import { describe, expect, it } from "vitest"
import { requireEnv } from "../support/env.js"
import { cliScript } from "../support/built.js"


// Distinct, unguessable-looking secrets; the first has the characters that broke redaction.
const pgSecret = "Pg@s3cr:et-7Qx"
const querySecret = "Qp4ss-w0rd-91z"
const cassandraSecret = "Cs-s3cr3t-4Lm"
const secrets = [pgSecret, querySecret, cassandraSecret]

/** The environment without any PANDAFLOW_ setting: each test says what it sets. */
const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PANDAFLOW_")))

interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly millis: number
}

const exec = (args: ReadonlyArray<string>, env: Record<string, string>, timeout = 120_000) =>
  new Promise<Result>((resolve, reject) => {
    const started = Date.now()
    execFile(process.execPath, [cliScript, ...args], { env: { ...base, ...env }, timeout }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") reject(error)
      else resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr, millis: Date.now() - started })
    })
  })

/** No form of any secret in either stream. */
const expectNoSecret = (r: Result) => {
  const output = `${r.stdout}\n${r.stderr}`
  for (const secret of secrets) {
    for (const form of [secret, encodeURIComponent(secret), secret.slice(0, 6), secret.slice(-6)]) {
      expect(output, `output contains ${JSON.stringify(form)}:\n${output}`).not.toContain(form)
    }
  }
}

const once = ["--once", "--records", "50"]

describe("secrets never printed (CLI runs)", () => {
  const pg = new URL(requireEnv("PANDAFLOW_PG_URL"))
  const cassandra = requireEnv("PANDAFLOW_CASSANDRA_CONTACT_POINTS")
  /** The local Postgres's URL with a password, typed raw (with '@' and ':') into the userinfo. */
  const pgWithUserinfo = `postgres://${pg.username || "postgres"}:${pgSecret}@${pg.host}${pg.pathname}`
  const pgWithQuery = `postgres://${pg.username || "postgres"}@${pg.host}${pg.pathname}?password=${querySecret}`
  const cassandraCredentials = { PANDAFLOW_CASSANDRA_USERNAME: "pandaflow", PANDAFLOW_CASSANDRA_PASSWORD: cassandraSecret }

  it("success: Postgres with a password in the userinfo, Cassandra with credentials", async () => {
    const r = await exec(once, { PANDAFLOW_PG_URL: pgWithUserinfo, PANDAFLOW_CASSANDRA_CONTACT_POINTS: cassandra, ...cassandraCredentials })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain("postgres postgres://postgres:***@")
    expect(r.stdout).toMatch(/done in .* postgres 50/)
    expectNoSecret(r)
  })

  it("success: Postgres with ?password=; an unused Cassandra password in the environment", async () => {
    const r = await exec(once, { PANDAFLOW_PG_URL: pgWithQuery, ...cassandraCredentials })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain("?password=***")
    expectNoSecret(r)
  })

  it.each([
    ["a Postgres URL of another scheme", { PANDAFLOW_PG_URL: `mysql://root:${pgSecret}@127.0.0.1/db` }],
    ["a Postgres URL whose password has a '/'", { PANDAFLOW_PG_URL: `postgres://root:12/${pgSecret}@127.0.0.1/db` }],
    ["a Postgres URL that does not parse", { PANDAFLOW_PG_URL: `postgres://root:${pgSecret}@127.0.0.1:port/db` }],
    ["a bad setting elsewhere, secrets set", { PANDAFLOW_PG_URL: pgWithQuery, PANDAFLOW_API_TIMEOUT: "banana", ...cassandraCredentials }],
    ["a Cassandra password without user", { PANDAFLOW_CASSANDRA_PASSWORD: cassandraSecret }]
  ])("bad setting: %s — fails fast, before connecting, without the secret", async (_, env) => {
    const r = await exec(once, env as Record<string, string>)
    expect(r.code).not.toBe(0)
    expect(r.stdout + r.stderr).toMatch(/PANDAFLOW_[A-Z_]+( \(value not shown\)|=)/)
    expect(r.stdout).not.toContain("pandaflow: services mode")
    expectNoSecret(r)
  })

  it("unreachable Postgres with passwords in the URL: one line naming service, address and variable", async () => {
    const r = await exec(once, { PANDAFLOW_PG_URL: `postgres://postgres:${pgSecret}@127.0.0.1:1/pandaflow?password=${querySecret}` })
    expect(r.code).not.toBe(0)
    expect(r.stdout + r.stderr).toContain("postgres at 127.0.0.1:1/pandaflow (PANDAFLOW_PG_URL) is unreachable: connect ECONNREFUSED 127.0.0.1:1")
    expect(r.millis).toBeLessThan(30_000)
    expectNoSecret(r)
  })

  it("Postgres refusing us (no such database), password in the URL", async () => {
    const r = await exec(once, { PANDAFLOW_PG_URL: `postgres://postgres:${pgSecret}@${pg.host}/no_such_db_pandaflow` })
    expect(r.code).not.toBe(0)
    expect(r.stdout + r.stderr).toContain(`postgres at ${pg.host}/no_such_db_pandaflow (PANDAFLOW_PG_URL) refused the connection: database "no_such_db_pandaflow" does not exist`)
    expectNoSecret(r)
  })

  it("unreachable Cassandra with credentials: one line, no password", async () => {
    const r = await exec(once, { PANDAFLOW_CASSANDRA_CONTACT_POINTS: "127.0.0.1:1", ...cassandraCredentials })
    expect(r.code).not.toBe(0)
    expect(r.stdout + r.stderr).toContain("cassandra at 127.0.0.1:1 (PANDAFLOW_CASSANDRA_CONTACT_POINTS) is unreachable: connect ECONNREFUSED 127.0.0.1:1")
    expectNoSecret(r)
  })

  it("unreachable broker: one line after a bounded connect, no kafkajs lines", async () => {
    const r = await exec(once, { PANDAFLOW_BROKERS: "127.0.0.1:1", PANDAFLOW_PG_URL: pgWithUserinfo })
    expect(r.code).not.toBe(0)
    expect(r.stdout + r.stderr).toContain("kafka broker at 127.0.0.1:1 (PANDAFLOW_BROKERS) is unreachable: connect ECONNREFUSED 127.0.0.1:1")
    expect(r.stderr).not.toContain("kafkajs")
    expect(r.millis).toBeLessThan(30_000)
    expectNoSecret(r)
  })

  it("crash: a module that dies after the services connected", async () => {
    const r = await exec(["run", "test/e2e/fixtures/crash-module.ts", ...once], { PANDAFLOW_PG_URL: pgWithUserinfo, PANDAFLOW_CASSANDRA_CONTACT_POINTS: cassandra, ...cassandraCredentials })
    expect(r.code).not.toBe(0)
    expect(r.stdout + r.stderr).toContain("fixture crash")
    expectNoSecret(r)
  })
})

// A bad setting is one line and exit code 2; an unreachable service one line and exit code 1.
describe("one line and exit code (CLI wiring)", () => {
  it.each([
    ["PANDAFLOW_BROKERS", "garbage", `pandaflow: PANDAFLOW_BROKERS=garbage: "garbage" is not host:port (port 1–65535); expected host:port[,host:port…], e.g. 127.0.0.1:19092`],
    ["PANDAFLOW_PG_URL", "not-a-url", "pandaflow: PANDAFLOW_PG_URL (value not shown): not a URL; expected postgres:// or postgresql://…, e.g. postgres://user:password@127.0.0.1:5432/pandaflow"],
    ["PANDAFLOW_API_TIMEOUT", "banana", "pandaflow: PANDAFLOW_API_TIMEOUT=banana: expected a duration: a number and a unit (millis, seconds, minutes, hours), e.g. 30 seconds"],
    ["PANDAFLOW_INGEST_ZONE", "Mars/Olympus", "pandaflow: PANDAFLOW_INGEST_ZONE=Mars/Olympus: not an IANA time zone, e.g. Europe/Berlin"]
  ])("%s=%s: exit code 2, one line", async (variable, value, line) => {
    const r = await exec(once, { [variable]: value })
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim()).toBe(line)
  })

  it("unreachable Postgres: exit code 1, one line", async () => {
    const r = await exec(once, { PANDAFLOW_PG_URL: `postgres://postgres:${pgSecret}@127.0.0.1:1/pandaflow` })
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split("\n")).toEqual(["pandaflow: postgres at 127.0.0.1:1/pandaflow (PANDAFLOW_PG_URL) is unreachable: connect ECONNREFUSED 127.0.0.1:1"])
  })
})
