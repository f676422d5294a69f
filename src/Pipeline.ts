/**
 * The reference pipeline on one page.
 *
 *   ingest:  UserSource ──(keyed by login.uuid)──▶ users.raw.v1
 *   process: users.raw.v1 ──decode/clean/derive──▶ every UserSink ──▶ commit
 *                               └─ bad record ──▶ users.dlq.v1 (with the reason)
 *
 * Offsets are committed only after every sink wrote the batch and every dead letter was
 * acknowledged, and sinks upsert by key: a crash replays at most the uncommitted batch and
 * leaves no duplicate (at-least-once delivery, effectively-once results).
 *
 * @since 0.1.0
 */
import { Data, type Duration, Effect, Either, Schedule, Stream } from "effect"
import { type Batch, Broker, type BrokerError, type ConsumedRecord, lag, type ProducerRecord } from "./Broker.js"
import * as Progress from "./Progress.js"
import { type RowSink, type SinkError, UserSinks } from "./Sink.js"
import * as UserRecord from "./UserRecord.js"
import type { UserRow } from "./UserRow.js"
import * as UserSource from "./UserSource.js"

/** Options of the ingest job. */
export interface IngestOptions {
  readonly total: number
  readonly seed: string
  readonly pageSize?: number | undefined
  readonly topic?: string | undefined
  /** Records a produce request; bigger is faster until the broker's request limit. */
  readonly chunkSize?: number | undefined
}

/** Options of the process job. */
export interface ProcessOptions {
  readonly groupId: string
  readonly topic?: string | undefined
  readonly deadLetterTopic?: string | undefined
  /**
   * Batches processed at once (default 3). Safe for per-key order: both brokers hand out
   * one batch a partition at a time, and a key lives on one partition.
   */
  readonly concurrency?: number | undefined
  /** How the job restarts its consumer after a broker failure; see `defaultBrokerRetry`. */
  readonly brokerRetry?: Schedule.Schedule<unknown> | undefined
  /** What to do with bad records and failing sinks; see `defaultErrorPolicy`. */
  readonly errorPolicy?: ErrorPolicy | undefined
  /**
   * Records being processed at once, over all batches (default: no bound beyond the
   * broker's one batch a partition and `concurrency`). A batch waits, uncommitted and
   * unprocessed, until its records fit and holds them until its commit; so a slow sink
   * slows the consumer instead of growing memory. Records fetched but not yet admitted
   * are at most one batch more. A batch larger than the bound is admitted alone.
   */
  readonly maxInFlightRecords?: number | undefined
}

/** Creates the raw and dead-letter topics if they are missing. */
export const setup = (options: { readonly partitions: number }) =>
  Effect.flatMap(Broker, (broker) =>
    Effect.all([
      broker.createTopic({ name: UserRecord.Topics.raw, partitions: options.partitions }),
      broker.createTopic({ name: UserRecord.Topics.deadLetter, partitions: options.partitions })
    ], { discard: true }))

/** Ingest job: reads `total` users of `seed` from the source into the raw topic. */
export const ingest = (options: IngestOptions, progress?: Progress.Progress) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const topic = options.topic ?? UserRecord.Topics.raw
    const source = `randomuser seed=${options.seed}`
    return yield* UserSource.stream(options).pipe(
      Stream.map((user) => UserRecord.toProducerRecord(user, source)),
      Stream.grouped(options.chunkSize ?? 1000),
      Stream.mapEffect((chunk) =>
        Effect.zipRight(
          broker.produce(topic, Array.from(chunk)),
          progress ? progress.addIngested(chunk.length) : Effect.void
        ).pipe(Effect.as(chunk.length))),
      Stream.runFold(0, (n, k) => n + k)
    )
  })

/**
 * What the process job does with each kind of failure. The defaults keep the stream
 * moving without losing anything: bad records are dead-lettered, outages are waited out.
 */
