/**
 * The test driver of a pipeline — pandaflow's analogue of Kafka Streams'
 * TopologyTestDriver. It runs the very pipeline value a user ships on the in-memory
 * doubles under TestClock: every schema-driven sink is replaced by a `MemorySink` of the
 * same table (so it refuses the rows the database would), the broker is a `MemoryBroker`
 * that can be told to fail, and time only moves when the driver advances it.
 *
 * ```ts
 * it.effect("filters refunds", () => Effect.gen(function*() {
 *   const driver = yield* TestDriver.make(pipeline)
 *   yield* driver.send([order1, refund])
 *   yield* driver.run
 *   expect(yield* driver.rows("postgres")).toEqual([row1])
 * }))
 * ```
 *
 * @since 0.2.0
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import { Chunk, Clock, Effect, Fiber, Layer, Ref, Stream, TestClock } from "effect"
import { Broker, BrokerError, type BrokerService, type ConsumedRecord, type ProducerRecord } from "../src/Broker.js"
import * as DeadLetter from "../src/DeadLetter.js"
import * as Pipeline from "../src/Pipeline.js"
import * as Progress from "../src/Progress.js"
import * as RowSink from "../src/RowSink.js"
import type * as TableSchema from "../src/TableSchema.js"
import type { CassandraClient } from "./CassandraClient.js"
import * as MemoryBroker from "./MemoryBroker.js"
import * as MemorySink from "./MemorySink.js"

/** Options of `make`. */
export interface Options {
  /** Partitions of the pipeline's topics (default: the topic's). */
  readonly partitions?: number | undefined
  /** Records a batch at most (default 500). */
  readonly maxBatchSize?: number | undefined
  /** Consumer group of `run` (default `test`). */
  readonly groupId?: string | undefined
}

/**
 * Broker operations the driver can make fail, as an unreachable broker would: the
 * pipeline's produce of dead letters or ingested records, a batch's commit, or the
 * consumer itself (its stream fails; the consume job restarts it from the committed offsets).
 */
export type BrokerOperation = "produce" | "commit" | "consume"

/** A table sink of the pipeline: its definition, to read its memory double typed by its table. */
export type TableSink<A> = RowSink.Definition<A, unknown, unknown> & { readonly table: TableSchema.TableSchema<A> }

/** A pipeline on the doubles, with handles to feed it, run it, inspect it and disturb it. */
export interface TestDriver<W, B, E = never, R = never> {
  /** The pipeline as it runs here: the same value with memory sinks in place of table sinks. */
  readonly pipeline: Pipeline.Pipeline<W, B, never, never, R, E, R>
  /** The broker, for `Layer.succeed(Broker, …)` in your own jobs. */
  readonly broker: BrokerService
  /** Writes values to the input topic, encoded and keyed as the ingest job would (never an injected fault). */
  readonly send: (values: ReadonlyArray<W>) => Effect.Effect<void, BrokerError>
  /** Writes raw records (bad JSON, foreign producers) to the input topic (never an injected fault). */
  readonly sendRaw: (records: ReadonlyArray<ProducerRecord>) => Effect.Effect<void, BrokerError>
  /**
   * Consumes until everything sent is committed, advancing the TestClock (run it inside
   * `it.effect` or with `TestContext.TestContext`); fails when it hangs.
   */
  readonly run: Effect.Effect<Progress.Snapshot, E | Pipeline.ConsumeError, R>
  /**
   * The memory sink standing in for a table sink: given its definition (typed by its
   * table), or its name (then its rows are `unknown`: each table holds its own columns).
   */
  readonly sink: {
    <A>(sink: TableSink<A>): Effect.Effect<MemorySink.MemorySink<A>>
    (name: string): Effect.Effect<MemorySink.MemorySink<unknown>>
  }
  /** Every row a table sink holds (as its table returns them), ordered by key. */
  readonly rows: {
    <A>(sink: TableSink<A>): Effect.Effect<ReadonlyArray<A>, RowSink.SinkError>
    (name: string): Effect.Effect<ReadonlyArray<unknown>, RowSink.SinkError>
  }
  /** Every dead letter so far, in topic order per partition. */
  readonly deadLetters: Effect.Effect<ReadonlyArray<DeadLetter.DeadLetter>, BrokerError>
  /** Makes the next `n` broker operations of that kind fail as `Unavailable`. */
  readonly failNext: (operation: BrokerOperation, n: number) => Effect.Effect<void>
}

const isTable = <B>(t: TableSchema.Any | undefined): t is TableSchema.TableSchema<B> => t !== undefined

/**
 * A driver for `pipeline`. Sinks without a table (your own `RowSink.make`) are kept as
 * they are; the services they or the transform need are the test's to provide. The
 * driver's type drops `SqlClient` and `CassandraClient` from what the pipeline needs,
 * since the table sinks that asked for them are replaced: a sink of your own that needs
 * one of them still gets it only if the test provides it.
 */
