/**
 * A pipeline is a value: a topic, an optional source that feeds it, a typed transform and
 * the sinks every batch is written to before its commit. It runs only when given its
 * Layers, so the same value runs under `pandaflow run`, inside a host's Effect program
 * and in the test driver (`pandaflow/testing`).
 *
 *   ingest:  Source ──(keyed by the topic's key)──▶ topic               (Ingest.ts)
 *   consume: topic ──decode──▶ transform ──▶ every sink ──▶ commit      (Delivery.ts)
 *                      └─ bad record, failed transform, refused row ──▶ dead-letter topic
 *
 * @since 0.2.0
 */
import { Data, type Duration, Effect, Either, Predicate, Schedule, type Schema, type Scope, Stream } from "effect"
import { type Batch, Broker, type BrokerError, type ConsumedRecord, lag, type ProducerRecord } from "./Broker.js"
import * as Delivery from "./Delivery.js"
import type * as Progress from "./Progress.js"
import * as RowSink from "./RowSink.js"
import type * as Source from "./Source.js"
import * as Topic from "./Topic.js"

/** Marks pipeline values, so `pandaflow run` can tell a pipeline from other exports. */
export const TypeId: unique symbol = Symbol.for("pandaflow/Pipeline")

/**
 * A pipeline from values `W` on its topic to rows `B` in its sinks. The other parameters
 * say what its parts need: the source's errors and services (`ESource`, `RSource`, for the
 * ingest job), the transform's services (`RTransform`; its failures are dead letters, not
 * errors) and the sinks' set-up errors and services (`ESink`, `RSink`), so swapping the
 * sinks (`withSinks`, the test driver) swaps what the consume job needs.
 */
export interface Pipeline<
  in out W,
  in out B,
  out ESource = never,
  out RSource = never,
  out RTransform = never,
  out ESink = never,
  out RSink = never
> {
  readonly [TypeId]: typeof TypeId
  readonly name: string
  /** The consumer group the consume job joins unless told otherwise (default `<name>-process`). */
  readonly group: string
  /** The input topic: name, partitions, dead-letter companion. */
  readonly topic: { readonly name: string; readonly partitions: number; readonly deadLetter: string }
  /** How a value becomes a record of the topic. */
  readonly encode: (value: W, headers?: Readonly<Record<string, string>>) => ProducerRecord
  readonly source: Source.Source<W, ESource, RSource> | undefined
  /** Decode and transform of one record (see `Delivery.Handled`). */
  readonly handle: (record: ConsumedRecord) => Delivery.Handled<B, unknown, RTransform>
  readonly sinks: ReadonlyArray<RowSink.Definition<B, ESink, RSink>>
}

/**
 * The rows every sink of a list accepts: the intersection of their row types (a row with
 * the columns of every table). It is what the transform must produce.
 */
export type RowsOf<Sinks extends ReadonlyArray<unknown>> = Sinks extends readonly [] ? unknown
  : (Sinks[number] extends infer D ? D extends RowSink.Definition<infer A, infer _E, infer _R> ? (row: A) => void : never : never) extends
    (row: infer I) => void ? I
  : never

/** Errors of a sink definition. */
type SinkErrorOf<D> = D extends RowSink.Definition<infer _A, infer E, infer _R> ? E : never
/** Services a sink definition needs. */
type SinkContextOf<D> = D extends RowSink.Definition<infer _A, infer _E, infer R> ? Exclude<R, Scope.Scope> : never

/** What `make` takes. */
export interface Options<W, WI, A, AI, ET, RT, EIn, RIn, Sinks extends ReadonlyArray<unknown>> {
  /** Names the pipeline in logs, progress lines and the scheduler. */
  readonly name: string
  /** The consume job's consumer group (default `<name>-process`): two pipelines never share one by accident. */
  readonly group?: string | undefined
  readonly input: Topic.Topic<W, WI>
  /** Reads the topic with this schema instead of the topic's (the fields the transform needs). */
  readonly reader?: Schema.Schema<A, AI> | undefined
  /** Where the ingest job reads values from; a pipeline may consume a topic others feed. */
  readonly source?: Source.Source<W, EIn, RIn> | undefined
  /**
   * Rows for one value: none (a filter), one, or several (fan-out); an Effect for work that
   * needs services. A failure or a throw dead-letters the record with its message.
   */
  readonly transform: (
    value: A,
    record: ConsumedRecord
  ) => ReadonlyArray<RowsOf<Sinks>> | Effect.Effect<ReadonlyArray<RowsOf<Sinks>>, ET, RT>
  /** Every sink a batch is written to before its commit; the transform's rows must suit each. */
  readonly sinks: Sinks
}

