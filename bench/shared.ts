/** What the benchmark's parent and its child runs share. */
import { UserRow } from "../examples/randomuser/UserRow.js"
import * as FakeUsers from "../layers/FakeUsers.js"
import * as TableSchema from "../src/TableSchema.js"

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

/** The table both runs write: the reference pipeline's Postgres table, under the run's name. */
export const userTable = (name: string): TableSchema.TableSchema<UserRow> => TableSchema.make({ name, schema: UserRow, key: "id" })

/**
 * `UserRow`'s fields in schema order: the order of the table's columns, so of the `unnest`
 * array parameters of `PostgresSink.upsertStatement`.
 */
export const userColumns: ReadonlyArray<keyof UserRow> = Object.keys(UserRow.fields) as Array<keyof UserRow>
