/**
 * Deterministic twins of the crash, outage and rebalance scenarios (issue 4, item 6) on
 * the doubles under TestClock: the reference pipeline on TestDriver's MemoryBroker and the
 * MemorySink of its Postgres table, faults injected at exact points instead of SIGKILL
 * and stopped services, so every run takes the same path.
 */
import { expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Ref, TestClock } from "effect"
import type { UserRow } from "../../examples/randomuser/UserRow.js"
import { partitionFor } from "../../layers/Murmur2.js"
import { Broker, lag, type ProducerRecord } from "../../src/Broker.js"
import * as Pipeline from "../../src/Pipeline.js"
import { expectedRows } from "../support/expected.js"
import {
  byId,
  coordinateOf,
  dlq,
  drive,
  onDoubles,
  parseDeadLetter,
  raw,
  readTopic,
  redeliveries,
  rowOf,
  userRecord
} from "./twins.js"

const group = "process"

const harness = (options: { readonly partitions: number; readonly maxBatchSize: number }) =>
  Effect.map(onDoubles(options), (h) => ({
    ...h,
    users: (seed: string, total: number) => Array.from({ length: total }, (_, n) => userRecord(seed, n))
  }))

/** Every partition's committed offset equals its end: nothing left behind, nothing blocked. */
const expectFullyCommitted = Effect.gen(function*() {
  const broker = yield* Broker
  const committed = yield* broker.committed(raw, group)
  for (const p of yield* broker.describeTopic(raw)) {
    if (p.high !== "0") expect(committed.get(p.partition)).toBe(p.high)
  }
  expect(yield* lag(raw, group)).toBe(0)
})

it.effect("crash between sink write and commit: the batch is redelivered and every row lands exactly once", () =>
  Effect.gen(function*() {
    const h = yield* harness({ partitions: 3, maxBatchSize: 50 })
    yield* Effect.gen(function*() {
      const broker = yield* Broker
      yield* broker.produce(raw, h.users("crash", 1000))
      // The first batch to reach the sink is stored, then its fiber stops before the
      // commit, as a process killed between the two would.
      const written = yield* Deferred.make<ReadonlyArray<UserRow>>()
      yield* Ref.set(h.controls.afterWrite, (rows) =>
        Effect.flatMap(Deferred.succeed(written, rows), (first) => (first ? Effect.never : Effect.void)))
      const first = yield* Effect.fork(Pipeline.consume(h.pipeline, { groupId: group }))
      const crashed = yield* Deferred.await(written)
      yield* Fiber.interrupt(first)

      // Written but not committed: the sink has the rows, the group's offset is before them.
      const crashedIds = new Set(crashed.map((r) => r.id))
      const rawRecords = yield* readTopic(h.plain, raw)
      const crashedRecords = rawRecords.filter((r) => crashedIds.has(r.key!))
      expect(crashedRecords).toHaveLength(50)
      const stored = new Set((yield* h.memory.scan).map((r) => r.id))
      expect(crashed.every((r) => stored.has(r.id))).toBe(true)
      const partition = crashedRecords[0]!.partition
      const committedAtCrash = (yield* broker.committed(raw, group)).get(partition) ?? "0"
      expect(BigInt(committedAtCrash)).toBeLessThanOrEqual(BigInt(crashedRecords[0]!.offset))

      // Restart in the same group.
      yield* Ref.set(h.controls.afterWrite, undefined)
      yield* drive(yield* Effect.fork(Pipeline.drain(h.pipeline, { groupId: group })))

      expect(yield* h.memory.scan).toEqual(expectedRows("crash", 1000))
      // The replay was written as the same rows, not refused: a sink that inserted instead
      // of upserting would dead-letter the redelivered batch and still hold every row.
      expect(yield* readTopic(h.plain, dlq), "redelivered rows were dead-lettered").toHaveLength(0)
      const deliveries = yield* h.trace.deliveries
      for (const r of crashedRecords) expect(deliveries.get(coordinateOf(r))).toBe(2)
      expect(yield* redeliveries(h.trace)).toBeGreaterThanOrEqual(50)
      yield* expectFullyCommitted
    }).pipe(Effect.provide(h.layer))
  }))

