/**
 * One retry budget per batch (issue 10, item 2), on the doubles under TestClock: every
 * write of a batch — bisection sub-writes included — stops retrying at one deadline, and
 * the broker's `Batch.deadline` (before a rebalance may cut the member off) caps it. A
 * budget per write would let the batch below run ~200 s and commit.
 */
import { expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, Layer, Ref, Stream } from "effect"
import { Broker, type BrokerService } from "../../src/Broker.js"
import * as Pipeline from "../../src/Pipeline.js"
import type * as RowSink from "../../src/RowSink.js"
import { SinkError } from "../../src/RowSink.js"
import type { UserRow } from "../../examples/randomuser/UserRow.js"
import { drive, onDoubles, raw, userRecord } from "./twins.js"

const group = "process"

/**
 * A sink slow to recover: each distinct write (by its keys) is `Unavailable` for its first
 * `outageMs` of virtual time, then succeeds.
 */
const slowToRecover = (inner: RowSink.ReadableSink<UserRow>, outageMs: number): RowSink.ReadableSink<UserRow> => {
  const firstTry = new Map<string, number>()
  return {
    ...inner,
    write: (rows) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const id = rows.map(inner.key).join(",")
        const since = firstTry.get(id) ?? now
        firstTry.set(id, since)
        return now - since < outageMs
          ? Effect.fail(new SinkError({ sink: inner.name, reason: "Unavailable", message: "down" }))
          : inner.write(rows)
      })
  }
}

it.effect("a bisection needing many sub-writes during an outage gives up at the batch's one budget, uncommitted", () =>
  Effect.gen(function*() {
    // One batch of 16; a poison row makes bisection write 8, 4, 2 and 1 clean rows in turn,
    // each of them down for 50 s: 200 s in all, longer than the 120 s budget.
    const h = yield* onDoubles({ partitions: 1, maxBatchSize: 16, inner: (m) => slowToRecover(m, 50_000) })
    const records = Array.from({ length: 16 }, (_, n) => userRecord("budget", n))
    yield* Ref.set(h.controls.poison, new Set([records[15]!.key]))
    yield* Effect.gen(function*() {
      const broker = yield* Broker
      yield* broker.produce(raw, records)
      const fiber = yield* Effect.fork(Pipeline.consume(h.pipeline, { groupId: group }))
      const exit = yield* Effect.exit(drive(fiber, { step: "1 second", maxSteps: 1_000 }))
      expect(Exit.isFailure(exit)).toBe(true)
      const attempts = yield* Ref.get(h.controls.attempts)
      const last = Math.max(...attempts.map((a) => a.at))
      // Retried up to the budget, and not one write after it. The jittered delays are
      // fractional milliseconds: the last wait, cut to end at the deadline, may land a
      // rounding error past it (120000.00000000003 was seen), never a millisecond.
      expect(last).toBeLessThan(120_001)
      expect(last).toBeGreaterThanOrEqual(110_000)
      // Two clean sub-writes came back after their 50 s; the third was still down at 120 s.
      expect(attempts.filter((a) => a.ok).map((a) => a.rows)).toEqual([8, 4])
      expect((yield* broker.committed(raw, group)).size).toBe(0)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(h.layer))
  }))

it.effect("the broker's batch deadline caps the budget: retries stop there and the batch is not committed", () =>
  Effect.gen(function*() {
    const h = yield* onDoubles({ partitions: 1, maxBatchSize: 10, inner: (m) => slowToRecover(m, 1_000_000) })
    // As KafkaBroker does: each batch says by when the group may give its partition away.
    const withDeadline: BrokerService = {
      ...h.broker,
      consume: (o) => Stream.mapEffect(h.broker.consume(o), (b) => Effect.map(Clock.currentTimeMillis, (now) => ({ ...b, deadline: now + 30_000 })))
    }
    yield* Effect.gen(function*() {
      const broker = yield* Broker
      yield* broker.produce(raw, Array.from({ length: 10 }, (_, n) => userRecord("deadline", n)))
      const fiber = yield* Effect.fork(Pipeline.consume(h.pipeline, { groupId: group }))
      const exit = yield* Effect.exit(drive(fiber, { step: "1 second", maxSteps: 1_000 }))
      expect(Exit.isFailure(exit)).toBe(true)
      const attempts = yield* Ref.get(h.controls.attempts)
      // As above: a rounding error past the deadline may show, never a millisecond.
      expect(Math.max(...attempts.map((a) => a.at))).toBeLessThan(30_001)
      expect(Math.max(...attempts.map((a) => a.at))).toBeGreaterThanOrEqual(25_000)
      expect((yield* broker.committed(raw, group)).size).toBe(0)
    }).pipe(Effect.provide(Layer.succeed(Broker, withDeadline)))
  }))
