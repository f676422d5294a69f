/**
 * pandaflow as a published package: scripts/test-package.sh builds dist/, packs the
 * tarball, installs it with its peer dependencies into a throwaway host project in /tmp,
 * compiles the host (test/package/host/, the README's "Embed it" program) with strict
 * flags and skipLibCheck off, runs it with plain node on the in-memory layers and on
 * embedded Postgres, and times the installed `pandaflow --help`.
 */
import { execFile } from "node:child_process"
import { describe, expect, it } from "vitest"

const timeout = 6 * 60_000

const runScript = () =>
  new Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resolve) => {
    execFile(
      "bash",
      ["scripts/test-package.sh"],
      { timeout, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, PANDAFLOW_KEEP_HOST: "" } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resolve({ code, stdout, stderr })
      }
    )
  })

describe("the npm package", () => {
  it("installs into a fresh host, compiles with its strict flags, runs with plain node", async () => {
    const { code, stdout, stderr } = await runScript()
    const lines = stdout.trimEnd().split("\n")
    const last = lines[lines.length - 1] ?? ""
    if (code !== 0) console.error(`${stdout.slice(-8000)}\n${stderr.slice(-8000)}`)
    expect(code, last).toBe(0)
    expect(last).toMatch(/^package test: ok \(tarball \d+ bytes, \d+ files; --help \d+ ms; \d+ s\)$/)
  }, timeout + 10_000)
})