it.effect("partial batch failure: refused rows go to the DLQ with reason and coordinates, the rest is written", () =>
  Effect.gen(function*() {
    const h = yield* harness({ partitions: 2, maxBatchSize: 100 })
    yield* Effect.gen(function*() {
      const broker = yield* Broker
      const records = h.users("partial", 1000)
      yield* broker.produce(raw, records)
      const poisonIndexes = [3, 150, 151, 499, 777, 998, 999]
      const poison = new Set(poisonIndexes.map((i) => records[i]!.key))
      yield* Ref.set(h.controls.poison, poison)
      yield* drive(yield* Effect.fork(Pipeline.drain(h.pipeline, { groupId: group })))

      expect(yield* h.memory.scan).toEqual(expectedRows("partial", 1000).filter((r) => !poison.has(r.id)))
      const dead = (yield* readTopic(h.plain, dlq)).map(parseDeadLetter)
      const poisonCoordinates = (yield* readTopic(h.plain, raw)).filter((r) => poison.has(r.key!)).map(coordinateOf)
      expect(dead.map((d) => coordinateOf(d.source)).sort()).toEqual(poisonCoordinates.sort())
      for (const d of dead) {
        expect(d.error).toMatch(/sink postgres rejected the row: poison row/)
        expect(d.stage).toBe("sink")
        // Found by bisection: more than one write took part in isolating it.
        expect(d.attempt).toBeGreaterThan(1)
      }
      // Bisection costs about log2(batch) writes a poison row, not one write a row.
      const attempts = yield* Ref.get(h.controls.attempts)
      expect(attempts.length).toBeLessThan(10 + poison.size * 2 * 8)
      yield* expectFullyCommitted
    }).pipe(Effect.provide(h.layer))
  }))

it.effect("transient outage: Unavailable writes are retried with backoff and nothing is committed meanwhile", () =>
  Effect.gen(function*() {
    // One partition, so the outage is one batch retried five times in a row.
    const h = yield* harness({ partitions: 1, maxBatchSize: 100 })
    yield* Effect.gen(function*() {
      const broker = yield* Broker
      yield* broker.produce(raw, h.users("outage", 500))
      yield* h.memory.failNext(5, "Unavailable")
      const fiber = yield* Effect.fork(Pipeline.drain(h.pipeline, { groupId: group }))
      let observedDuringOutage = 0
      while ((yield* Fiber.poll(fiber))._tag === "None") {
        const attempts = yield* Ref.get(h.controls.attempts)
        if (!attempts.some((a) => a.ok)) {
          observedDuringOutage++
          expect((yield* broker.committed(raw, group)).size).toBe(0)
          expect(yield* h.memory.scan).toHaveLength(0)
        }
        yield* TestClock.adjust("50 millis")
      }
      yield* Fiber.join(fiber)
      const attempts = yield* Ref.get(h.controls.attempts)
      expect(attempts.slice(0, 5).map((a) => a.ok)).toEqual([false, false, false, false, false])
      expect(attempts.slice(5).every((a) => a.ok)).toBe(true)
      // Backoff, not a hot loop: 200+400+800+1600+3200 ms, jittered by at most -20 %.
      expect(attempts[5]!.at).toBeGreaterThanOrEqual(0.8 * 6200)
      expect(observedDuringOutage).toBeGreaterThan(50)
      expect(yield* h.memory.scan).toEqual(expectedRows("outage", 500))
      yield* expectFullyCommitted
    }).pipe(Effect.provide(h.layer))
  }))

it.effect("rebalance mid-batch: a second consumer joins while the first has batches in flight; no loss, no duplicate", () =>
  Effect.gen(function*() {
    const h = yield* harness({ partitions: 3, maxBatchSize: 50 })
    yield* Effect.gen(function*() {
      const broker = yield* Broker
      const firsts = h.users("rebalance", 600)
      // Later versions of the first 100 users: the stored row must be the last produced.
      const updates: Array<ProducerRecord> = firsts.slice(0, 100).map((_, n) => userRecord("rebalance", n, `v2-${n}`))
      yield* broker.produce(raw, [...firsts, ...updates])
      yield* Ref.set(h.controls.delay, 1000)
      const a = yield* Effect.fork(Pipeline.drain(h.pipeline, { groupId: group }))
      // Let A take batches and start writing them (writes take 1 s of virtual time).
      while ((yield* Ref.get(h.controls.active)) === 0) yield* Effect.yieldNow()
      expect(yield* Ref.get(h.trace.inFlight)).toBeGreaterThan(0)
      const b = yield* Effect.fork(Pipeline.drain(h.pipeline, { groupId: group }))
      yield* drive(Fiber.zip(a, b), { maxSteps: 600 })

      // The scenario really happened: both members consumed, and the batches A held when
      // B joined could not commit under the old generation, so they came again.
      const [byA, byB] = yield* Ref.get(h.trace.batchesByConsumer)
      expect(byA).toBeGreaterThan(0)
      expect(byB).toBeGreaterThan(0)
      expect(yield* redeliveries(h.trace)).toBeGreaterThan(0)

      const expected = new Map([...firsts, ...updates].map((r) => [r.key, rowOf(r)] as const))
      expect(yield* h.memory.scan).toEqual(byId([...expected.values()]))
      yield* expectFullyCommitted
    }).pipe(Effect.provide(h.layer))
  }))

