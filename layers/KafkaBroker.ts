/**
 * The live broker: Redpanda or Apache Kafka over kafkajs.
 *
 * Consumption hands each kafkajs batch to the Stream through a bounded queue and keeps
 * `eachBatch` waiting (heartbeating) until the batch's `commit` ran, so an offset is
 * committed only after the pipeline wrote the batch, and a slow sink slows the fetcher
 * instead of filling memory. Notes in ../shared/NOTES.md explain each pitfall avoided.
 *
 * @since 0.1.0
 */
import { Clock, Config, Deferred, Duration, Effect, Layer, LogLevel, Queue, Runtime, Schedule, Stream } from "effect"
import { Kafka, logLevel as KafkaLogLevel, Partitioners, type EachBatchPayload, type LogEntry } from "kafkajs"
import {
  Broker,
  BrokerError,
  type Batch,
  type BrokerService,
  type ConsumedRecord,
  type ConsumeOptions
} from "../src/Broker.js"
import * as CommitWatermark from "../src/CommitWatermark.js"
import * as KafkaTransactions from "./KafkaTransactions.js"

/** Connection and tuning options. */
export interface KafkaBrokerOptions {
  readonly brokers: ReadonlyArray<string>
  readonly clientId?: string | undefined
  /** Upper bound of a fetch per partition: the batch size in bytes (default 4 MiB). */
  readonly maxBytesPerPartition?: number | undefined
  /** Batches fetched in parallel, one per partition at most (default 3). */
  readonly partitionsConsumedConcurrently?: number | undefined
  readonly sessionTimeout?: Duration.DurationInput | undefined
  /**
   * How long a rebalance waits for members to finish their running batch (default 3
   * minutes). A member cut off mid-batch would hand its partition to a new owner and then
   * land an older write after the new owner's newer one, so every batch carries a
   * `deadline` of its hand-out plus `batchShare` of this timeout: the pipeline stops
   * retrying a batch there (its per-batch retry budget is never longer) and fails it.
   */
  readonly rebalanceTimeout?: Duration.DurationInput | undefined
  /** The share of `rebalanceTimeout` a batch may take, in (0, 1) (default 0.8: 144 s of 3 minutes). */
  readonly batchShare?: number | undefined
  /** How long the coordinator keeps the transaction of a crashed member open at most (default 60 s). */
  readonly transactionTimeout?: Duration.DurationInput | undefined
  /**
   * Tests only: runs inside a batch's transaction (`commitWith`) after its records were
   * sent and before its offsets and commit — the crash window a SIGKILL aims at.
   */
  readonly afterTransactionSend?: KafkaTransactions.AfterTransactionSend | undefined
  readonly heartbeatInterval?: Duration.DurationInput | undefined
  /** Longest wait of a fetch on an idle partition (default 1 second). */
  readonly maxWaitTime?: Duration.DurationInput | undefined
  /**
   * kafkajs's own log level (default "warn"). Its entries go through Effect's logger: its
   * warnings and errors as Effect warnings (they say why a group rebalanced), except the
   * connection noise a `BrokerError` reports anyway (refused, timed out, retries given
   * up), which is logged at debug; its info and debug lines at debug.
   */
  readonly logLevel?: "nothing" | "error" | "warn" | "info" | "debug" | undefined
  /**
   * Start-up is bounded: before the producer and admin connect, one probe connection to
   * the brokers must succeed within `connectTimeout` (default 3 seconds) with
   * `startupRetries` retries (default 1). The clients that follow keep kafkajs's longer
   * retries, so a consume job's restarts ride out a broker that is briefly away.
   */
  readonly connectTimeout?: Duration.DurationInput | undefined
  readonly startupRetries?: number | undefined
}

const levels = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG
} as const

// What a failed connect says anyway (as a BrokerError), and our own release of pending
// batches at shutdown ("consumer stopping"): not worth a warning of their own.
const connectionNoise =
  /connect|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH|timeout|timed out|retries|seed broker|Crash|consumer stopping/i