export interface ErrorPolicy {
  /** Retries a sink that is `Unavailable`; nothing is committed meanwhile. */
  readonly retryUnavailable: Schedule.Schedule<unknown, SinkError>
  /** A record that fails its schema: dead-letter it (default) or stop the job. */
  readonly onInvalid: "dead-letter" | "fail"
  /**
   * A sink `Rejected` a batch: find the rows it refuses by bisection and dead-letter just
   * those, writing the rest (default), or stop the job.
   */
  readonly onRejected: "dead-letter" | "fail"
}

/** Jittered exponential backoff from 200 ms (at most 5 s apart) for two minutes, for `Unavailable` only. */
export const defaultErrorPolicy: ErrorPolicy = {
  retryUnavailable: Schedule.exponential("200 millis").pipe(
    Schedule.jittered,
    Schedule.either(Schedule.spaced("5 seconds")),
    Schedule.upTo("120 seconds"),
    Schedule.whileInput((e: SinkError) => e.reason === "Unavailable")
  ),
  onInvalid: "dead-letter",
  onRejected: "dead-letter"
}

/** A record the policy says must stop the job (`onInvalid` or `onRejected` = "fail"). */
export class PoisonRecordError extends Data.TaggedError("PoisonRecordError")<{
  readonly message: string
  readonly topic: string
  readonly partition: number
  readonly offset: string
}> {}

interface Decoded {
  readonly row: UserRow
  readonly record: ConsumedRecord
}

/** Keeps the last row a key (the latest offset wins), so one upsert never sees a key twice. */
const lastPerKey = (rows: ReadonlyArray<Decoded>): ReadonlyArray<Decoded> => {
  const byId = new Map<string, Decoded>()
  for (const d of rows) byId.set(d.row.id, d)
  return byId.size === rows.length ? rows : Array.from(byId.values())
}

/** A row one sink refused for good, with the error and how many writes it took part in. */
interface Refused {
  readonly decoded: Decoded
  readonly error: SinkError
  readonly attempts: number
}

/**
 * Writes rows to a sink, waiting out outages. A `Rejected` batch is split in halves until
 * the refused rows are alone, so one poison row costs about log2(batch) extra writes and
 * the rest of its batch still lands.
 */
const writeIsolating = (
  sink: RowSink<UserRow>,
  rows: ReadonlyArray<Decoded>,
  policy: ErrorPolicy,
  depth = 1
): Effect.Effect<ReadonlyArray<Refused>, SinkError> =>
  rows.length === 0 ? Effect.succeed([]) : sink.write(rows.map((d) => d.row)).pipe(
    Effect.retry(policy.retryUnavailable),
    Effect.as<ReadonlyArray<Refused>>([]),
    Effect.catchIf(
      (e) => e.reason === "Rejected" && policy.onRejected === "dead-letter",
      (error) =>
        rows.length === 1
          ? Effect.succeed([{ decoded: rows[0]!, error, attempts: depth }])
          : Effect.zipWith(
            writeIsolating(sink, rows.slice(0, rows.length >> 1), policy, depth + 1),
            writeIsolating(sink, rows.slice(rows.length >> 1), policy, depth + 1),
            (a, b) => [...a, ...b]
          )
    )
  )

