/**
 * The command line as a user runs it — the built CLI, as an installed `pandaflow` runs,
 * and `run <file>` through tsx, as `pnpm pandaflow run` does in a clone: the embedded default (no service configured), `--once`, the long-running mode with its
 * scheduler, `pandaflow dags` against it, and `pandaflow run <file>` on a pipeline module.
 * Real processes, real HTTP on 127.0.0.1.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { createServer } from "node:net"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { cliScript } from "../support/built.js"

const run = promisify(execFile)
// Most runs use the built CLI, as an installed `pandaflow` runs (test/support/buildOnce.ts),
// which spares tsx's compile a process; `run <file> --once` runs as in a clone of pandaflow
// (`pnpm pandaflow run …`: tsx). The built CLI loads a TypeScript module itself (tsx
// registered on demand): the module-without-a-pipeline case runs that way.
const tsx = "node_modules/.bin/tsx"
const node = process.execPath
// The embedded default: none of the service addresses the test run may have exported.
const embeddedEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !["PANDAFLOW_BROKERS", "PANDAFLOW_PG_URL", "PANDAFLOW_CASSANDRA_CONTACT_POINTS", "PANDAFLOW_API_URL"].includes(k))
)

/** Runs the CLI to its end, whatever its exit code. */
const exec = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, timeout: number, command = node) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resolve, reject) => {
    execFile(command, args, { env, timeout }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") reject(error)
      else resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr })
    })
  })

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0))
    })
  })

const waitForLine = (child: ChildProcess, pattern: RegExp, within: number) =>
  new Promise<string>((resolve, reject) => {
    let seen = ""
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${within} ms:\n${seen}`)), within)
    child.stdout!.on("data", (chunk: Buffer) => {
      seen += chunk.toString()
      const line = seen.split("\n").find((l) => pattern.test(l))
      if (line) {
        clearTimeout(timer)
        resolve(line)
      }
    })
  })

describe("pandaflow CLI (embedded default)", () => {
  it("--once: says it runs embedded, processes every record, exits 0", async () => {
    const { stdout } = await run(node, [cliScript, "--records", "2000", "--once"], { env: embeddedEnv, timeout: 120_000 })
    const lines = stdout.trim().split("\n")
    expect(lines[0]).toMatch(/^pandaflow: embedded mode — broker in-memory, postgres embedded \(PGlite\), cassandra off/)
    expect(lines.at(-1)).toMatch(/done in .* ingested 2000 · processed 2000 .* dlq 0 · postgres 2000$/)
  })

  it("run <file> --once: runs a pipeline module the same way, exits 0", async () => {
    const child = await exec(["bin/pandaflow.ts", "run", "examples/randomuser/pipeline.ts", "--records", "500", "--once"], embeddedEnv, 120_000, tsx)
    expect(child.code).toBe(0)
    const lines = child.stdout.trim().split("\n")
    expect(lines[0]).toMatch(/^pandaflow: embedded mode — broker in-memory, postgres embedded \(PGlite\), cassandra off/)
    expect(lines.at(-1)).toMatch(/done in .* ingested 500 · processed 500 .* dlq 0 · postgres 500$/)
  })

  it("run <file> on a module without a pipeline: one line naming the file, exit code 1, no stack trace", async () => {
    const file = "examples/randomuser/UserRow.ts"
    const child = await exec([cliScript, "run", file, "--once"], embeddedEnv, 60_000)
    expect(child.code).toBe(1)
    const lines = child.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^pandaflow run: examples\/randomuser\/UserRow\.ts exports no pipeline /)
    expect(child.stderr).not.toMatch(/^\s+at /m)
    expect(child.stdout).toBe("")
  })

  it("long-running: the scheduler runs user_automation; dags list, trigger and runs work; Ctrl-C exits cleanly", async () => {
    const port = await freePort()
    const env = { ...embeddedEnv, PANDAFLOW_CONTROL_PORT: String(port), PANDAFLOW_CONTROL_URL: `http://127.0.0.1:${port}` }
    const server = spawn(node, [cliScript, "--records", "300", "--progress-seconds", "60"], { env, stdio: ["ignore", "pipe", "pipe"] })
    try {
      await waitForLine(server, /control API http:\/\/127\.0\.0\.1:\d+/, 90_000)
      const dags = (...args: Array<string>) => run(node, [cliScript, "dags", ...args], { env, timeout: 60_000 })

      const list = (await dags("list")).stdout
      expect(list).toMatch(/user_automation\s+cron "0 0 \* \* \*" \(UTC\)\s+false\s+\d{4}-\d\d-\d\dT00:00:00Z\s+ingest/)

      expect((await dags("trigger", "user_automation")).stdout).toMatch(/^triggered user_automation: run \S+/)
      let runs = ""
      for (let i = 0; i < 60 && !/manual\s+success/.test(runs); i++) {
        await new Promise((r) => setTimeout(r, 500))
        runs = (await dags("runs", "--job", "user_automation")).stdout
      }
      expect(runs).toMatch(/user_automation\s+manual\s+success/)
      expect(runs.split("\n")[0]).toMatch(/^RUN ID\s+JOB\s+KIND\s+STATE\s+SLOT\s+STARTED\s+DURATION\s+LATENCY\s+ERROR$/)
      expect(runs).not.toMatch(/\d{5,} ms/)
      // The first start also ran the latest scheduled slot.
      expect(runs).toMatch(/user_automation\s+scheduled\s+success/)

      const unknown = await dags("trigger", "no_such_job").then(() => "succeeded", (e: { stderr: string }) => e.stderr)
      expect(unknown).toMatch(/NotFound/)
    } finally {
      let out = ""
      server.stdout!.on("data", (chunk: Buffer) => { out += chunk.toString() })
      const exited = new Promise<number | null>((resolve) => server.on("exit", (code) => resolve(code)))
      server.kill("SIGINT")
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("timeout"), 20_000))])
      expect(code).toBe(0)
      expect(out.trim().split("\n").at(-1)).toMatch(/^pandaflow: stopped — ingested [\d,]+ · processed and committed [\d,]+ \(\d+ batches\) · dlq \d+ · postgres [\d,]+; anything uncommitted is read again on the next start$/)
    }
  })
})

