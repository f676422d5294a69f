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
import { type Duration, Effect, Either, Schedule, Stream } from "effect"
import { type Batch, Broker, lag, type BrokerError } from "./Broker.js"
import * as Progress from "./Progress.js"
import { type SinkError, UserSinks } from "./Sink.js"
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
  /** How long to retry a sink that is unavailable before the job fails. */
  readonly sinkRetry?: Schedule.Schedule<unknown, SinkError> | undefined
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

/** By default an unavailable sink is retried with jittered backoff for about a minute. */
const defaultSinkRetry: Schedule.Schedule<unknown, SinkError> = Schedule.exponential("200 millis").pipe(
  Schedule.jittered,
  Schedule.upTo("60 seconds"),
  Schedule.whileInput((e: SinkError) => e.reason === "Unavailable")
)

/** Keeps the last row a key (the latest offset wins), so one upsert never sees a key twice. */
const lastPerKey = (rows: ReadonlyArray<UserRow>): ReadonlyArray<UserRow> => {
  const byId = new Map<string, UserRow>()
  for (const row of rows) byId.set(row.id, row)
  return byId.size === rows.length ? rows : Array.from(byId.values())
}

/** Handles one batch: decode, write to every sink and the dead-letter topic, then commit. */
export const processBatch = (batch: Batch, options: ProcessOptions, progress?: Progress.Progress) =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const sinks = yield* UserSinks
    const rows: Array<UserRow> = []
    const dead: Array<UserRecord.DecodeFailure> = []
    for (const record of batch.records) {
      Either.match(UserRecord.decode(record), { onLeft: (f) => dead.push(f), onRight: (r) => rows.push(r) })
    }
    const unique = lastPerKey(rows)
    const retry = options.sinkRetry ?? defaultSinkRetry
    yield* Effect.all([
      Effect.forEach(sinks, (sink) =>
        sink.write(unique).pipe(
          Effect.retry(retry),
          Effect.zipRight(progress ? progress.addWritten(sink.name, unique.length) : Effect.void)
        ), { concurrency: "unbounded", discard: true }),
      dead.length === 0
        ? Effect.void
        : broker.produce(options.deadLetterTopic ?? UserRecord.Topics.deadLetter, dead.map((f) => UserRecord.toDeadLetter(f)))
    ], { concurrency: "unbounded", discard: true })
    yield* batch.commit
    if (progress) yield* progress.addProcessed(batch.records.length, dead.length)
  })

/** Process job: runs until interrupted or a non-retryable error. */
export const process = (options: ProcessOptions, progress?: Progress.Progress) =>
  Effect.flatMap(Broker, (broker) =>
    broker.consume({ topic: options.topic ?? UserRecord.Topics.raw, groupId: options.groupId }).pipe(
      Stream.mapEffect((batch) => processBatch(batch, options, progress), { concurrency: options.concurrency ?? 3 }),
      Stream.runDrain
    ))

/**
 * Process job that stops once the group has committed everything on the topic: the
 * `--once` mode and the end-to-end tests. Lag is polled through Clock, so it also runs
 * under TestClock.
 */
export const processUntilDrained = (
  options: ProcessOptions & { readonly pollEvery?: Duration.DurationInput | undefined },
  progress?: Progress.Progress
) => {
  const topic = options.topic ?? UserRecord.Topics.raw
  const drained = lag(topic, options.groupId).pipe(
    Effect.repeat({ schedule: Schedule.spaced(options.pollEvery ?? "250 millis"), until: (n) => n === 0 }),
    Effect.asVoid
  )
  return Effect.raceFirst(Effect.zipRight(process(options, progress), Effect.never), drained)
}

/** Every error the reference pipeline can end with. */
export type PipelineError = BrokerError | SinkError | UserSource.SourceError