it.effect("rebalance while the old owner waits out an outage: its stale batch never lands after the new owner's rows", () =>
  Effect.gen(function*() {
    // Two partitions; every record on partition 1, which moves to the joining member.
    const h = yield* harness({ partitions: 2, maxBatchSize: 10 })
    yield* Effect.gen(function*() {
      const broker = yield* Broker
      const users = Array.from({ length: 200 }, (_, n) => n).filter((n) => partitionFor(userRecord("stale", n).key, 2) === 1)
        .slice(0, 10)
      const v0 = users.map((n) => userRecord("stale", n, "v0"))
      const v1 = users.map((n) => userRecord("stale", n, "v1"))
      // Two batches: every user's v0, then every user's v1.
      yield* broker.produce(raw, [...v0, ...v1])
      // A's write of the v0 batch fails once, so A sits in its retry backoff (~200 ms)...
      yield* h.memory.failNext(1, "Unavailable")
      const a = yield* Effect.fork(Pipeline.consume(h.pipeline, { groupId: group }))
      while ((yield* Ref.get(h.controls.attempts)).length === 0) yield* Effect.yieldNow()
      // ...when B joins and becomes partition 1's owner. B must not write v0 and v1 before
      // A's retry of v0 lands, or the table ends on v0.
      const b = yield* Effect.fork(Pipeline.drain(h.pipeline, { groupId: group }))
      yield* drive(b, { maxSteps: 600 })
      yield* Fiber.interrupt(a)

      expect(yield* h.memory.scan).toEqual(byId(v1.map(rowOf)))
      const [byA, byB] = yield* Ref.get(h.trace.batchesByConsumer)
      expect(byA).toBe(1)
      expect(byB).toBe(2)
      yield* expectFullyCommitted
    }).pipe(Effect.provide(h.layer))
  }))

it.effect("invalid records interleaved with valid ones go to the DLQ and the pipeline keeps going", () =>
  Effect.gen(function*() {
    const h = yield* harness({ partitions: 3, maxBatchSize: 40 })
    yield* Effect.gen(function*() {
      const broker = yield* Broker
      const good = h.users("invalid", 300)
      const bad = (i: number): ProducerRecord => {
        const valid = JSON.parse(good[i]!.value) as { login: Record<string, unknown> }
        switch (i % 4) {
          case 0:
            return { key: `bad-${i}`, value: "{not json" }
          case 1:
            return { key: `bad-${i}`, value: JSON.stringify({ ...valid, login: { ...valid.login, uuid: "nope" } }) }
          case 2:
            return { key: `bad-${i}`, value: "null" }
          default:
            return { key: `bad-${i}`, value: JSON.stringify({ ...valid, email: 42 }) }
        }
      }
      const mixed = good.flatMap((r, i) => (i % 7 === 3 ? [bad(i), r] : [r]))
      yield* broker.produce(raw, mixed)
      yield* drive(yield* Effect.fork(Pipeline.drain(h.pipeline, { groupId: group })))

      expect(yield* h.memory.scan).toEqual(expectedRows("invalid", 300))
      const invalid = (yield* readTopic(h.plain, raw)).filter((r) => r.key!.startsWith("bad-"))
      expect(invalid.length).toBe(good.filter((_, i) => i % 7 === 3).length)
      const dead = (yield* readTopic(h.plain, dlq)).map(parseDeadLetter)
      expect(dead.map((d) => coordinateOf(d.source)).sort()).toEqual(invalid.map(coordinateOf).sort())
      for (const d of dead) {
        expect(d.error.length).toBeGreaterThan(0)
        expect(d.stage).toBe("decode")
      }
      yield* expectFullyCommitted
    }).pipe(Effect.provide(h.layer))
  }))
