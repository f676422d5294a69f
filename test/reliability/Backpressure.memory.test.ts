/**
 * Backpressure (issue 4, item 3) on the doubles under TestClock: a sink that takes 100 ms
 * of virtual time a write, a producer that pushes 20,000 records at once, and a count of
 * the records the pipeline holds (handed out by the broker, not yet committed) sampled
 * every 100 ms. On the double that count is the memory the pipeline retains outside the
 * broker's log, so "memory stays flat" is asserted on it rather than on the heap.
 */
import { expect, it } from "@effect/vitest"
import { Array as Arr, Clock, Effect, Fiber, Ref, TestClock } from "effect"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import type { UserRow } from "../../examples/randomuser/UserRow.js"
import * as TestDriver from "../../layers/TestDriver.js"
import { Broker, lag, type ProducerRecord } from "../../src/Broker.js"
import * as Pipeline from "../../src/Pipeline.js"
import type * as RowSink from "../../src/RowSink.js"
import { expectedRows } from "../support/expected.js"
import { onDoubles, raw, userRecord } from "./twins.js"

const total = 20_000
const partitions = 8
const maxBatchSize = 50
const writeMillis = 100

// Made once for the file: generating and checking 20,000 users costs seconds a time.
let records: ReadonlyArray<ProducerRecord> | undefined
const allRecords = () => (records ??= Array.from({ length: total }, (_, n) => userRecord("backpressure", n)))
let expected: ReadonlyArray<UserRow> | undefined
const allExpected = () => (expected ??= expectedRows("backpressure", total))

/**
 * Upserts into a plain Map. MemorySink copies its whole store on every write, which
 * makes 400 writes of a 20,000-row table cost seconds; this test only needs the rows.
 */
const mapSink = (): RowSink.ReadableSink<UserRow> & { readonly rows: Map<string, UserRow> } => {
  const rows = new Map<string, UserRow>()
  return {
    name: "slow",
    key: (row) => row.id,
    rows,
    write: (batch) => Effect.sync(() => batch.forEach((r) => rows.set(r.id, r))),
    scan: Effect.sync(() => [...rows.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))
  }
}

interface Sample {
  readonly at: number
  readonly inFlight: number
  readonly lag: number
}

/** Produces 20,000 users while `consume` runs against a slow sink; samples until all is committed. */
const run = (options: Partial<Pipeline.ConsumeOptions>) =>
  Effect.gen(function*() {
    const memory = mapSink()
    const { broker, controls, layer, pipeline, trace } = yield* onDoubles({ partitions, maxBatchSize, inner: () => memory })
    yield* Ref.set(controls.delay, writeMillis)
    return yield* Effect.gen(function*() {
      const processing = yield* Effect.fork(Pipeline.consume(pipeline, { groupId: "process", concurrency: partitions, ...options }))
      // A producer that does not wait for the consumer: 20 requests of 1,000 records.
      const ingesting = yield* Effect.fork(Effect.forEach(Arr.chunksOf(allRecords(), 1000), (chunk) =>
        Effect.as(broker.produce(raw, chunk), chunk.length)).pipe(
          Effect.map((ns) => ns.reduce((a, b) => a + b, 0))
        ))
      const samples: Array<Sample> = []
      for (let step = 0; step < 10_000; step++) {
        const sample = {
          at: yield* Clock.currentTimeMillis,
          inFlight: yield* Ref.get(trace.inFlight),
          lag: yield* lag(raw, "process")
        }
        samples.push(sample)
        if (sample.lag === 0 && (yield* Fiber.poll(ingesting))._tag === "Some") break
        yield* TestClock.adjust(writeMillis)
      }
      expect(yield* Fiber.join(ingesting)).toBe(total)
      yield* Fiber.interrupt(processing)
      expect(yield* memory.scan).toEqual(allExpected())
      return {
        samples,
        maxInFlight: yield* Ref.get(trace.maxInFlight),
        maxInSink: yield* Ref.get(controls.maxActive)
      }
    }).pipe(Effect.provide(layer))
  })

/** The producer got far ahead: the log held most of the 20,000 records uncommitted. */
const expectFarBehind = (samples: ReadonlyArray<Sample>) => {
  expect(Math.max(...samples.map((s) => s.lag))).toBeGreaterThan(total * 0.9)
  // Flat: the same bound holds while the backlog is large and while it drains.
  const busy = samples.filter((s) => s.lag > total / 2)
  const draining = samples.filter((s) => s.lag > 0 && s.lag <= total / 2)
  expect(busy.length).toBeGreaterThan(5)
  expect(draining.length).toBeGreaterThan(5)
  return { busy: Math.max(...busy.map((s) => s.inFlight)), draining: Math.max(...draining.map((s) => s.inFlight)) }
}

it.effect("without an explicit bound, in-flight records stay within partitions × batch size", () =>
  Effect.gen(function*() {
    const { maxInFlight, maxInSink, samples } = yield* run({})
    const bound = partitions * maxBatchSize
    const { busy, draining } = expectFarBehind(samples)
    expect(maxInFlight).toBeLessThanOrEqual(bound)
    expect(busy).toBeLessThanOrEqual(bound)
    expect(draining).toBeLessThanOrEqual(bound)
    // The bound is what limits it: every partition had a batch in the sink at once.
    expect(maxInSink).toBe(bound)
  }), 60_000)

it.effect("maxInFlightRecords bounds the records being processed; a slow sink slows consumption", () =>
  Effect.gen(function*() {
    const limit = 150
    const { maxInFlight, maxInSink, samples } = yield* run({ maxInFlightRecords: limit })
    const { busy, draining } = expectFarBehind(samples)
    // Admitted records (inside the sink here) never exceed the bound, and reach it.
    expect(maxInSink).toBe(limit)
    // Handed out by the broker: the admitted ones plus at most one batch waiting for room.
    expect(maxInFlight).toBeLessThanOrEqual(limit + maxBatchSize)
    expect(busy).toBeLessThanOrEqual(limit + maxBatchSize)
    expect(draining).toBeLessThanOrEqual(limit + maxBatchSize)
    // Throughput is the sink's: at most `limit` records a write time.
    const elapsed = samples[samples.length - 1]!.at
    expect(elapsed).toBeGreaterThanOrEqual((total / limit) * writeMillis)
  }), 60_000)

it.effect("maxInFlightRecords smaller than a batch admits one batch at a time instead of deadlocking", () =>
  Effect.gen(function*() {
    const { maxInFlight, maxInSink } = yield* run({ maxInFlightRecords: 10 })
    expect(maxInSink).toBe(maxBatchSize)
    expect(maxInFlight).toBeLessThanOrEqual(2 * maxBatchSize)
  }), 60_000)

it.effect("maxInFlightRecords must be a positive integer", () =>
  Effect.gen(function*() {
    const driver = yield* TestDriver.make(RandomUserPipeline.make())
    const pipeline = Pipeline.withSinks(driver.pipeline, [])
    const exit = yield* Effect.exit(
      Effect.provideService(Pipeline.consume(pipeline, { groupId: "g", maxInFlightRecords: 0 }), Broker, driver.broker)
    )
    expect(exit._tag).toBe("Failure")
    expect(String(exit)).toMatch(/maxInFlightRecords must be a positive integer, got 0/)
  }))
