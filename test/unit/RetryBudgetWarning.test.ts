/**
 * The consume job's check of its retry budget against the broker's batch deadline (the
 * part of the rebalance timeout a batch may take): a budget that is not shorter is capped
 * to the deadline, and the job says so once, at its first batch. Under TestClock no time
 * passes between a batch's hand-out and the check, so the boundary is exact.
 */
import { expect, it } from "@effect/vitest"
import { Clock, type Duration, Effect, Layer, Logger, Stream } from "effect"
import { Broker, type BrokerService } from "../../src/Broker.js"
import * as Delivery from "../../src/Delivery.js"
import * as Pipeline from "../../src/Pipeline.js"
import { drive, onDoubles, raw, userRecord } from "../reliability/twins.js"

/**
 * Drains 30 records (several batches on 3 partitions) with `retryBudget`, each batch
 * given a deadline `deadlineMs` after hand-out as KafkaBroker does (none: the memory
 * broker's batches as they are). Returns the warnings logged and the rows stored.
 */
const drainWith = (retryBudget: Duration.DurationInput, deadlineMs: number | undefined) =>
  Effect.gen(function*() {
    const h = yield* onDoubles({ partitions: 3, maxBatchSize: 4 })
    const broker: BrokerService = deadlineMs === undefined ? h.broker : {
      ...h.broker,
      consume: (o) => Stream.mapEffect(h.broker.consume(o), (b) => Effect.map(Clock.currentTimeMillis, (now) => ({ ...b, deadline: now + deadlineMs })))
    }
    const warnings: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    yield* Effect.gen(function*() {
      yield* h.broker.produce(raw, Array.from({ length: 30 }, (_, n) => userRecord("budget-warning", n)))
      const errorPolicy: Delivery.ErrorPolicy = { ...Delivery.defaultErrorPolicy, retryBudget }
      const fiber = yield* Effect.fork(Pipeline.drain(h.pipeline, { groupId: "process", errorPolicy }))
      yield* drive(fiber)
    }).pipe(Effect.provide(Layer.merge(Layer.succeed(Broker, broker), Logger.replace(Logger.defaultLogger, logger))))
    const batches = (yield* Effect.map(h.trace.batchesByConsumer.get, (a) => a.reduce((n, k) => n + k, 0)))
    return { warnings, rows: (yield* h.memory.scan).length, batches }
  })

it.effect("a budget longer than the batch deadline: one warning, at the first batch, saying the budget is capped", () =>
  Effect.gen(function*() {
    const { batches, rows, warnings } = yield* drainWith("1 minute", 30_000)
    expect(batches).toBeGreaterThan(1)
    expect(rows).toBe(30)
    expect(warnings).toEqual([
      "randomuser: errorPolicy.retryBudget (1m) is not shorter than the time the broker gives a batch before a rebalance " +
      "may hand its partition to another member (30s, part of its rebalance timeout): each batch's retries are capped to " +
      "the batch deadline; set a shorter retryBudget or a longer rebalance timeout"
    ])
  }))

it.effect("a budget equal to the time a batch gets is not shorter: it warns", () =>
  Effect.gen(function*() {
    const { warnings } = yield* drainWith("30 seconds", 30_000)
    expect(warnings.length).toBe(1)
    expect(warnings[0]).toContain("retryBudget (30s) is not shorter")
  }))

it.effect("a budget shorter than the batch deadline: no warning", () =>
  Effect.gen(function*() {
    const { rows, warnings } = yield* drainWith("29999 millis", 30_000)
    expect(rows).toBe(30)
    expect(warnings).toEqual([])
  }))

it.effect("a broker that sets no batch deadline (the memory broker): no warning, whatever the budget", () =>
  Effect.gen(function*() {
    const { rows, warnings } = yield* drainWith("10 hours", undefined)
    expect(rows).toBe(30)
    expect(warnings).toEqual([])
  }))