/** The Effect log level of a kafkajs entry (see `KafkaBrokerOptions.logLevel`). */
export const effectLevel = (level: number, text: string): LogLevel.LogLevel =>
  level === KafkaLogLevel.ERROR || level === KafkaLogLevel.WARN
    ? connectionNoise.test(text) ? LogLevel.Debug : LogLevel.Warning
    : LogLevel.Debug

/** One compact line per kafkajs log entry, through Effect's logger (so its level and format apply). */
const logCreator = (runtime: Runtime.Runtime<never>) => () => ({ level, log, namespace }: LogEntry) => {
  const { error, message } = log as { message: string; error?: string }
  // One line: kafkajs passes whole stack traces as `error`.
  const text = `kafkajs [${namespace}] ${message}${error ? `: ${String(error).split("\n")[0]}` : ""}`
  Runtime.runSync(runtime)(Effect.logWithLevel(effectLevel(level, text), text))
}

/** The innermost message of a kafkajs error: `connect ECONNREFUSED 127.0.0.1:1`, not its retry wrappers. */
export const rootMessage = (cause: unknown): string => {
  let e: unknown = cause
  for (let depth = 0; depth < 6 && typeof e === "object" && e !== null; depth++) {
    const next = "originalError" in e && e.originalError !== undefined ? e.originalError : "cause" in e ? e.cause : undefined
    if (typeof next !== "object" || next === null) break
    e = next
  }
  const message = e instanceof Error ? e.message : String(e)
  return message.replace(/^Connection error: /, "")
}

const describe = (cause: unknown): string =>
  cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)

/** kafkajs error types that mean "the group moved on"; the batch will be redelivered. */
const rebalanceErrors = new Set(["REBALANCE_IN_PROGRESS", "ILLEGAL_GENERATION", "UNKNOWN_MEMBER_ID", "NOT_COORDINATOR"])

/** The Kafka error code of an error, looking through kafkajs's retry wrappers. */
const errorType = (cause: unknown): string | undefined => {
  for (let e = cause, depth = 0; typeof e === "object" && e !== null && depth < 5; depth++) {
    if ("type" in e && typeof e.type === "string") return e.type
    e = "originalError" in e ? e.originalError : "cause" in e ? e.cause : undefined
  }
  return undefined
}

/** kafkajs marks errors a client may retry (leader elections, metadata still propagating). */
const isRetriable = (cause: unknown): boolean =>
  typeof cause === "object" && cause !== null && "retriable" in cause && cause.retriable === true

const isUnavailable = (cause: unknown): boolean => {
  const name = cause instanceof Error ? cause.name : ""
  return name === "KafkaJSConnectionError" || name === "KafkaJSNumberOfRetriesExceeded" ||
    name === "KafkaJSRequestTimeoutError" || name === "KafkaJSBrokerNotFound" || name === "KafkaJSConnectionClosedError"
}

const fail = (reason: BrokerError["reason"], what: string) => (cause: unknown) =>
  new BrokerError({
    reason: errorType(cause) === "UNKNOWN_TOPIC_OR_PARTITION" ? "UnknownTopic" : isUnavailable(cause) ? "Unavailable" : reason,
    message: `${what}: ${describe(cause)}`,
    cause
  })

// The headers of a record without any: one shared, frozen object (most records carry
// none, and a fresh `{}` and `Object.entries` array a record were GC work on the hot path).
const noHeaders: Readonly<Record<string, string>> = Object.freeze({})

const headersOf = (headers: Record<string, unknown> | undefined): Readonly<Record<string, string>> => {
  if (headers === undefined) return noHeaders
  let out: Record<string, string> | undefined
  for (const k in headers) {
    const v = headers[k]
    if (v !== undefined && Object.prototype.hasOwnProperty.call(headers, k)) (out ??= {})[k] = Array.isArray(v) ? String(v[0]) : String(v)
  }
  return out ?? noHeaders
}

