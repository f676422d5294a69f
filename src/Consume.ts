/**
 * The consume job of a pipeline: reads its topic in a consumer group and hands every
 * batch to the delivery machinery (`Delivery`): decode, transform, every sink, dead
 * letters, then the commit. Restarts its consumer after a broker failure; `drain` stops
 * once the group committed everything. `Pipeline` re-exports it.
 *
 * @since 0.3.0
 */
import { type Duration, Effect, Schedule, Stream } from "effect"
import { type Batch, Broker, type BrokerError, lag } from "./Broker.js"
import * as Delivery from "./Delivery.js"
import type { Pipeline } from "./Pipeline.js"
import type * as Progress from "./Progress.js"
import * as RowSink from "./RowSink.js"

/** Options of the consume job. */
export interface ConsumeOptions {
  /** The consumer group (default: the pipeline's `group`). */
  readonly groupId?: string | undefined
  /** Reads this topic instead of the pipeline's (tests give each run its own). */
  readonly topic?: string | undefined
  /** Dead-letters to this topic instead of the pipeline's. */
  readonly deadLetterTopic?: string | undefined
  /**
   * Batches written at once (default 3), and as many commits awaited beside them. Safe for
   * per-key order: both brokers hand out one batch a partition at a time (the next once
   * the previous one is committed), and a key lives on one partition.
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
    // Two stages: the writes (decode, transform, every sink), then the commits. A write slot
    // is not held while a commit's acknowledgement is awaited, so when the broker hands out
    // more batches than `concurrency` (more partitions than slots, `concurrency: 1`) another
    // partition's batch is written meanwhile; with kafkajs's default three partitions a
    // fetch and three slots, no batch waits either way. Both stages are unordered: a
    // partition has one batch in the job at a time (the broker's guarantee), so only batches
    // of different partitions ever overtake one another.
    const write = (batch: Batch) => Delivery.writeBatch(batch, pipeline.handle, target)
    const commits = Stream.flattenEffect({ concurrency, unordered: true })
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
