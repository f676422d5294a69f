/**
 * The transactional commit of a batch (`Batch.commitWith`): one suite, run against every
 * broker (test/contract/BrokerTransactions.test.ts). The records and the offset commit
 * land together, and a batch that fails inside its transaction lands neither.
 */
import { expect, it } from "@effect/vitest"
import { Chunk, Effect, type Layer, Stream } from "effect"
import { describe } from "vitest"
import type { AfterTransactionSend } from "../../layers/KafkaTransactions.js"
import { Broker, type Batch, type ConsumedRecord } from "../../src/Broker.js"
import { unique } from "../support/env.js"

const messages = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k-${i % 7}`, value: `v-${i}` }))

/** Every record of `topic` (read committed, through a throw-away group), `n` expected. */
export const readAll = (topic: string, n: number) =>
  Effect.flatMap(Broker, (broker) =>
    n === 0 ? Effect.succeed([] as ReadonlyArray<ConsumedRecord>) : broker.consume({ topic, groupId: unique("read") }).pipe(
      Stream.mapEffect((b) => Effect.as(b.commit, b.records)),
      Stream.flattenIterables,
      Stream.take(n),
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray),
      Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`fewer than ${n} records on ${topic}`) })
    ))

/** The first batch of `topic` for `groupId`, handed to `f`. */
export const firstBatch = <A, E>(topic: string, groupId: string, f: (batch: Batch) => Effect.Effect<A, E>) =>
  Effect.flatMap(Broker, (broker) =>
    broker.consume({ topic, groupId }).pipe(
      Stream.take(1),
      Stream.mapEffect(f),
      Stream.runCollect,
      Effect.map((c) => Chunk.unsafeHead(c)),
      Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`no batch on ${topic}`) })
    ))

/** A fresh one-partition input topic holding `count` records, an empty output topic and a fresh group. */
const topics = (count: number) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const input = unique("tx-in")
    const output = unique("tx-out")
    yield* broker.createTopic({ name: input, partitions: 1 })
    yield* broker.createTopic({ name: output, partitions: 1 })
    yield* broker.produce(input, messages(count))
    return { broker, input, output, group: unique("g") }
  })

export const brokerTransactionsContract = (name: string, layer: () => Layer.Layer<Broker, unknown>) =>
  describe(`Broker transactions contract: ${name}`, () => {
    const run = <A, E>(effect: Effect.Effect<A, E, Broker>) => Effect.provide(effect, layer())

    it.live("commitWith lands the records and the batch's offset together; the group resumes after it", () =>
      run(Effect.gen(function*() {
        const { broker, input, output, group } = yield* topics(20)
        const handled = yield* firstBatch(input, group, (batch) =>
          Effect.as(batch.commitWith(output, batch.records.map((r) => ({ key: r.key ?? "", value: `dead ${r.offset}` }))), batch.records.length))
        expect(handled).toBeGreaterThan(0)
        const produced = yield* readAll(output, handled)
        expect(produced.map((r) => r.value)).toEqual(Array.from({ length: handled }, (_, i) => `dead ${i}`))
        expect((yield* broker.committed(input, group)).get(0)).toBe(String(handled))
        // Nothing more than the batch's records is in the output.
        const [out] = yield* broker.describeTopic(output)
        expect(out!.high === String(handled) || Number(out!.high) === handled + 1).toBe(true)
      })))

    it.live("a batch without records to produce commits plainly, with no transaction", () =>
      run(Effect.gen(function*() {
        const { broker, input, output, group } = yield* topics(5)
        const handled = yield* firstBatch(input, group, (batch) => Effect.as(batch.commit, batch.records.length))
        expect((yield* broker.committed(input, group)).get(0)).toBe(String(handled))
      })))
  })

/** A fault hook of a broker under test: runs inside `commitWith`, before its commit. */
export type TransactionFault = AfterTransactionSend

/**
 * The crash window of a transactional commit — after the dead letters were sent, before
 * the offset and the commit: `layer(fault)` is a broker whose `commitWith` calls `fault`
 * there. One failure: nothing of the batch is visible (read committed) nor committed, and
 * the redelivered batch lands each record once. `abortedStayInLog`: the real broker keeps
 * the aborted records (and the transaction markers) in the log, invisible.
 */
export const brokerTransactionFaultContract = (
  name: string,
  layer: (fault: TransactionFault) => Layer.Layer<Broker, unknown>,
  options: { readonly abortedStayInLog: boolean }
) =>
  describe(`Broker transactions contract: ${name}, a failure between the dead-letter send and the commit`, () => {
    it.live("aborts: no record visible read-committed, no offset; the redelivered batch lands its records once", () =>
      Effect.gen(function*() {
        const input = unique("tx-crash-in")
        const output = unique("tx-crash-out")
        const group = unique("g")
        let armed = true
        // The fault: once, after the records went to the broker inside the transaction.
        const fault: TransactionFault = async () => {
          if (armed) {
            armed = false
            throw new Error("injected crash after the dead-letter send")
          }
        }
        const dead = (offsets: ReadonlyArray<string>) => offsets.map((o) => ({ key: "k", value: `dead ${o}` }))
        yield* Effect.gen(function*() {
          const broker = yield* Broker
          yield* broker.createTopic({ name: input, partitions: 1 })
          yield* broker.createTopic({ name: output, partitions: 1 })
          yield* broker.produce(input, Array.from({ length: 10 }, (_, i) => ({ key: "k", value: `v-${i}` })))
          const first = yield* firstBatch(input, group, (batch) =>
            Effect.map(Effect.flip(batch.commitWith(output, dead(batch.records.map((r) => r.offset)))), (e) => ({ e, n: batch.records.length })))
          expect(first.e.reason).toBe("CommitFailed")
          expect(armed).toBe(false)
          // Nothing of the failed batch: no offset, no visible record.
          expect((yield* broker.committed(input, group)).size).toBe(0)
          // Replay: the same group gets the batch again and commits it with its records.
          const again = yield* firstBatch(input, group, (batch) =>
            Effect.as(batch.commitWith(output, dead(batch.records.map((r) => r.offset))), batch.records.length))
          expect(again).toBe(first.n)
          expect((yield* broker.committed(input, group)).get(0)).toBe(String(first.n))
          const [out] = yield* broker.describeTopic(output)
          if (options.abortedStayInLog) expect(Number(out!.high)).toBeGreaterThan(2 * first.n)
          else expect(Number(out!.high)).toBe(first.n)
          const visible = yield* readAll(output, first.n)
          expect(visible.map((r) => r.value), "each dead letter once").toEqual(Array.from({ length: first.n }, (_, i) => `dead ${i}`))
          // Nothing beyond them: a read-committed reader asked for one more gets a timeout.
          const more = yield* Effect.either(readAll(output, first.n + 1).pipe(Effect.timeout("8 seconds")))
          expect(more._tag).toBe("Left")
        }).pipe(Effect.provide(layer(fault)))
      }))
  })