/** Connects a producer and an admin client; `consume` joins groups on demand. */
export const make = (options: KafkaBrokerOptions): Effect.Effect<BrokerService, BrokerError, import("effect").Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const common = {
      clientId: options.clientId ?? "pandaflow",
      brokers: [...options.brokers],
      logLevel: levels[options.logLevel ?? "warn"],
      logCreator: logCreator(runtime)
    }
    // The probe: a broker that cannot be reached at start-up fails in seconds, not after
    // kafkajs's full retry budget for each of the producer and admin.
    const probe = new Kafka({
      ...common,
      connectionTimeout: Duration.toMillis(options.connectTimeout ?? Duration.seconds(3)),
      retry: { retries: options.startupRetries ?? 1, initialRetryTime: 200, maxRetryTime: 1_000 }
    }).admin()
    yield* Effect.tryPromise({
      try: () => probe.connect(),
      catch: (cause) =>
        new BrokerError({ reason: "Unavailable", message: `cannot connect to ${options.brokers.join(",")}: ${rootMessage(cause)}`, cause })
    }).pipe(Effect.ensuring(Effect.promise(() => probe.disconnect().catch(() => undefined))))
    const kafka = new Kafka({
      ...common,
      connectionTimeout: 5_000,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 }
    })
    const connected = <C extends { connect(): Promise<void>; disconnect(): Promise<void> }>(client: C, what: string) =>
      Effect.acquireRelease(
        Effect.tryPromise({ try: () => client.connect(), catch: fail("Unavailable", `cannot connect ${what} to ${options.brokers.join(",")}`) }),
        () => Effect.promise(() => client.disconnect()).pipe(Effect.timeout("10 seconds"), Effect.ignore)
      ).pipe(Effect.as(client))

    // The default partitioner is Java's murmur2: the same key lands where the Java client
    // (and our in-memory double) put it.
    const producer = yield* connected(kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false }), "producer")
    const admin = yield* connected(kafka.admin(), "admin")

    const produce: BrokerService["produce"] = (topic, records) =>
      records.length === 0 ? Effect.void : Effect.tryPromise({
        try: () =>
          producer.send({
            topic,
            acks: -1,
            messages: records.map(KafkaTransactions.toMessage)
          }),
        catch: fail("ProduceFailed", `produce ${records.length} records to ${topic}`)
      }).pipe(Effect.asVoid)

    // Creating is idempotent, so a retriable answer (a fresh or busy cluster whose metadata
    // lags behind: "does not host this topic-partition") is simply asked again.
    const createTopic: BrokerService["createTopic"] = (spec) =>
      Effect.tryPromise({
        try: () => admin.createTopics({ topics: [{ topic: spec.name, numPartitions: spec.partitions }], waitForLeaders: true }),
        catch: fail("AdminFailed", `create topic ${spec.name}`)
      }).pipe(
        Effect.retry({ schedule: Schedule.exponential("200 millis"), times: 6, while: (e) => isRetriable(e.cause) }),
        Effect.asVoid
      )

    // kafkajs retries a missing topic for seconds before failing: ask the topic list first.
    const describeTopic: BrokerService["describeTopic"] = (topic) =>
      Effect.tryPromise({
        try: async () => (await admin.listTopics()).includes(topic) ? admin.fetchTopicOffsets(topic) : undefined,
        catch: fail("AdminFailed", `describe topic ${topic}`)
      }).pipe(
        Effect.filterOrFail(
          (ps) => ps !== undefined,
          () => new BrokerError({ reason: "UnknownTopic", message: `topic ${topic} does not exist on ${options.brokers.join(",")}` })
        ),
        Effect.map((ps) => ps.map((p) => ({ partition: p.partition, low: p.low, high: p.high })).sort((a, b) => a.partition - b.partition))
      )

    const committed: BrokerService["committed"] = (topic, groupId) =>
      Effect.tryPromise({
        try: () => admin.fetchOffsets({ groupId, topics: [topic] }),
        catch: fail("AdminFailed", `fetch offsets of group ${groupId}`)
      }).pipe(Effect.map((topics) => {
        const out = new Map<number, string>()
        for (const p of topics.find((t) => t.topic === topic)?.partitions ?? []) {
          if (p.offset !== "-1") out.set(p.partition, p.offset)
        }
        return out
      }))

    const consume = (consumeOptions: ConsumeOptions) => consumeWith(kafka, options, consumeOptions)
    const share = options.batchShare ?? 0.8
    if (!(share > 0 && share < 1)) {
      return yield* new BrokerError({ reason: "ConsumeFailed", message: `KafkaBrokerOptions.batchShare must be in (0, 1), got ${share}` })
    }
    return { produce, consume, createTopic, describeTopic, committed }
  })

