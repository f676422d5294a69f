/**
 * The headline figure (soak, `pnpm test:soak`, not CI): 100,000 users plus 50 injected bad
 * records through the consume job while its worker is SIGKILLed at 20 points chosen from
 * record counts by a seed (test/support/killPoints.ts: every phase of a batch — fetched,
 * written to one sink, dead letters sent, committed). Then 0 rows lost and 0 duplicated in
 * both sinks (row count and digest of every column against the generated rows), and the
 * dead letters exactly the injected records.
 */
import { afterAll, beforeAll, it } from "vitest"
import { disposeScenario, makeScenario, type Scenario } from "../reliability/harness.js"
import { runCrash } from "../support/crashRun.js"

let scenario: Scenario

beforeAll(async () => {
  scenario = await makeScenario("soak_crash")
})

afterAll(async () => {
  if (scenario) await disposeScenario(scenario)
})

it("100,000 records, 20 SIGKILLs at seeded record counts: 0 lost, 0 duplicated, dead letters exact", () =>
  runCrash(scenario, {
    total: 100_000,
    badEvery: 2_000,
    kills: 20,
    seed: 100_000,
    range: { min: 500, max: 7_000 },
    // Dead letters and their batch's offsets commit in one Kafka transaction: raw exact too.
    exactlyOnceDeadLetters: true
  }), 900_000)
