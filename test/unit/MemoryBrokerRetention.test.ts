/**
 * MemoryBroker's retention of committed records (the embedded mode's broker): what a
 * partition drops, that offsets stay absolute, where a late group starts, and the
 * produce bound that keeps a fast source from outrunning the consumer in memory.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Option, type Scope, Stream } from "effect"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import { UserRow } from "../../examples/randomuser/UserRow.js"
import * as MemoryBroker from "../../layers/MemoryBroker.js"
import * as MemorySink from "../../layers/MemorySink.js"
import * as MemoryUserSource from "../../layers/MemoryUserSource.js"
import { UserSource } from "../../layers/UserSource.js"
import { Broker, type Batch, lag } from "../../src/Broker.js"
import * as Run from "../../src/cli/Run.js"
import * as Pipeline from "../../src/Pipeline.js"
import type * as RowSink from "../../src/RowSink.js"
import * as TableSchema from "../../src/TableSchema.js"

const records = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ key: "k", value: String(from + i) }))

/** Offsets (as numbers) and values of a batch. */
const seen = (batch: Batch) => batch.records.map((r) => [Number(r.offset), r.value])

/** Low and high offset of partition 0. */
const bounds = (topic: string) =>
  Effect.flatMap(Broker, (b) => Effect.map(b.describeTopic(topic), ([p]) => [Number(p!.low), Number(p!.high)]))

/** A consumer of `topic` in `groupId` whose batches the test pulls one at a time. */
const consumer = (topic: string, groupId: string) =>
  Effect.flatMap(Broker, (b) => Effect.map(Stream.toPull(b.consume({ topic, groupId })), (pull) =>
    Effect.map(Effect.orDie(pull), (chunk) => {
      expect(Chunk.size(chunk)).toBe(1)
      return Chunk.unsafeHead(chunk)
    })))

const withBroker = (options: MemoryBroker.MemoryBrokerOptions) => <A, E>(effect: Effect.Effect<A, E, Broker | Scope.Scope>) =>
  Effect.scoped(Effect.provide(effect, MemoryBroker.layer({ maxBatchSize: 4, ...options })))

describe("MemoryBroker retention", () => {
  it.effect("keeps every record by default", () =>
    withBroker({})(Effect.gen(function*() {
      const broker = yield* Broker
      yield* broker.createTopic({ name: "t", partitions: 1 })
      yield* broker.produce("t", records(10))
      const next = yield* consumer("t", "a")
      yield* Effect.flatMap(next, (b) => b.commit)
      expect(yield* bounds("t")).toEqual([0, 10])
    })))

  it.effect("drops what the group committed; offsets stay absolute", () =>
    withBroker({ retention: "committed" })(Effect.gen(function*() {
      const broker = yield* Broker
      yield* broker.createTopic({ name: "t", partitions: 1 })
      yield* broker.produce("t", records(10))
      const next = yield* consumer("t", "a")
      const first = yield* next
      expect(seen(first)).toEqual([[0, "0"], [1, "1"], [2, "2"], [3, "3"]])
      expect(yield* bounds("t")).toEqual([0, 10]) // handed out, not committed: kept
      yield* first.commit
      expect(yield* bounds("t")).toEqual([4, 10])
      yield* broker.produce("t", records(2, 10))
      expect(yield* bounds("t")).toEqual([4, 12])
      const second = yield* next
      expect(seen(second)).toEqual([[4, "4"], [5, "5"], [6, "6"], [7, "7"]])
      yield* second.commit
      const third = yield* next
      expect(seen(third)).toEqual([[8, "8"], [9, "9"], [10, "10"], [11, "11"]])
      yield* third.commit
      expect(yield* bounds("t")).toEqual([12, 12])
      expect(yield* broker.committed("t", "a")).toEqual(new Map([[0, "12"]]))
      expect(yield* lag("t", "a")).toBe(0)
    })))

  it.effect("keeps what any subscribed group has not committed", () =>
    withBroker({ retention: "committed" })(Effect.gen(function*() {
      const broker = yield* Broker
      yield* broker.createTopic({ name: "t", partitions: 1 })
      yield* broker.produce("t", records(8))
      const a = yield* consumer("t", "a")
      const b = yield* consumer("t", "b")
      const fromB = yield* b // b subscribes (a stream's consumer joins on its first pull)
      expect(seen(fromB).map(([o]) => o)).toEqual([0, 1, 2, 3])
      yield* Effect.flatMap(a, (batch) => batch.commit)
      yield* Effect.flatMap(a, (batch) => batch.commit)
      expect(yield* bounds("t")).toEqual([0, 8]) // b has committed nothing
      yield* fromB.commit
      expect(yield* bounds("t")).toEqual([4, 8]) // min(a at 8, b at 4)
    })))

  it.effect("a group that comes after the drop starts at the low offset", () =>
    withBroker({ retention: "committed" })(Effect.gen(function*() {
      const broker = yield* Broker
      yield* broker.createTopic({ name: "t", partitions: 1 })
      yield* broker.produce("t", records(6))
      const a = yield* consumer("t", "a")
      yield* Effect.flatMap(a, (batch) => batch.commit)
      expect(yield* lag("t", "late")).toBe(2) // counted from the low offset, not from 0
      const late = yield* consumer("t", "late")
      const batch = yield* late
      expect(seen(batch)).toEqual([[4, "4"], [5, "5"]])
      yield* broker.produce("t", records(1, 6))
      yield* batch.commit
      // a is at 4 and holds the rest until it commits further.
      expect(yield* bounds("t")).toEqual([4, 7])
    })))

  it.effect("with maxRetainedRecords a produce waits until a commit frees room; other topics never wait", () =>
    withBroker({ retention: "committed", maxRetainedRecords: 4 })(Effect.gen(function*() {
      const broker = yield* Broker
      yield* broker.createTopic({ name: "t", partitions: 1 })
      yield* broker.createTopic({ name: "dead", partitions: 1 })
      yield* broker.produce("t", records(6)) // nobody consumes yet: no bound
      const next = yield* consumer("t", "a")
      const first = yield* next
      const waiting = yield* Effect.fork(broker.produce("t", records(3, 6)))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
      expect(yield* bounds("t")).toEqual([0, 6])
      yield* broker.produce("dead", records(10)) // no subscriber: never bounded
      yield* first.commit // 2 left, below the bound: the produce goes through
      yield* Fiber.join(waiting)
      expect(yield* bounds("t")).toEqual([4, 9])
      // A batch's commitWith appends to a full topic without waiting (it is what frees room).
      const second = yield* next // 4..7; 5 retained: full
      yield* second.commitWith("t", records(2, 9))
      expect(yield* bounds("t")).toEqual([8, 11])
    })))

  it.effect("refuses a bound that is not a positive integer", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(MemoryBroker.make({ retention: "committed", maxRetainedRecords: 0 }))
      expect(exit._tag).toBe("Failure")
    }))
})