const consumeWith = (kafka: Kafka, options: KafkaBrokerOptions, { groupId, topic }: ConsumeOptions): Stream.Stream<Batch, BrokerError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const concurrency = options.partitionsConsumedConcurrently ?? 3
    const heartbeatEvery = Duration.decode(options.heartbeatInterval ?? "3 seconds")
    // One slot per concurrently fetched partition: a full queue blocks the fetcher.
    const queue = yield* Queue.bounded<Batch>(concurrency)
    const crashed = yield* Deferred.make<never, BrokerError>()
    const pending = new Set<Deferred.Deferred<void, BrokerError>>()
    const runtime = yield* Effect.runtime<never>()
    // Ranges are contiguous per partition: each batch starts where the previous one
    // ended (offsets may skip transaction markers), so the watermark never waits on a gap
    // that no batch will fill. A rebalance starts both maps afresh.
    const watermark = CommitWatermark.make()
    const handedOut = new Map<number, bigint>()
    const rebalanceTimeout = Duration.toMillis(options.rebalanceTimeout ?? "3 minutes")
    const batchTime = Math.floor(rebalanceTimeout * (options.batchShare ?? 0.8))
    const txns = yield* KafkaTransactions.make(kafka, {
      groupId,
      topic,
      transactionTimeoutMs: options.transactionTimeout === undefined ? undefined : Duration.toMillis(options.transactionTimeout),
      afterSend: options.afterTransactionSend
    })
    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
      sessionTimeout: Duration.toMillis(options.sessionTimeout ?? "30 seconds"),
      rebalanceTimeout,
      // A fetch long-polls an idle partition this long, and leaving the group waits for
      // it: kafkajs's 5 s default made every clean shutdown take 5 s.
      maxWaitTimeInMs: Duration.toMillis(options.maxWaitTime ?? "1 second"),
      heartbeatInterval: Duration.toMillis(heartbeatEvery)
    })

    const handle = ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) =>
      Effect.gen(function*() {
        if (batch.messages.length === 0 || !isRunning() || isStale()) return
        const deadline = (yield* Clock.currentTimeMillis) + batchTime
        const records: Array<ConsumedRecord> = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key === null ? null : m.key.toString("utf8"),
          value: m.value === null ? null : m.value.toString("utf8"),
          headers: headersOf(m.headers),
          timestamp: Number(m.timestamp)
        }))
        const last = records[records.length - 1]!.offset
        const first = BigInt(records[0]!.offset)
        const previous = handedOut.get(batch.partition)
        const from = previous !== undefined && previous < first ? previous : first
        if (previous === undefined) watermark.reset(batch.partition, first)
        handedOut.set(batch.partition, BigInt(last) + 1n)
        const done = yield* Deferred.make<void, BrokerError>()
        const settle = (effect: Effect.Effect<void, BrokerError>) =>
          Effect.tapBoth(effect, { onFailure: (e) => Deferred.fail(done, e), onSuccess: () => Deferred.succeed(done, undefined) })
        // Commits up to the watermark only: a batch finished ahead of an earlier one waits.
        const commit = settle(Effect.suspend(() => {
          const upTo = watermark.complete(batch.partition, from, BigInt(last) + 1n)
          return upTo === undefined ? Effect.void : Effect.tryPromise({
            try: () => consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(upTo) }]),
            catch: fail("CommitFailed", `commit ${batch.topic}[${batch.partition}]@${upTo} for group ${groupId}`)
          })
        })).pipe(
          // After a rebalance the new owner redelivers this batch; sinks upsert, so nothing is
          // lost. (Not for `commitWith`: an aborted transaction took its records with it.)
          Effect.catchIf((e) => rebalanceErrors.has(errorType(e.cause) ?? ""), (e) =>
            Effect.logWarning(`commit skipped, group rebalanced: ${e.message}`))
        )
        // The records and the offset in one transaction. The watermark is contiguous (one
        // batch a partition at a time), so `upTo` is this batch's end; were it held back,
        // the records would still be sent, in a transaction of their own.
        const commitWith: Batch["commitWith"] = (target, produced) =>
          settle(Effect.suspend(() =>
            txns.commitWith(batch.partition, watermark.complete(batch.partition, from, BigInt(last) + 1n), target, produced)
          ))
        pending.add(done)
        const heartbeats = Effect.promise(() => heartbeat().catch(() => undefined)).pipe(
          Effect.repeat(Schedule.spaced(heartbeatEvery)),
          Effect.zipRight(Effect.never)
        )
        yield* Effect.raceFirst(Effect.zipRight(Queue.offer(queue, { topic: batch.topic, partition: batch.partition, records, commit, commitWith, deadline }), Deferred.await(done)), heartbeats).pipe(
          Effect.ensuring(Effect.sync(() => pending.delete(done)))
        )
        resolveOffset(last)
      })

    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          await consumer.connect()
          await consumer.subscribe({ topics: [topic], fromBeginning: true })
          consumer.on(consumer.events.GROUP_JOIN, () => {
            handedOut.clear()
            watermark.clear()
            Runtime.runFork(runtime)(txns.reset)
          })
          consumer.on(consumer.events.CRASH, ({ payload }) => {
            if (!payload.restart) {
              Runtime.runFork(runtime)(Deferred.fail(crashed, fail("ConsumeFailed", `consumer of ${topic} crashed`)(payload.error)))
            }
          })
          await consumer.run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            partitionsConsumedConcurrently: concurrency,
            eachBatch: (payload) => Runtime.runPromise(runtime)(handle(payload))
          })
        },
        catch: fail("Unavailable", `cannot join group ${groupId} on ${topic}`)
      }),
      () => Effect.promise(() => consumer.disconnect()).pipe(Effect.timeout("15 seconds"), Effect.ignore)
    )
    // Runs before the disconnect above (finalizers run in reverse): kafkajs waits for every
    // running eachBatch, so each must be released first, uncommitted, or shutdown hangs.
    yield* Effect.addFinalizer(() =>
      Effect.forEach(pending, (d) => Deferred.fail(d, new BrokerError({ reason: "ConsumeFailed", message: "consumer stopping" })), { discard: true }).pipe(
        Effect.zipRight(Queue.shutdown(queue))
      ))
    return Stream.fromQueue(queue).pipe(Stream.interruptWhen(Deferred.await(crashed)))
  }))

