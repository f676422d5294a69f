/**
 * The Broker contract: one suite, run unchanged against every implementation
 * (test/contract/Broker.test.ts). A double that passes it behaves like Kafka in every
 * way the pipeline relies on.
 */
import { expect, it } from "@effect/vitest"
import { Chunk, Effect, type Layer, Queue, Stream } from "effect"
import { describe } from "vitest"
import { Broker, type Batch, type ConsumedRecord, lag } from "../../src/Broker.js"
import { partitionFor } from "../../layers/Murmur2.js"
import { unique } from "../support/env.js"

const keys = Array.from({ length: 50 }, (_, i) => `user-${i}`)
const messages = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ key: keys[(from + i) % keys.length]!, value: JSON.stringify({ seq: from + i }) }))

/** Reads batches until `n` records arrived; commits each one when `commit` is true. */
const take = (topic: string, groupId: string, n: number, commit: boolean) =>
  Effect.flatMap(Broker, (broker) =>
    broker.consume({ topic, groupId }).pipe(
      Stream.mapEffect((batch: Batch) => (commit ? Effect.as(batch.commit, batch) : Effect.succeed(batch))),
      Stream.mapAccum(0, (seen, batch) => [seen + batch.records.length, { seen: seen + batch.records.length, batch }] as const),
      Stream.takeUntil(({ seen }) => seen >= n),
      Stream.runCollect,
      Effect.map((chunk) => Chunk.toReadonlyArray(chunk).flatMap(({ batch }) => batch.records)),
      Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`fewer than ${n} records on ${topic} within 60 s`) })
    ))

const seqOf = (r: ConsumedRecord) => (JSON.parse(r.value ?? "{}") as { seq: number }).seq

