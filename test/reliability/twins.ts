/**
 * Instruments for the reliability twins on the doubles: a broker wrapper that sees every
 * hand-out and commit, a sink wrapper that can reject, stall or observe writes, and a
 * driver that advances the TestClock until a fiber finishes (or says it hung).
 *
 * The twins run the reference pipeline itself (`examples/randomuser/pipeline.ts`) on
 * `TestDriver`'s doubles; `onDoubles` wires the instruments in.
 */
import { Chunk, Clock, type Duration, Effect, Fiber, Layer, type Option, Ref, Schema, Stream, TestClock } from "effect"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import { fromUser, UserRow } from "../../examples/randomuser/UserRow.js"
import * as FakeUsers from "../../layers/FakeUsers.js"
import * as RandomUser from "../../layers/RandomUser.js"
import * as PostgresSink from "../../layers/PostgresSink.js"
import type * as MemorySink from "../../layers/MemorySink.js"
import * as TestDriver from "../../layers/TestDriver.js"
import { type Batch, Broker, type BrokerService, type ConsumedRecord, type ProducerRecord } from "../../src/Broker.js"
import * as DeadLetterRecord from "../../src/DeadLetter.js"
import * as Pipeline from "../../src/Pipeline.js"
import * as RowSink from "../../src/RowSink.js"
import { SinkError } from "../../src/RowSink.js"
import * as Topic from "../../src/Topic.js"

const decodeUser = Schema.decodeUnknownSync(RandomUser.User)
const encodeUser = Topic.encoder(RandomUserPipeline.users)

/** The reference pipeline's input and dead-letter topics. */
export const raw = RandomUserPipeline.users.name
export const dlq = RandomUserPipeline.users.deadLetter

/** `topic:partition:offset`: how a record is named across deliveries and the DLQ. */
export const coordinateOf = (r: { readonly topic: string; readonly partition: number; readonly offset: string }) =>
  `${r.topic}:${r.partition}:${r.offset}`

/** What the traced broker saw: deliveries per record, and records handed out but not committed. */
export interface BrokerTrace {
  /** How many times each record (by coordinate) was handed to a consumer. */
  readonly deliveries: Effect.Effect<ReadonlyMap<string, number>>
  /** Records handed out by the broker and not yet committed: what the pipeline retains. */
  readonly inFlight: Ref.Ref<number>
  /** The highest `inFlight` ever reached. */
  readonly maxInFlight: Ref.Ref<number>
  /** Commits the pipeline made (batches), in order. */
  readonly commits: Ref.Ref<number>
  /** Batches handed out per consumer (one entry per `consume` call, in join order). */
  readonly batchesByConsumer: Ref.Ref<ReadonlyArray<number>>
}

/**
 * Wraps a broker so every batch it hands out is counted until its commit. A batch never
 * committed (its consumer crashed) stops counting when its consumer's stream ends, since
 * the broker takes it back then and will redeliver it.
 */
export const traced = (broker: BrokerService) =>
  Effect.gen(function*() {
    // Mutated in place (copying it a batch made the 20,000-record runs quadratic).
    const deliveries = new Map<string, number>()
    const trace: BrokerTrace = {
      deliveries: Effect.sync(() => new Map(deliveries)),
      inFlight: yield* Ref.make(0),
      maxInFlight: yield* Ref.make(0),
      commits: yield* Ref.make(0),
      batchesByConsumer: yield* Ref.make<ReadonlyArray<number>>([])
    }
    const consume: BrokerService["consume"] = (options) =>
      Stream.unwrapScoped(Effect.gen(function*() {
        // Records this consumer holds; released when it commits them or leaves.
        const held = yield* Ref.make(0)
        const consumer = yield* Ref.modify(trace.batchesByConsumer, (a) => [a.length, [...a, 0]] as const)
        yield* Effect.addFinalizer(() =>
          Effect.flatMap(Ref.getAndSet(held, 0), (n) => Ref.update(trace.inFlight, (k) => k - n)))
        const handOut = (batch: Batch) =>
          Effect.gen(function*() {
            const n = batch.records.length
            yield* Ref.update(held, (k) => k + n)
            yield* Ref.update(trace.batchesByConsumer, (a) => a.map((k, i) => (i === consumer ? k + 1 : k)))
            const now = yield* Ref.updateAndGet(trace.inFlight, (k) => k + n)
            yield* Ref.update(trace.maxInFlight, (m) => Math.max(m, now))
            yield* Effect.sync(() => {
              for (const r of batch.records) deliveries.set(coordinateOf(r), (deliveries.get(coordinateOf(r)) ?? 0) + 1)
            })
            const committed = Effect.all([
              Ref.update(held, (k) => k - n),
              Ref.update(trace.inFlight, (k) => k - n),
              Ref.update(trace.commits, (k) => k + 1)
            ], { discard: true })
            const commit = Effect.tap(batch.commit, () => committed)
            // A batch with dead letters commits through `commitWith` (one transaction).
            const commitWith: Batch["commitWith"] = (topic, records) => Effect.tap(batch.commitWith(topic, records), () => committed)
            return { ...batch, commit, commitWith }
          })
        return Stream.mapEffect(broker.consume(options), handOut)
      }))
    return { broker: { ...broker, consume } satisfies BrokerService, trace }
  })

