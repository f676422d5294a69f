/**
 * Issue 9, item 4, as a user meets it: `pandaflow --once` against an API that answers a
 * short page (one user where three were asked for). The run accounts for every record in
 * one line — requested, received, distinct, duplicates, dead-lettered — warns and exits 0;
 * with `--exact` the same line is the failure, exit code 1, no stack trace. Embedded
 * broker and Postgres, a real process, a real HTTP server on 127.0.0.1.
 */
import { execFile } from "node:child_process"
import type * as http from "node:http"
import { Effect } from "effect"
import { describe, expect, it } from "@effect/vitest"
import { ada, page, sendJson, serve } from "../support/randomUserApi.js"
import { cliScript } from "../support/built.js"


/** The embedded default but for the source: PANDAFLOW_API_URL points at `apiUrl`. */
const envFor = (apiUrl: string) => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !["PANDAFLOW_BROKERS", "PANDAFLOW_PG_URL", "PANDAFLOW_CASSANDRA_CONTACT_POINTS"].includes(k))
  ),
  PANDAFLOW_API_URL: apiUrl
})

const exec = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv) =>
  Effect.async<{ readonly code: number; readonly stdout: string; readonly stderr: string }, Error>((resume) => {
    execFile(process.execPath, [cliScript, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") resume(Effect.fail(error))
      else resume(Effect.succeed({ code: error === null ? 0 : Number(error.code), stdout, stderr }))
    })
  })

/** Every page has one user, whatever was asked: the same user, so a second page would repeat it. */
const onePerPage = (_req: http.IncomingMessage, res: http.ServerResponse, q: { readonly results: number; readonly seed: string; readonly page: number }) =>
  sendJson(res, page(q, [ada]))

const summaryLine = "short ingest — requested 3, received 1, distinct 1, duplicates 0, dead-lettered 0: 2 fewer than requested"

describe("a short ingest through the CLI", () => {
  it.scoped("--once: warns with the accounting of every record, lands what came, exits 0", () =>
    Effect.gen(function*() {
      const api = yield* serve(onePerPage)
      const run = yield* exec(["--once", "--records", "3", "--seed", "short"], envFor(api.url))
      expect(run.code).toBe(0)
      expect(api.requests).toEqual([{ results: 3, seed: "short", page: 1 }])
      const out = `${run.stdout}\n${run.stderr}`
      expect(out).toContain(`warning: ${summaryLine} (--exact makes this a failure)`)
      expect(run.stdout.trim().split("\n").find((l) => l.includes("done in"))).toMatch(/ingested 1 · processed 1 .* dlq 0 · postgres 1$/)
      expect(out).not.toMatch(/\n\s+at /)
    }), 150_000)

  it.scoped("--once --exact: the same line is the failure, exit code 1, no stack trace", () =>
    Effect.gen(function*() {
      const api = yield* serve(onePerPage)
      const run = yield* exec(["--once", "--exact", "--records", "3", "--seed", "short"], envFor(api.url))
      expect(run.code).toBe(1)
      const lines = run.stderr.trim().split("\n")
      expect(lines.at(-1)).toContain(`${summaryLine} (--exact)`)
      expect(`${run.stdout}\n${run.stderr}`).not.toMatch(/\n\s+at /)
    }), 150_000)
})