export const make = <W, B, ESource, RSource, RTransform, ESink, RSink>(
  pipeline: Pipeline.Pipeline<W, B, ESource, RSource, RTransform, ESink, RSink>,
  options: Options = {}
): Effect.Effect<TestDriver<W, B, ESink, RTransform | Exclude<RSink, Replaced>>> =>
  Effect.gen(function*() {
    const memories = new Map<string, MemorySink.MemorySink<unknown>>()
    const sinks: Array<RowSink.Definition<B, unknown, unknown>> = []
    for (const definition of pipeline.sinks) {
      if (isTable<B>(definition.table)) {
        const memory = yield* MemorySink.make(definition.table, definition.name)
        memories.set(definition.name, memory as MemorySink.MemorySink<unknown>)
        sinks.push(MemorySink.definition(memory))
      } else {
        sinks.push(definition)
      }
    }
    const faults = yield* Ref.make<Readonly<Record<BrokerOperation, number>>>({ produce: 0, commit: 0, consume: 0 })
    const takeFault = (operation: BrokerOperation) =>
      Ref.modify(faults, (f) => f[operation] > 0 ? [true, { ...f, [operation]: f[operation] - 1 }] as const : [false, f] as const)
    const injected = (operation: BrokerOperation) =>
      new BrokerError({ reason: "Unavailable", message: `injected ${operation} failure` })
    const plain = yield* MemoryBroker.make({ maxBatchSize: options.maxBatchSize })
    const broker: BrokerService = {
      ...plain,
      produce: (topic, records) =>
        Effect.flatMap(takeFault("produce"), (fail) => fail ? Effect.fail(injected("produce")) : plain.produce(topic, records)),
      consume: (o) =>
        Stream.unwrap(Effect.map(takeFault("consume"), (fail) =>
          fail ? Stream.fail(injected("consume")) : Stream.map(plain.consume(o), (batch) => ({
            ...batch,
            commit: Effect.flatMap(takeFault("commit"), (fail) => fail ? Effect.fail(injected("commit")) : batch.commit)
          }))))
    }
    const layer = Layer.succeed(Broker, broker)
    // The table sinks' services (SqlClient, CassandraClient) are no longer needed.
    const local = Pipeline.withSinks(pipeline, sinks) as unknown as Pipeline.Pipeline<W, B, never, never, RTransform, ESink, Exclude<RSink, Replaced>>
    yield* Effect.provide(Pipeline.setup(local, { partitions: options.partitions }), layer).pipe(Effect.orDie)
    const groupId = options.groupId ?? "test"

    const sinkNamed = (sink: string | TableSink<unknown>) =>
      Effect.suspend(() => {
        const name = typeof sink === "string" ? sink : sink.name
        const memory = memories.get(name)
        return memory === undefined
          ? Effect.dieMessage(`pipeline ${pipeline.name} has no table sink named ${name} (it has: ${[...memories.keys()].join(", ")})`)
          : Effect.succeed(memory)
      })

    const run = Effect.gen(function*() {
      const progress = yield* Progress.make
      const fiber = yield* Effect.fork(Effect.provide(Pipeline.drain(local, { groupId }, progress), layer))
      for (let step = 0; step < 10_000; step++) {
        if ((yield* Fiber.poll(fiber))._tag === "Some") {
          yield* Fiber.join(fiber)
          return yield* progress.snapshot
        }
        yield* TestClock.adjust("100 millis")
      }
      yield* Fiber.interrupt(fiber)
      const now = yield* Clock.currentTimeMillis
      return yield* Effect.dieMessage(`pipeline ${pipeline.name} did not drain within 10,000 clock steps (virtual time ${now} ms)`)
    })

    let inspections = 0
    const deadLetters = Effect.gen(function*() {
      const partitions = yield* broker.describeTopic(local.topic.deadLetter)
      const total = partitions.reduce((n, p) => n + Number(p.high), 0)
      if (total === 0) return []
      const records: ReadonlyArray<ConsumedRecord> = yield* plain.consume({ topic: local.topic.deadLetter, groupId: `inspect-${++inspections}` }).pipe(
        Stream.mapEffect((b) => Effect.as(b.commit, b.records)),
        Stream.flattenIterables,
        Stream.take(total),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      return records.flatMap((r) => {
        const letter = DeadLetter.parse(r.value)
        return letter === undefined ? [] : [letter]
      })
    })

    return {
      pipeline: local,
      broker,
      send: (values) => plain.produce(local.topic.name, values.map((v) => local.encode(v))),
      sendRaw: (records) => plain.produce(local.topic.name, records),
      run,
      sink: sinkNamed as TestDriver<W, B>["sink"],
      rows: ((sink: string | TableSink<unknown>) => Effect.flatMap(sinkNamed(sink), (m) => m.scan)) as TestDriver<W, B>["rows"],
      deadLetters,
      failNext: (operation, n) => Ref.update(faults, (f) => ({ ...f, [operation]: Math.max(0, n) }))
    }
  })

/** Services the replaced table sinks needed: the driver does not. */
export type Replaced = SqlClient | CassandraClient