/** Handles one batch: decode, write to every sink and the dead-letter topic, then commit. */
export const processBatch = (batch: Batch, options: ProcessOptions, progress?: Progress.Progress) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const sinks = yield* UserSinks
    const policy = options.errorPolicy ?? defaultErrorPolicy
    const decoded: Array<Decoded> = []
    const dead: Array<ProducerRecord> = []
    for (const record of batch.records) {
      const result = UserRecord.decode(record)
      if (Either.isRight(result)) decoded.push({ row: result.right, record })
      else if (policy.onInvalid === "dead-letter") dead.push(UserRecord.toDeadLetter(result.left))
      else return yield* new PoisonRecordError({ message: result.left.message, ...coordinates(record) })
    }
    const unique = lastPerKey(decoded)
    const refused = yield* Effect.forEach(sinks, (sink) =>
      writeIsolating(sink, unique, policy).pipe(
        Effect.tap((r) => progress ? progress.addWritten(sink.name, unique.length - r.length) : Effect.void)
      ), { concurrency: "unbounded" })
    // A row refused by any sink is dead-lettered once, with every sink's reason.
    const byRecord = new Map<ConsumedRecord, Array<Refused>>()
    for (const r of refused.flat()) byRecord.set(r.decoded.record, [...(byRecord.get(r.decoded.record) ?? []), r])
    for (const [record, reasons] of byRecord) {
      const message = reasons.map((r) => `sink ${r.error.sink} rejected the row: ${r.error.message}`).join("; ")
      const attempts = Math.max(...reasons.map((r) => r.attempts))
      dead.push(UserRecord.toDeadLetter(new UserRecord.DecodeFailure({ record, message }), attempts))
    }
    if (dead.length > 0) yield* broker.produce(options.deadLetterTopic ?? UserRecord.Topics.deadLetter, dead)
    yield* batch.commit
    if (progress) yield* progress.addProcessed(batch.records.length, dead.length)
  })

const coordinates = (r: ConsumedRecord) => ({ topic: r.topic, partition: r.partition, offset: r.offset })

/**
 * A broker failure (a broker restart, a lost group session, a refused commit) ends the
 * consumer. A fresh one resumes from the committed offsets and sinks upsert, so starting
 * over loses nothing: by default the job does so with backoff for up to three minutes.
 */
export const defaultBrokerRetry: Schedule.Schedule<unknown> = Schedule.exponential("500 millis").pipe(
  Schedule.either(Schedule.spaced("5 seconds")),
  Schedule.upTo("3 minutes")
)

/** Process job: runs until interrupted or an error its policies do not absorb. */
export const process = (options: ProcessOptions, progress?: Progress.Progress) =>
  processOnce(options, progress).pipe(
    Effect.retry({
      schedule: options.brokerRetry ?? defaultBrokerRetry,
      while: (e): e is BrokerError => e._tag === "BrokerError"
    }),
    Effect.tapError((e) => e._tag === "BrokerError" ? Effect.logWarning(`process: giving up on the broker: ${e.message}`) : Effect.void)
  )

const processOnce = (options: ProcessOptions, progress?: Progress.Progress) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const batches = broker.consume({ topic: options.topic ?? UserRecord.Topics.raw, groupId: options.groupId })
    const concurrency = options.concurrency ?? 3
    const limit = options.maxInFlightRecords
    if (limit === undefined) {
      return yield* batches.pipe(
        Stream.mapEffect((batch) => processBatch(batch, options, progress), { concurrency }),
        Stream.runDrain
      )
    }
    if (!Number.isInteger(limit) || limit < 1) {
      return yield* Effect.dieMessage(`ProcessOptions.maxInFlightRecords must be a positive integer, got ${limit}`)
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
      Stream.mapEffect(([batch, n]) => Effect.ensuring(processBatch(batch, options, progress), permits.release(n)), {
        concurrency
      }),
      Stream.runDrain
    )
  })

/**
 * Process job that stops once the group has committed everything on the topic: the
 * `--once` mode and the end-to-end tests. Lag is polled through Clock, so it also runs
 * under TestClock. Each poll costs three admin requests: polling every 50 ms cost the
 * benchmark a third of its throughput on two cores, hence 500 ms by default.
 */
export const processUntilDrained = (
  options: ProcessOptions & { readonly pollEvery?: Duration.DurationInput | undefined },
  progress?: Progress.Progress
) => {
  const topic = options.topic ?? UserRecord.Topics.raw
  const drained = lag(topic, options.groupId).pipe(
    Effect.repeat({ schedule: Schedule.spaced(options.pollEvery ?? "500 millis"), until: (n) => n === 0 }),
    Effect.asVoid
  )
  return Effect.raceFirst(Effect.zipRight(process(options, progress), Effect.never), drained)
}

/** Every error the reference pipeline can end with. */
export type PipelineError = BrokerError | SinkError | UserSource.SourceError | PoisonRecordError
