/**
 * Crash: 30,000 users plus 30 injected bad records flow through the consume job while its
 * worker process is SIGKILLed at 10 points chosen from record counts by a seed (each life
 * kills itself the moment its count of fetched records, rows written to one sink, dead
 * letters sent or records committed reaches its point), so a failing run replays from its
 * seed. After a final clean run both tables hold exactly the expected 30,000 rows, and the
 * dead-letter topic exactly the injected records. The 100,000-record, 20-kill run is the
 * soak (test/soak/Crash.soak.test.ts).
 */
import { afterAll, beforeAll, it } from "vitest"
import { runCrash } from "../support/crashRun.js"
import { disposeScenario, makeScenario, type Scenario } from "./harness.js"

let scenario: Scenario

beforeAll(async () => {
  scenario = await makeScenario("crash")
})

afterAll(async () => {
  if (scenario) await disposeScenario(scenario)
})

it("SIGKILL at 10 seeded record counts loses nothing, duplicates no row, dead-letters exactly the bad records", () =>
  runCrash(scenario, {
    total: 30_000,
    badEvery: 1_000,
    kills: 10,
    // The kill schedule: change the seed to explore other crash points. Ten lives of at
    // most 2,500 records of their own work each cannot drain the 30,000 before the last kill.
    seed: 202_404,
    range: { min: 300, max: 2_500 },
    // Dead letters and their offsets commit in one transaction: two kill points fall on
    // dead-letter sends, and the raw count must still equal the injected records.
    exactlyOnceDeadLetters: true
  }), 300_000)
