/**
 * Runs the transactional-commit contract against the in-memory double and the real
 * broker, and aims a fault at the real broker's crash window: between a batch's
 * dead-letter send and its commit.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { describe } from "vitest"
import * as KafkaBroker from "../../layers/KafkaBroker.js"
import * as MemoryBroker from "../../layers/MemoryBroker.js"
import { Broker } from "../../src/Broker.js"
import { requireEnv, unique } from "../support/env.js"
import { brokerTransactionsContract, firstBatch, readAll } from "./BrokerTransactions.contract.js"

const brokers = () => requireEnv("PANDAFLOW_BROKERS").split(",")

brokerTransactionsContract("MemoryBroker", () => MemoryBroker.layer())
brokerTransactionsContract("KafkaBroker (real broker)", () => KafkaBroker.layer({ brokers: brokers(), logLevel: "error" }))

describe("KafkaBroker: a failure between the dead-letter send and the commit", () => {
  it.live("aborts the transaction: no record visible read-committed, no offset; the redelivered batch lands its records once", () =>
    Effect.gen(function*() {
      const input = unique("tx-crash-in")
      const output = unique("tx-crash-out")
      const group = unique("g")
      let armed = true
      const faulty = KafkaBroker.layer({
        brokers: brokers(),
        logLevel: "nothing",
        // The fault: once, after the records went to the broker inside the transaction.
        afterTransactionSend: async () => {
          if (armed) {
            armed = false
            throw new Error("injected crash after the dead-letter send")
          }
        }
      })
      const dead = (offsets: ReadonlyArray<string>) => offsets.map((o) => ({ key: "k", value: `dead ${o}` }))
      const first = yield* Effect.gen(function*() {
        const broker = yield* Broker
        yield* broker.createTopic({ name: input, partitions: 1 })
        yield* broker.createTopic({ name: output, partitions: 1 })
        yield* broker.produce(input, Array.from({ length: 10 }, (_, i) => ({ key: "k", value: `v-${i}` })))
        return yield* firstBatch(input, group, (batch) =>
          Effect.map(Effect.flip(batch.commitWith(output, dead(batch.records.map((r) => r.offset)))), (e) => ({ e, n: batch.records.length })))
      }).pipe(Effect.provide(faulty))
      expect(first.e.reason).toBe("CommitFailed")
      expect(armed).toBe(false)
      yield* Effect.gen(function*() {
        const broker = yield* Broker
        // The aborted records were written to the log but are invisible to read-committed
        // readers, and the group committed nothing.
        expect((yield* broker.committed(input, group)).size).toBe(0)
        // Replay: the same group gets the batch again and commits it with its records.
        const again = yield* firstBatch(input, group, (batch) =>
          Effect.as(batch.commitWith(output, dead(batch.records.map((r) => r.offset))), batch.records.length))
        expect(again).toBe(first.n)
        expect((yield* broker.committed(input, group)).get(0)).toBe(String(first.n))
        const [out] = yield* broker.describeTopic(output)
        // The log holds both attempts (and their markers); read-committed sees one.
        expect(Number(out!.high)).toBeGreaterThan(2 * first.n)
        const visible = yield* readAll(output, first.n)
        expect(visible.map((r) => r.value)).toEqual(Array.from({ length: first.n }, (_, i) => `dead ${i}`))
        // Nothing beyond them: a read-committed reader asked for one more gets a timeout.
        const more = yield* Effect.either(readAll(output, first.n + 1).pipe(Effect.timeout("8 seconds")))
        expect(more._tag).toBe("Left")
      }).pipe(Effect.provide(KafkaBroker.layer({ brokers: brokers(), logLevel: "error" })))
    }))
})