/** The live broker as the `Broker` service. */
export const layer = (options: KafkaBrokerOptions): Layer.Layer<Broker, BrokerError> => Layer.scoped(Broker, make(options))

/**
 * Reads `PANDAFLOW_BROKERS` (comma-separated host:port, each checked), `PANDAFLOW_KAFKA_CLIENT_ID`
 * and `PANDAFLOW_KAFKA_CONNECT_TIMEOUT` (default 3 seconds).
 */
export const config: Config.Config<KafkaBrokerOptions> = Config.all({
  brokers: Config.array(Config.nonEmptyString(), "PANDAFLOW_BROKERS").pipe(
    Config.validate({
      message: "expected host:port[,host:port…], e.g. 127.0.0.1:19092",
      validation: (bs) => bs.length > 0 && bs.every((b) => /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}$/.test(b.trim()))
    })
  ),
  clientId: Config.withDefault(Config.string("PANDAFLOW_KAFKA_CLIENT_ID"), "pandaflow"),
  connectTimeout: Config.withDefault(Config.duration("PANDAFLOW_KAFKA_CONNECT_TIMEOUT"), Duration.seconds(3))
})

/** The live broker configured from the environment. */
export const layerConfig = (overrides: Partial<KafkaBrokerOptions> = {}) =>
  Layer.unwrapEffect(Effect.map(config, (c) => layer({ ...c, ...overrides })))
