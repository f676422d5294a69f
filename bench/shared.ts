/** What the benchmark's parent and its child runs share. */
import * as FakeUsers from "../layers/FakeUsers.js"

/** The figures one child run reports on stdout, as its last line. */
export interface RunFigures {
  readonly name: string
  readonly records: number
  readonly seconds: number
  readonly recordsPerSecond: number
  /** Peak resident set size of the child process, in MiB. */
  readonly peakRssMiB: number
}

/** Prints a child's figures as JSON on the last stdout line. */
export const report = (name: string, records: number, startedAt: bigint): void => {
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9
  const figures: RunFigures = {
    name,
    records,
    seconds,
    recordsPerSecond: records / seconds,
    peakRssMiB: process.resourceUsage().maxRSS / 1024
  }
  process.stdout.write(`${JSON.stringify(figures)}\n`)
}

/** The benchmark input: users of one seed, as the ingest job would produce them. */
export const usersPage = (page: number, size: number) => FakeUsers.generatePage({ seed: "bench", page, results: size })
