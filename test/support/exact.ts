/**
 * The end-of-run checks the reliability tests share: the sinks hold exactly the expected
 * rows, and the dead-letter topic exactly the injected records.
 */
import { expect } from "vitest"
import type { ClassicRow } from "../../examples/randomuser/UserRow.js"
import { coordinate, digest, type Injected, readDeadLetters, readSinks, type Scenario } from "../reliability/harness.js"

/**
 * Every sink of the scenario holds exactly `expected`: its row count, and a digest of every
 * column against the independently generated rows (equal digests = the same rows: none
 * lost, none extra, none stale). Returns what was read, for the summary.
 */
export const expectSinksExact = async (scenario: Scenario, expected: ReadonlyArray<ClassicRow>, what = "the expected rows") => {
  const sinks = await readSinks(scenario)
  for (const sink of sinks) {
    expect(sink.count, `${sink.name} rows`).toBe(expected.length)
    expect(sink.digest, `${sink.name} rows differ from ${what}`).toBe(digest(expected, sink.columns))
  }
  return sinks
}

/**
 * The dead-letter topic holds exactly the injected records, by source coordinate; with
 * `exactlyOnce` (dead letters commit with their offsets in one transaction) its raw count
 * equals them too, so none was sent twice. Returns what was read, for the summary.
 */
export const expectDeadLettersExact = async (scenario: Scenario, injected: ReadonlyArray<Injected>, exactlyOnce: boolean) => {
  const dead = await readDeadLetters(scenario)
  const distinct = new Set(dead.sources.map(coordinate))
  expect([...distinct].sort()).toEqual(injected.map(coordinate).sort())
  if (exactlyOnce) expect(dead.raw, "dead letters written more than once").toBe(injected.length)
  return { dead, distinct }
}