/** Records delivered more than once (redeliveries), summed over records. */
export const redeliveries = (trace: BrokerTrace) =>
  Effect.map(trace.deliveries, (m) => Array.from(m.values()).reduce((n, k) => n + Math.max(0, k - 1), 0))

/** A hook run after a successful write, before `write` returns. */
export type AfterWrite<A = UserRow> = ((rows: ReadonlyArray<A>) => Effect.Effect<void>) | undefined

/** One write attempt as the instrumented sink saw it. */
export interface Attempt {
  readonly ok: boolean
  readonly rows: number
  /** Virtual time the attempt ended at. */
  readonly at: number
}

/** Knobs of `instrumented`; every one can be changed while the pipeline runs. */
export interface SinkControls<A = UserRow> {
  /** Rows with these keys are refused (`Rejected`), and so is every batch containing one. */
  readonly poison: Ref.Ref<ReadonlySet<string>>
  /** Virtual time every write takes (through Clock, so TestClock drives it). */
  readonly delay: Ref.Ref<number>
  /** Runs after a write stored its rows and before `write` returns: the crash point. */
  readonly afterWrite: Ref.Ref<AfterWrite<A>>
  /** Rows inside `write` right now, and the most ever. */
  readonly active: Ref.Ref<number>
  readonly maxActive: Ref.Ref<number>
  /** Every write attempt's outcome, in order. */
  readonly attempts: Ref.Ref<ReadonlyArray<Attempt>>
}

/** Wraps a sink with the controls above; the wrapped sink keeps its name and key. */
export const instrumented = <A>(inner: RowSink.ReadableSink<A>) =>
  Effect.gen(function*() {
    const controls: SinkControls<A> = {
      poison: yield* Ref.make<ReadonlySet<string>>(new Set()),
      delay: yield* Ref.make(0),
      afterWrite: yield* Ref.make<AfterWrite<A>>(undefined),
      active: yield* Ref.make(0),
      maxActive: yield* Ref.make(0),
      attempts: yield* Ref.make<ReadonlyArray<Attempt>>([])
    }
    const body = (rows: ReadonlyArray<A>) =>
      Effect.gen(function*() {
        const delay = yield* Ref.get(controls.delay)
        if (delay > 0) yield* Effect.sleep(delay)
        const poison = yield* Ref.get(controls.poison)
        const bad = rows.find((r) => poison.has(inner.key(r)))
        if (bad !== undefined) {
          // As a constraint violation: the whole statement fails, nothing is stored.
          return yield* new SinkError({ sink: inner.name, reason: "Rejected", message: `poison row ${inner.key(bad)}` })
        }
        yield* inner.write(rows)
        const hook = yield* Ref.get(controls.afterWrite)
        if (hook !== undefined) yield* hook(rows)
      })
    const write = (rows: ReadonlyArray<A>) =>
      Effect.acquireUseRelease(
        Effect.flatMap(Ref.updateAndGet(controls.active, (k) => k + rows.length), (now) =>
          Ref.update(controls.maxActive, (m) => Math.max(m, now))),
        () =>
          body(rows).pipe(Effect.exit, Effect.flatMap((exit) =>
            Effect.zipRight(
              Effect.flatMap(Clock.currentTimeMillis, (at) =>
                Ref.update(controls.attempts, (a) => [...a, { ok: exit._tag === "Success", rows: rows.length, at }])),
              exit
            ))),
        () => Ref.update(controls.active, (k) => k - rows.length)
      )
    const sink: RowSink.ReadableSink<A> = { name: inner.name, key: inner.key, scan: inner.scan, write }
    return { sink, controls }
  })

