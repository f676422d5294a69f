/**
 * A host application embeds pandaflow: its own records, topic, filtering transform and
 * table, run first on the in-memory doubles, then on an embedded Postgres, then under the
 * test driver's TestClock. The README's "Embed it" example; scripts/test-package.sh
 * compiles it against the installed package and runs it with plain node.
 */
import { Effect, Layer, Schema, TestContext } from "effect"
import { Pipeline, Source, Topic } from "pandaflow"
import { EmbeddedPostgres, PostgresSink } from "pandaflow/layers"
import { MemoryBroker, MemorySink, TestDriver } from "pandaflow/testing"

// What thermometers publish, and the table rows the pipeline keeps.
const Reading = Schema.Struct({ sensor: Schema.String, at: Schema.String, celsius: Schema.Number })
type Reading = typeof Reading.Type
const ReadingRow = Schema.Struct({ id: Schema.String, sensor: Schema.String, at: Schema.String, fahrenheit: Schema.Number })
type ReadingRow = typeof ReadingRow.Type

const readings = Topic.make({ name: "readings.raw.v1", schema: Reading, key: (r) => r.sensor })
const table = PostgresSink.table({ name: "readings", schema: ReadingRow, key: "id" })

/** A reading below absolute zero is a broken sensor: it is dropped, the rest is converted. */
const toRow = (r: Reading): ReadonlyArray<ReadingRow> =>
  r.celsius < -273.15 ? [] : [{ id: `${r.sensor}@${r.at}`, sensor: r.sensor, at: r.at, fahrenheit: r.celsius * 1.8 + 32 }]

export const pipeline = Pipeline.make({
  name: "readings",
  input: readings,
  // Record i of a run: four sensors, one reading a minute, every tenth one broken.
  source: Source.generate("thermometers", (i) => ({
    sensor: `sensor-${i % 4}`,
    at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    celsius: i % 10 === 9 ? -999 : 18 + (i % 5)
  })),
  transform: toRow,
  sinks: [table]
})

/** Creates the topics, ingests 100 readings, consumes until the group committed them all. */
const ingestAndDrain = <E, R>(p: Pipeline.Pipeline<Reading, ReadingRow, never, never, never, E, R>) =>
  Effect.gen(function*() {
    yield* Pipeline.setup(p)
    yield* Pipeline.ingest(p, { records: 100, seed: "host" })
    yield* Pipeline.drain(p, { groupId: "host-app", pollEvery: "20 millis" })
  })

// 1. In memory: the same pipeline writing to a memory sink of the same table.
const inMemory = Effect.gen(function*() {
  const memory = yield* MemorySink.make(table.table)
  yield* ingestAndDrain(Pipeline.withSinks(pipeline, [MemorySink.definition(memory)]))
  return yield* memory.scan
}).pipe(Effect.provide(MemoryBroker.layer()))

// 2. On an embedded Postgres (PGlite over TCP), through the real Postgres sink.
const onPostgres = Effect.gen(function*() {
  yield* ingestAndDrain(pipeline)
  const readBack = yield* PostgresSink.make(table.table)
  return yield* readBack.scan
}).pipe(Effect.provide(Layer.merge(MemoryBroker.layer(), EmbeddedPostgres.layerWithClient())))

// 3. Under the test driver: table sinks become memory sinks, time is a TestClock.
const underTestDriver = Effect.gen(function*() {
  const driver = yield* TestDriver.make(pipeline)
  yield* driver.send([
    { sensor: "probe", at: "2026-01-02T00:00:00.000Z", celsius: 100 },
    { sensor: "probe", at: "2026-01-02T00:01:00.000Z", celsius: -300 }
  ])
  yield* driver.run
  return yield* driver.rows(table)
}).pipe(Effect.provide(TestContext.TestContext))

// What every run must store, computed without pandaflow.
const expected: ReadonlyArray<ReadingRow> = Array.from({ length: 100 }, (_, i) => i)
  .filter((i) => i % 10 !== 9)
  .map((i) => {
    const sensor = `sensor-${i % 4}`
    const at = new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString()
    return { id: `${sensor}@${at}`, sensor, at, fahrenheit: (18 + (i % 5)) * 1.8 + 32 }
  })
  .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))

const check = (label: string, rows: ReadonlyArray<ReadingRow>, want: ReadonlyArray<ReadingRow>): boolean => {
  const ok = JSON.stringify(rows) === JSON.stringify(want)
  console.log(`${label}: ${rows.length} rows${ok ? "" : ` — WRONG, expected ${want.length}: first got ${JSON.stringify(rows[0])}, want ${JSON.stringify(want[0])}`}`)
  return ok
}

const main = Effect.gen(function*() {
  const memoryRows = yield* inMemory
  const postgresRows = yield* onPostgres
  const driverRows = yield* underTestDriver
  const probe: ReadingRow = { id: "probe@2026-01-02T00:00:00.000Z", sensor: "probe", at: "2026-01-02T00:00:00.000Z", fahrenheit: 212 }
  return [
    check("in memory", memoryRows, expected),
    check("embedded Postgres", postgresRows, expected),
    check("test driver", driverRows, [probe])
  ].every(Boolean)
})

const ok = await Effect.runPromise(main).catch((e: unknown) => {
  console.error("host: the pipeline failed:", e)
  return false
})
if (!ok) {
  console.error("host: wrong rows")
  process.exit(1)
}
console.log("host: ok")