/** A pipeline definition that cannot run; the message names the pipeline and the problem. */
export class InvalidPipeline extends Data.TaggedError("InvalidPipeline")<{ readonly message: string }> {}

/**
 * Defines a pipeline. Nothing runs until one of its jobs is given its Layers. Throws
 * `InvalidPipeline` when two sinks share a name (progress, dead-letter reasons and the
 * test driver tell sinks apart by name: give one a `sinkName`).
 */
export const make = <
  W,
  WI,
  const Sinks extends ReadonlyArray<RowSink.Definition<never, unknown, unknown>>,
  A = W,
  AI = WI,
  ET = never,
  RT = never,
  EIn = never,
  RIn = never
>(
  options: Options<W, WI, A, AI, ET, RT, EIn, RIn, Sinks>
): Pipeline<W, RowsOf<Sinks>, EIn, RIn, RT, SinkErrorOf<Sinks[number]>, SinkContextOf<Sinks[number]>> => {
  type B = RowsOf<Sinks>
  const names = (options.sinks as ReadonlyArray<{ readonly name: string }>).map((d) => d.name)
  const twice = names.find((n, i) => names.indexOf(n) !== i)
  if (twice !== undefined) {
    throw new InvalidPipeline({ message: `pipeline ${options.name}: two sinks are named ${twice}; give one a sinkName` })
  }
  const decode = Topic.decoder((options.reader ?? options.input.schema) as Schema.Schema<A, unknown>)
  const transform = options.transform
  const handle = (record: ConsumedRecord): Delivery.Handled<B, ET, RT> => {
    const value = decode(record)
    return Either.isLeft(value) ? new Delivery.Refusal({ stage: "decode", message: value.left }) : transform(value.right, record)
  }
  return {
    [TypeId]: TypeId,
    name: options.name,
    group: options.group ?? `${options.name}-process`,
    topic: { name: options.input.name, partitions: options.input.partitions, deadLetter: options.input.deadLetter },
    encode: Topic.encoder(options.input),
    source: options.source,
    handle,
    sinks: options.sinks as unknown as ReadonlyArray<RowSink.Definition<B, SinkErrorOf<Sinks[number]>, SinkContextOf<Sinks[number]>>>
  }
}

/** The same pipeline writing to other sinks: test doubles, or an embedding program's own. */
export const withSinks = <W, B, ESource, RSource, RTransform, ESink, RSink, E2 = never, R2 = never>(
  pipeline: Pipeline<W, B, ESource, RSource, RTransform, ESink, RSink>,
  sinks: ReadonlyArray<RowSink.Definition<B, E2, R2>>
): Pipeline<W, B, ESource, RSource, RTransform, E2, Exclude<R2, Scope.Scope>> => ({
  ...pipeline,
  sinks: sinks as ReadonlyArray<RowSink.Definition<B, E2, Exclude<R2, Scope.Scope>>>
})

/** A pipeline of unknown types: what `pandaflow run` loads from a user's module. */
export type Any = Pipeline<unknown, unknown, unknown, unknown, unknown, unknown, unknown>

/** Whether a value (a module's export) is a pipeline. */
export const isPipeline = (u: unknown): u is Any => Predicate.hasProperty(u, TypeId)

/** Options of `setup`. */
export interface SetupOptions {
  /** Partitions of the topics (default: the topic's). */
  readonly partitions?: number | undefined
  /** Creates these instead of the pipeline's topics (tests give each run its own). */
  readonly topic?: string | undefined
  readonly deadLetterTopic?: string | undefined
}

/** Creates the input and dead-letter topics if they are missing. */
export const setup = (
  pipeline: { readonly topic: Pipeline<never, never>["topic"] },
  options: SetupOptions = {}
): Effect.Effect<void, BrokerError, Broker> =>
  Effect.flatMap(Broker, (broker) => {
    const partitions = options.partitions ?? pipeline.topic.partitions
    return Effect.all([
      broker.createTopic({ name: options.topic ?? pipeline.topic.name, partitions }),
      broker.createTopic({ name: options.deadLetterTopic ?? pipeline.topic.deadLetter, partitions })
    ], { discard: true })
  })