describe("--once on the bounded embedded broker", () => {
  it.live("consumes while it ingests: the topic never runs far ahead of the sink, and ends empty", () =>
    Effect.gen(function*() {
      const sink = yield* MemorySink.make(TableSchema.make({ name: "users", schema: UserRow, key: "id" }), "memory")
      // At each write: how far the topic's end ran ahead of the rows written so far.
      let written = 0
      let maxLead = 0
      const watched: RowSink.Definition<UserRow, never, Broker> = {
        name: "memory",
        table: sink.table,
        build: Effect.map(Broker, (broker) => ({
          ...sink,
          write: (rows: ReadonlyArray<UserRow>) =>
            Effect.flatMap(Effect.orDie(broker.describeTopic("users.raw.v1")), (partitions) => {
              const produced = partitions.reduce((n, p) => n + Number(p.high), 0)
              maxLead = Math.max(maxLead, produced - written)
              written += rows.length
              return sink.write(rows)
            })
        }))
      }
      const pipeline = Pipeline.withSinks(RandomUserPipeline.make(), [watched]) as unknown as Pipeline.Any
      const module = { file: "test", pipeline, jobs: undefined, pools: undefined, layer: undefined }
      // Pages take a little time, as over HTTP, so the consumer has joined before most of
      // the ingest (before a group consumes the topic, a produce never waits).
      const slowPages = Layer.succeed(UserSource, {
        fetchPage: (request) => Effect.zipLeft(MemoryUserSource.make.fetchPage(request), Effect.sleep("20 millis"))
      })
      const layer = Layer.mergeAll(
        MemoryBroker.layer({ retention: "committed", maxRetainedRecords: 500, maxBatchSize: 100 }),
        slowPages
      )
      yield* Effect.gen(function*() {
        yield* Run.once(module as Parameters<typeof Run.once>[0], {
          records: 10_000,
          seed: "once",
          pageSize: 1000,
          partitions: 3,
          groupId: "process",
          progressSeconds: 60,
          quiet: true
        })
        // Ingest first, consume after (the old --once) has the whole 10,000 ahead; here at
        // most the bound, one produce of 1,000 past it and the batches in flight.
        expect(maxLead).toBeLessThanOrEqual(2500)
        expect(written).toBe(10_000)
        expect(yield* sink.scan).toHaveLength(10_000)
        const partitions = yield* Effect.flatMap(Broker, (b) => b.describeTopic("users.raw.v1"))
        expect(partitions.map((p) => p.low)).toEqual(partitions.map((p) => p.high)) // all dropped
        expect(partitions.reduce((n, p) => n + Number(p.high), 0)).toBe(10_000)
      }).pipe(Effect.provide(layer)) as Effect.Effect<void, unknown> // a loaded module's services are unknown to the compiler
    }), 60_000)
})