/**
 * Advances the TestClock in `step`s until `fiber` ends and returns its exit. Fails (a
 * test failure, not a 30 s timeout) when it is still running after `maxSteps`: a hang.
 */
export const drive = <A, E>(
  fiber: Fiber.Fiber<A, E>,
  options: { readonly step?: Duration.DurationInput; readonly maxSteps?: number } = {}
) =>
  Effect.gen(function*() {
    const maxSteps = options.maxSteps ?? 5_000
    for (let i = 0; i < maxSteps; i++) {
      const done: Option.Option<unknown> = yield* Fiber.poll(fiber)
      if (done._tag === "Some") return yield* Fiber.join(fiber)
      yield* TestClock.adjust(options.step ?? "100 millis")
    }
    const now = yield* Clock.currentTimeMillis
    return yield* Effect.dieMessage(`still running after ${maxSteps} clock steps (virtual time ${now} ms): hung`)
  })

let inspections = 0

/**
 * Every record of a topic, read straight from the broker by a throw-away group. Each
 * batch is committed: both brokers hold a partition's next batch until the last commits.
 */
export const readTopic = (broker: BrokerService, topic: string) =>
  Effect.gen(function*() {
    const partitions = yield* broker.describeTopic(topic)
    const total = partitions.reduce((n, p) => n + Number(p.high), 0)
    if (total === 0) return [] as ReadonlyArray<ConsumedRecord>
    return yield* broker.consume({ topic, groupId: `inspect-${++inspections}` }).pipe(
      Stream.mapEffect((b) => Effect.as(b.commit, b.records)),
      Stream.flattenIterables,
      Stream.take(total),
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray)
    )
  })

/** A dead letter as the pipeline writes it. */
export type DeadLetter = DeadLetterRecord.DeadLetter

/** Parses a dead-letter record; a record that is not a dead letter fails the test. */
export const parseDeadLetter = (r: ConsumedRecord): DeadLetter => {
  const letter = DeadLetterRecord.parse(r.value)
  if (letter === undefined) throw new Error(`${coordinateOf(r)} is not a dead letter: ${r.value}`)
  return letter
}

/** The raw-topic record of user `n` of `seed`, with its phone replaced to mark a version. */
export const userRecord = (seed: string, n: number, phone?: string): ProducerRecord => {
  const json = FakeUsers.generateUser({ seed, n })
  const user = decodeUser(phone === undefined ? json : { ...json, phone })
  return encodeUser(user, { "pandaflow-source": `test seed=${seed}` })
}

/** The row the pipeline must store for a raw record made by `userRecord`. */
export const rowOf = (record: ProducerRecord): UserRow => fromUser(decodeUser(JSON.parse(record.value)))

/** Sorted by id, as sinks scan. */
export const byId = (rows: ReadonlyArray<UserRow>) => [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))

/** Options of `onDoubles`: the driver's, and what the pipeline's one sink is. */
export interface DoublesOptions extends TestDriver.Options {
  /**
   * The sink to instrument, given the memory double of the pipeline's Postgres table.
   * Default: that double itself.
   */
  readonly inner?: ((memory: MemorySink.MemorySink<UserRow>) => RowSink.ReadableSink<UserRow>) | undefined
}

/**
 * The reference pipeline on `TestDriver`'s doubles (its broker, its topics created with
 * `partitions`, the memory double of its Postgres table), with two instruments wired in:
 * the pipeline's jobs see the broker through `traced`, and write to one sink, the double
 * (or `inner`) wrapped by `instrumented`, in place of its Postgres and Cassandra sinks.
 * `plain` is the driver's broker: inspections through it do not count as deliveries.
 */
export const onDoubles = (options: DoublesOptions = {}) =>
  Effect.gen(function*() {
    const driver = yield* TestDriver.make(RandomUserPipeline.make(), options)
    // The reference pipeline's Postgres table, typed: its memory double holds UserRows.
    const memory = yield* driver.sink(PostgresSink.table({ name: "users", schema: UserRow, key: "id" }))
    const { controls, sink } = yield* instrumented(options.inner === undefined ? memory : options.inner(memory))
    const { broker, trace } = yield* traced(driver.broker)
    const pipeline = Pipeline.withSinks(driver.pipeline, [RowSink.make(sink)])
    return { driver, memory, sink, controls, plain: driver.broker, broker, trace, pipeline, layer: Layer.succeed(Broker, broker) }
  })