describe("pandaflow CLI: mistakes and help", () => {
  it("each bad option: one line naming it on stderr, exit code 2, no stack trace, nothing run", async () => {
    const cases: Array<[Array<string>, RegExp]> = [
      [["--records", "-5", "--once"], /^pandaflow: --records must be an integer ≥ 1, got -5$/],
      [["--records", "abc"], /^pandaflow: --records must be an integer ≥ 1, got 'abc'$/],
      [["--partitions", "0", "--once"], /^pandaflow: --partitions must be an integer from 1 to 1000, got 0$/],
      [["--page-size", "99999"], /^pandaflow: --page-size must be an integer from 1 to 5000, got 99999$/],
      [["--progress-seconds", "0"], /^pandaflow: --progress-seconds must be an integer ≥ 1, got 0$/],
      [["--control-port", "70000"], /^pandaflow: --control-port must be an integer from 1 to 65535, got 70000$/],
      [["--once", "--cron", "0 * * * *"], /^pandaflow: --cron does not apply with --once/],
      [["--recrods", "5"], /^pandaflow: unknown option --recrods; did you mean --records\?$/],
      [["dags", "runs", "--limt", "5"], /^pandaflow: unknown option --limt; did you mean --limit\?$/]
    ]
    for (const [args, expected] of cases) {
      const child = await exec([cliScript, ...args], embeddedEnv, 30_000)
      expect(child.code, args.join(" ")).toBe(2)
      const lines = child.stderr.trim().split("\n")
      expect(lines, args.join(" ")).toHaveLength(1)
      expect(lines[0]).toMatch(expected)
      expect(child.stdout).toBe("")
    }
    const badEnv = await exec([cliScript, "--once"], { ...embeddedEnv, PANDAFLOW_CONTROL_PORT: "abc" }, 30_000)
    expect(badEnv.code).toBe(2)
    expect(badEnv.stderr.trim()).toBe("pandaflow: PANDAFLOW_CONTROL_PORT=abc: must be an integer from 1 to 65535, e.g. PANDAFLOW_CONTROL_PORT=8787")
  })

  it("--help piped: defaults and environment variables, no colour codes; dags --help names pandaflow dags", async () => {
    const help = await exec([cliScript, "--help"], embeddedEnv, 30_000)
    expect(help.code).toBe(0)
    expect(help.stdout).not.toMatch(/\x1b\[/)
    expect(help.stdout).toContain("records to ingest a run, ≥ 1 (default: 1000)")
    expect(help.stdout).toContain("(default: 8787; env: PANDAFLOW_CONTROL_PORT)")
    expect(help.stdout).toContain("(default: UTC; env: PANDAFLOW_INGEST_ZONE)")
    const dags = await exec([cliScript, "dags", "--help"], embeddedEnv, 30_000)
    expect(dags.stdout).toMatch(/^\$ pandaflow dags$/m)
    expect(dags.stdout).not.toMatch(/\x1b\[/)
    for (const sub of ["list", "trigger", "pause", "unpause", "runs", "run", "backfill", "cancel"]) {
      expect(dags.stdout).toMatch(new RegExp(`^  - ${sub} .*\\S\\s{2,}[a-z]`, "m"))
    }
    const runs = await exec([cliScript, "dags", "runs", "--help"], embeddedEnv, 30_000)
    expect(runs.stdout).toMatch(/^\$ pandaflow dags runs \[--url text\]/m)
  })

  it("--quiet --once: the summary only; --log-format json: one JSON object a line", async () => {
    const quiet = await exec([cliScript, "--once", "--records", "200", "--quiet"], embeddedEnv, 120_000)
    expect(quiet.code).toBe(0)
    expect(quiet.stdout.trim().split("\n")).toEqual([expect.stringMatching(/^pandaflow: done in .* ingested 200 · processed 200 .* dlq 0 · postgres 200$/)])
    const json = await exec([cliScript, "--once", "--records", "200", "--log-format", "json"], embeddedEnv, 120_000)
    expect(json.code).toBe(0)
    const objects = json.stdout.trim().split("\n").map((l) => JSON.parse(l) as { level: string; message: string; processed?: number })
    expect(objects[0]!.message).toMatch(/^embedded mode/)
    expect(objects.at(-1)).toMatchObject({ level: "info", message: "done", processed: 200, ingest: { requested: 200, produced: 200 } })
  })
})
