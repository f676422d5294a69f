/**
 * The ingest job on the doubles: every record a source emits is accounted for — written,
 * skipped as a duplicate of a key this run already wrote, or dead-lettered with its origin
 * when the source could not use it — and the valid records beside a bad one still land.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Layer, Schema, Stream } from "effect"
import * as MemorySink from "../../layers/MemorySink.js"
import { TestDriver } from "../../layers/testing.js"
import { Broker } from "../../src/Broker.js"
import * as Pipeline from "../../src/Pipeline.js"
import * as Progress from "../../src/Progress.js"
import * as Source from "../../src/Source.js"
import * as Topic from "../../src/Topic.js"

const Note = Schema.Struct({ id: Schema.String, text: Schema.String })
const notes = Topic.make({ name: "notes.raw.v1", schema: Note, key: (n) => n.id, partitions: 1 })
const page = Source.make("pages", () =>
  Stream.make(
    { id: "a", text: "one" },
    new Source.Rejected({ reason: "login.uuid is missing", value: { name: "x" }, origin: { url: "http://api/?page=1", page: "1", index: "1" } }),
    { id: "a", text: "one" }, // the API repeated a record
    { id: "b", text: "two" }
  ))
const pipeline = Pipeline.make({
  name: "notes",
  input: notes,
  source: page,
  transform: (n) => [n],
  sinks: [MemorySink.table({ name: "notes", schema: Note, key: "id", sinkName: "notes" })]
})

it.effect("a bad record is dead-lettered with its origin, a repeated one skipped, the rest land; the summary adds up", () =>
  Effect.gen(function*() {
    const driver = yield* TestDriver.make(pipeline)
    const progress = yield* Progress.make
    const summary = yield* Effect.provide(
      Pipeline.ingest(driver.pipeline, { records: 4, seed: "s" }, progress),
      Layer.succeed(Broker, driver.broker)
    )
    expect(summary).toEqual({ requested: 4, received: 4, produced: 2, duplicates: 1, rejected: 1 })
    expect(yield* progress.snapshot).toMatchObject({ received: 4, ingested: 2, duplicates: 1, rejected: 1 })
    expect(Progress.format(yield* progress.snapshot)).toMatch(/^ingested 2 · duplicates 1 · rejected at source 1 · /)
    yield* driver.run
    expect(yield* driver.rows("notes")).toEqual([{ id: "a", text: "one" }, { id: "b", text: "two" }])
    const letters = yield* driver.deadLetters
    expect(letters).toEqual([{
      error: "login.uuid is missing",
      stage: "source",
      source: { topic: "notes.raw.v1", partition: -1, offset: "-1" },
      origin: { url: "http://api/?page=1", page: "1", index: "1" },
      attempt: 1,
      value: "{\"name\":\"x\"}"
    }])
  }))

it.effect("records sharing a key (the partition key, not an identity) are all written; only identical ones are duplicates", () =>
  Effect.gen(function*() {
    const Reading = Schema.Struct({ sensor: Schema.String, at: Schema.Number })
    const readings = Topic.make({ name: "readings.raw.v1", schema: Reading, key: (r) => r.sensor, partitions: 1 })
    const source = Source.make("sensors", () =>
      Stream.make({ sensor: "s1", at: 1 }, { sensor: "s1", at: 2 }, { sensor: "s1", at: 2 }, { sensor: "s2", at: 1 }))
    const sink = MemorySink.table({ name: "readings", schema: Reading, key: ["sensor", "at"], sinkName: "readings" })
    const driver = yield* TestDriver.make(
      Pipeline.make({ name: "readings", input: readings, source, transform: (r) => [r], sinks: [sink] })
    )
    const summary = yield* Effect.provide(Pipeline.ingest(driver.pipeline, { records: 4, seed: "s" }), Layer.succeed(Broker, driver.broker))
    expect(summary).toEqual({ requested: 4, received: 4, produced: 3, duplicates: 1, rejected: 0 })
    yield* driver.run
    expect(yield* driver.rows(sink)).toEqual([{ sensor: "s1", at: 1 }, { sensor: "s1", at: 2 }, { sensor: "s2", at: 1 }])
  }))