// The ingest job (source → topic, every record accounted for) is its own module.
export { ingest, type IngestOptions, type IngestSummary } from "./Ingest.js"

/** Options of the consume job. */
export interface ConsumeOptions {
  /** The consumer group (default: the pipeline's `group`). */
  readonly groupId?: string | undefined
  /** Reads this topic instead of the pipeline's (tests give each run its own). */
  readonly topic?: string | undefined
  readonly deadLetterTopic?: string | undefined
  /**
   * Batches written at once (default 3), and as many commits awaited beside them. Safe for
   * per-key order: both brokers hand out one batch a partition at a time (the next once
   * the previous one's commit started), and a key lives on one partition.
   */
  readonly concurrency?: number | undefined
  /** How the job restarts its consumer after a broker failure; see `defaultBrokerRetry`. */
  readonly brokerRetry?: Schedule.Schedule<unknown> | undefined
  /** What to do with bad records and failing sinks; see `Delivery.defaultErrorPolicy`. */
  readonly errorPolicy?: Delivery.ErrorPolicy | undefined
  /**
   * Records being processed at once, over all batches (default: no bound beyond the
   * broker's one batch a partition and `concurrency`). A batch waits, uncommitted and
   * unprocessed, until its records fit and holds them until its commit; so a slow sink
   * slows the consumer instead of growing memory. A batch larger than the bound is
   * admitted alone.
   */
  readonly maxInFlightRecords?: number | undefined
}

/**
 * A broker failure (a broker restart, a lost group session, a refused commit) ends the
 * consumer. A fresh one resumes from the committed offsets and sinks upsert, so starting
 * over loses nothing: by default the job does so with backoff for up to three minutes.
 */
export const defaultBrokerRetry: Schedule.Schedule<unknown> = Schedule.exponential("500 millis").pipe(
  Schedule.either(Schedule.spaced("5 seconds")),
  Schedule.upTo("3 minutes")
)

/** Every error the consume job can end with, besides the sinks' own. */
export type ConsumeError = BrokerError | RowSink.SinkError | Delivery.PoisonRecordError

/**
 * Consume job: builds the sinks (creating their tables), then processes batches until
 * interrupted or an error its policies do not absorb.
 */
export const consume = <W, B, ESource, RSource, RTransform, ESink, RSink>(
  pipeline: Pipeline<W, B, ESource, RSource, RTransform, ESink, RSink>,
  options: ConsumeOptions,
  progress?: Progress.Progress
): Effect.Effect<void, ConsumeError | ESink, Broker | RTransform | RSink> =>
  Effect.scoped(Effect.gen(function*() {
    const built = yield* Effect.forEach(pipeline.sinks, (d) => d.build)
    for (const s of built) if (RowSink.isOff(s)) yield* Effect.logInfo(`sink ${s.name} is off: ${s.reason}`)
    const target: Delivery.Target<B> = {
      sinks: built.filter((s): s is RowSink.RowSink<B> => !RowSink.isOff(s)),
      deadLetterTopic: options.deadLetterTopic ?? pipeline.topic.deadLetter,
      policy: options.errorPolicy ?? Delivery.defaultErrorPolicy,
      progress
    }
    const checkBudget = Delivery.budgetCheck(pipeline.name, target.policy)
    return yield* consumeOnce(pipeline, options, target, checkBudget).pipe(
      Effect.retry({
        schedule: options.brokerRetry ?? defaultBrokerRetry,
        while: (e) => typeof e === "object" && e !== null && "_tag" in e && e._tag === "BrokerError"
      }),
      Effect.tapError((e) =>
        typeof e === "object" && e !== null && "_tag" in e && e._tag === "BrokerError"
          ? Effect.logWarning(`${pipeline.name}: giving up on the broker: ${(e as BrokerError).message}`)
          : Effect.void
      )
    )
  }))

