/**
 * The reference pipeline end to end on the doubles: generator → MemoryBroker →
 * decode/derive → MemorySink, under TestClock. Fully deterministic: no network, no real
 * time; the expected rows come from the same generator the emulator serves.
 */
import { expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import { UserRow } from "../../examples/randomuser/UserRow.js"
import * as FakeUsers from "../../layers/FakeUsers.js"
import * as MemoryBroker from "../../layers/MemoryBroker.js"
import * as MemorySink from "../../layers/MemorySink.js"
import * as MemoryUserSource from "../../layers/MemoryUserSource.js"
import { Broker, lag } from "../../src/Broker.js"
import * as DeadLetter from "../../src/DeadLetter.js"
import * as Pipeline from "../../src/Pipeline.js"
import * as Progress from "../../src/Progress.js"
import * as TableSchema from "../../src/TableSchema.js"
import { expectedRows } from "../support/expected.js"

const setup = Effect.gen(function*() {
  const sink = yield* MemorySink.make(TableSchema.make({ name: "users", schema: UserRow, key: "id" }), "memory")
  const pipeline = Pipeline.withSinks(RandomUserPipeline.make(), [MemorySink.definition(sink)])
  const layer = Layer.mergeAll(MemoryBroker.layer({ maxBatchSize: 250 }), MemoryUserSource.layer)
  return { sink, pipeline, layer }
})

it.effect("moves 3,000 users into the sink exactly once, and a replay adds nothing", () =>
  Effect.gen(function*() {
    const { layer, pipeline, sink } = yield* setup
    yield* Effect.gen(function*() {
      yield* Pipeline.setup(pipeline, { partitions: 3 })
      const progress = yield* Progress.make
      expect(yield* Pipeline.ingest(pipeline, { records: 3000, seed: "e2e", pageSize: 1000 }, progress)).toEqual({
        requested: 3000,
        received: 3000,
        produced: 3000,
        duplicates: 0,
        rejected: 0
      })
      const fiber = yield* Effect.fork(Pipeline.drain(pipeline, { groupId: "process" }, progress))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      const stored = yield* sink.scan
      expect(stored).toEqual(expectedRows("e2e", 3000))
      const snapshot = yield* progress.snapshot
      expect(snapshot).toMatchObject({ ingested: 3000, processed: 3000, deadLettered: 0, written: { memory: 3000 } })

      // The same seed again: 3,000 more records on the topic, no new row.
      yield* Pipeline.ingest(pipeline, { records: 3000, seed: "e2e", pageSize: 1000 })
      const again = yield* Effect.fork(Pipeline.drain(pipeline, { groupId: "process" }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(again)
      expect(yield* sink.scan).toHaveLength(3000)
      expect(yield* lag("users.raw.v1", "process")).toBe(0)
    }).pipe(Effect.provide(layer))
  }))

it.effect("sends a malformed record to the dead-letter topic with its reason and keeps going", () =>
  Effect.gen(function*() {
    const { layer, pipeline, sink } = yield* setup
    yield* Effect.gen(function*() {
      const broker = yield* Broker
      yield* Pipeline.setup(pipeline, { partitions: 3 })
      yield* Pipeline.ingest(pipeline, { records: 100, seed: "dlq" })
      const good = FakeUsers.generateUser({ seed: "dlq", n: 0 })
      yield* broker.produce(RandomUserPipeline.users.name, [
        { key: "bad-json", value: "{not json" },
        { key: "bad-shape", value: JSON.stringify({ ...good, login: { ...good.login, uuid: "not-a-uuid" } }) }
      ])
      const fiber = yield* Effect.fork(Pipeline.drain(pipeline, { groupId: "process" }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect(yield* sink.scan).toEqual(expectedRows("dlq", 100))
      const dead = yield* broker.consume({ topic: RandomUserPipeline.users.deadLetter, groupId: "inspect" }).pipe(
        Stream.mapConcat((b) => b.records),
        Stream.take(2),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      const reasons = dead.map((r) => DeadLetter.parse(r.value))
      const reasonOf = (key: string) => reasons[dead.findIndex((r) => r.key === key)]
      expect(dead.map((r) => r.key).sort()).toEqual(["bad-json", "bad-shape"])
      expect(reasons.every((r) => r?.source.topic === "users.raw.v1")).toBe(true)
      expect(reasonOf("bad-json")?.error).toMatch(/invalid JSON/)
      expect(reasonOf("bad-shape")?.error).toMatch(/uuid|UUID/)
      // Both were refused by the topic's schema, before any transform ran.
      expect(reasons.map((r) => r?.stage)).toEqual(["decode", "decode"])
      expect(reasonOf("bad-json")?.value).toBe("{not json")
    }).pipe(Effect.provide(layer))
  }))