export const brokerContract = (name: string, layer: () => Layer.Layer<Broker, unknown>) =>
  describe(`Broker contract: ${name}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, Broker>) => Effect.provide(effect, layer())

    it.live("creates topics idempotently and describes their partitions", () =>
      run(Effect.gen(function*() {
        const broker = yield* Broker
        const topic = unique("contract-topic")
        yield* broker.createTopic({ name: topic, partitions: 3 })
        yield* broker.createTopic({ name: topic, partitions: 3 })
        const partitions = yield* broker.describeTopic(topic)
        expect(partitions.map((p) => [p.partition, p.high])).toEqual([[0, "0"], [1, "0"], [2, "0"]])
        const missing = yield* Effect.flip(broker.describeTopic(unique("no-such-topic")))
        expect(missing.reason).toBe("UnknownTopic")
      })))

    it.live("keeps a record's event time, and stamps one without it with the time of produce", () =>
      run(Effect.gen(function*() {
        const broker = yield* Broker
        const topic = unique("contract-time")
        yield* broker.createTopic({ name: topic, partitions: 1 })
        const eventTime = Date.UTC(2026, 0, 2, 3, 4, 5, 678)
        const before = Date.now()
        yield* broker.produce(topic, [{ key: "a", value: "1", timestamp: eventTime }, { key: "a", value: "2" }])
        const after = Date.now()
        const [timed, stamped] = yield* take(topic, unique("g"), 2, true)
        expect(timed!.timestamp).toBe(eventTime)
        // it.live: both the real broker and the double read the wall clock.
        expect(stamped!.timestamp).toBeGreaterThanOrEqual(before - 1000)
        expect(stamped!.timestamp).toBeLessThanOrEqual(after + 1000)
      })))

    it.live("delivers 1,000 keyed records, each key on its murmur2 partition, in per-key order", () =>
      run(Effect.gen(function*() {
        const broker = yield* Broker
        const topic = unique("contract-order")
        yield* broker.createTopic({ name: topic, partitions: 3 })
        yield* broker.produce(topic, messages(400))
        yield* broker.produce(topic, messages(600, 400))
        const records = yield* take(topic, unique("g"), 1000, true)
        expect(records).toHaveLength(1000)
        expect(new Set(records.map(seqOf)).size).toBe(1000)
        const lastSeqByKey = new Map<string, number>()
        for (const r of records) {
          expect(r.partition).toBe(partitionFor(r.key!, 3))
          const seq = seqOf(r)
          expect(seq).toBeGreaterThan(lastSeqByKey.get(r.key!) ?? -1)
          lastSeqByKey.set(r.key!, seq)
        }
        const high = yield* broker.describeTopic(topic)
        expect(high.reduce((n, p) => n + Number(p.high), 0)).toBe(1000)
      })))

    it.live("commits per group: a committed group has no lag and resumes after its commit", () =>
      run(Effect.gen(function*() {
        const broker = yield* Broker
        const topic = unique("contract-commit")
        const group = unique("g")
        yield* broker.createTopic({ name: topic, partitions: 3 })
        yield* broker.produce(topic, messages(300))
        expect(yield* lag(topic, group)).toBe(300)
        yield* take(topic, group, 300, true)
        expect(yield* lag(topic, group)).toBe(0)
        const committed = yield* broker.committed(topic, group)
        const partitions = yield* broker.describeTopic(topic)
        for (const p of partitions) {
          if (p.high !== "0") expect(committed.get(p.partition)).toBe(p.high)
        }
        // A restarted member of the same group sees only what came after the commit.
        yield* broker.produce(topic, messages(30, 300))
        const after = yield* take(topic, group, 30, true)
        expect(after.map(seqOf).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => 300 + i))
        // Another group is independent and starts at the beginning.
        const other = yield* take(topic, unique("g"), 330, false)
        expect(other).toHaveLength(330)
      })))

    // Per-key order rests on this: a key lives on one partition, and the pipeline processes
    // batches concurrently, so a second batch of a partition must not come before the first
    // one is committed. (The real broker on one node fetches every partition in one request
    // and waits for all of a fetch's batches, so only batches already fetched keep flowing.)
    it.live("one batch in flight per partition: while a batch is uncommitted no further batch of its partition comes, other partitions' batches do", () =>
      run(Effect.scoped(Effect.gen(function*() {
        const broker = yield* Broker
        const topic = unique("contract-inflight")
        yield* broker.createTopic({ name: topic, partitions: 3 })
        yield* broker.produce(topic, messages(90))
        const round1 = new Map((yield* broker.describeTopic(topic)).map((p) => [p.partition, Number(p.high)]))
        const arrived = yield* Queue.unbounded<Batch>()
        yield* Effect.forkScoped(Stream.runForEach(broker.consume({ topic, groupId: unique("g") }), (b) => Queue.offer(arrived, b)))
        const next = Queue.take(arrived).pipe(
          Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`no batch of ${topic} within 30 s`) })
        )
        const held = yield* next
        const p = held.partition
        // Every other partition's records come (and are committed) while p's batch is held.
        const seen = new Map<number, number>()
        const othersDone = () => [...round1].every(([q, n]) => q === p || (seen.get(q) ?? 0) === n)
        while (!othersDone()) {
          const b = yield* next
          expect(b.partition, "a second batch of a partition whose batch is uncommitted").not.toBe(p)
          seen.set(b.partition, (seen.get(b.partition) ?? 0) + b.records.length)
          yield* b.commit
        }
        // More records for every partition; for 3 s nothing of p may come.
        yield* broker.produce(topic, messages(90, 90))
        yield* Effect.sleep("3 seconds")
        for (const b of yield* Queue.takeAll(arrived)) {
          expect(b.partition, "a second batch of a partition whose batch is uncommitted").not.toBe(p)
          yield* b.commit
        }
        // Once committed, p goes on right after the held batch.
        yield* held.commit
        let b = yield* next
        while (b.partition !== p) {
          yield* b.commit
          b = yield* next
        }
        expect(BigInt(b.records[0]!.offset)).toBe(BigInt(held.records[held.records.length - 1]!.offset) + 1n)
        yield* b.commit
      }))))

    it.live("redelivers what a consumer read but never committed", () =>
      run(Effect.gen(function*() {
        const broker = yield* Broker
        const topic = unique("contract-redeliver")
        const group = unique("g")
        yield* broker.createTopic({ name: topic, partitions: 3 })
        yield* broker.produce(topic, messages(120))
        const first = yield* take(topic, group, 120, false)
        expect(first).toHaveLength(120)
        expect(yield* lag(topic, group)).toBe(120)
        const again = yield* take(topic, group, 120, true)
        expect(again.map(seqOf).sort((a, b) => a - b)).toEqual(first.map(seqOf).sort((a, b) => a - b))
        expect(yield* lag(topic, group)).toBe(0)
      })))
  })