const consumeOnce = <W, B, ESource, RSource, RTransform, ESink, RSink>(
  pipeline: Pipeline<W, B, ESource, RSource, RTransform, ESink, RSink>,
  options: ConsumeOptions,
  target: Delivery.Target<B>,
  checkBudget: (batch: Batch) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const batches = broker.consume({ topic: options.topic ?? pipeline.topic.name, groupId: options.groupId ?? pipeline.group }).pipe(
      Stream.tap(checkBudget)
    )
    const concurrency = options.concurrency ?? 3
    const limit = options.maxInFlightRecords
    // Two stages: the writes (decode, transform, every sink), then the commits. A batch's
    // commit is acknowledged ≥ 5 ms after it is sent (Kafka 4's group coordinator lingers);
    // a write slot held that long kept the partition's next batch, already fetched, waiting
    // (a third of a record's latency at 5,000 records/s). Both stages are unordered: a
    // partition has one batch in the job at a time until its commit started (the broker's
    // guarantee), so only batches of different partitions ever overtake one another.
    const write = (batch: Batch) => Delivery.writeBatch(batch, pipeline.handle, target)
    const commits = <E1, R1, E2, R2>(written: Stream.Stream<Effect.Effect<void, E2, R2>, E1, R1>) =>
      Stream.mapEffect(written, (commit) => commit, { concurrency, unordered: true })
    if (limit === undefined) {
      return yield* batches.pipe(Stream.mapEffect(write, { concurrency, unordered: true }), commits, Stream.runDrain)
    }
    if (!Number.isInteger(limit) || limit < 1) {
      return yield* Effect.dieMessage(`ConsumeOptions.maxInFlightRecords must be a positive integer, got ${limit}`)
    }
    // Permits are records. They are taken one batch at a time, in order, before the
    // batch may start (so the sequential stage stops pulling from the broker while the
    // bound is full), and given back once the batch is committed.
    const permits = yield* Effect.makeSemaphore(limit)
    return yield* batches.pipe(
      Stream.mapEffect((batch) => {
        const n = Math.min(batch.records.length, limit)
        return Effect.as(permits.take(n), [batch, n] as const)
      }),
      Stream.mapEffect(([batch, n]) =>
        write(batch).pipe(
          Effect.onError(() => permits.release(n)),
          Effect.map((commit) => Effect.ensuring(commit, permits.release(n)))
        ), { concurrency, unordered: true }),
      commits,
      Stream.runDrain
    )
  })

/**
 * Consume job that stops once the group has committed everything on the topic: the
 * `--once` mode and the end-to-end tests. Lag is polled through Clock, so it also runs
 * under TestClock. Each poll costs three admin requests: polling every 50 ms cost the
 * benchmark a third of its throughput on two cores, hence 500 ms by default.
 */
export const drain = <W, B, ESource, RSource, RTransform, ESink, RSink>(
  pipeline: Pipeline<W, B, ESource, RSource, RTransform, ESink, RSink>,
  options: DrainOptions,
  progress?: Progress.Progress
): Effect.Effect<void, ConsumeError | ESink, Broker | RTransform | RSink> => drainAfter(pipeline, options, Effect.void, progress)

/** What `drain` and `drainAfter` take: the consume options, and how often lag is polled. */
export type DrainOptions = ConsumeOptions & { readonly pollEvery?: Duration.DurationInput | undefined }

/**
 * `drain`, with `first` running beside the consume job from the start (the `--once`
 * ingest, say): lag is polled once `first` ended, and its result is returned.
 */
export const drainAfter = <W, B, ESource, RSource, RTransform, ESink, RSink, A, E, R>(
  pipeline: Pipeline<W, B, ESource, RSource, RTransform, ESink, RSink>,
  options: DrainOptions,
  first: Effect.Effect<A, E, R>,
  progress?: Progress.Progress
): Effect.Effect<A, ConsumeError | ESink | E, Broker | RTransform | RSink | R> => {
  const drained = lag(options.topic ?? pipeline.topic.name, options.groupId ?? pipeline.group).pipe(
    // A broker that moves the group's coordinator answers one poll with a retriable
    // error; the consume job rides it out, so must the poll.
    Effect.retry({ schedule: defaultBrokerRetry }),
    Effect.repeat({ schedule: Schedule.spaced(options.pollEvery ?? "500 millis"), until: (n) => n === 0 })
  )
  return Effect.raceFirst(Effect.zipRight(consume(pipeline, options, progress), Effect.never), Effect.zipLeft(first, drained))
}
