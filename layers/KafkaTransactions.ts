/**
 * `Batch.commitWith` on Kafka: a batch's produced records (its dead letters) and its
 * offset commit in one transaction, so a crash between the two neither loses nor
 * duplicates a record on replay.
 *
 * One transactional producer per input partition, with the transactional id
 * `pandaflow.<group>.<topic>.<partition>` (the pre-KIP-447 scheme): the partition's next
 * owner opens the same id, and its InitProducerId aborts the crashed owner's open
 * transaction and fences its producer, so a cut-off member's late transaction fails
 * instead of landing. kafkajs's TxnOffsetCommit carries no member generation, so the
 * group coordinator itself does not refuse a member cut off by a rebalance; what keeps
 * such a member from committing is the fencing above and the per-batch retry budget
 * (`Delivery`), which ends its batch before the rebalance timeout cuts it off.
 * Producers are created on the first batch that has records to produce: a batch
 * without any pays nothing.
 *
 * @since 0.3.0
 */
import { Effect, type Scope } from "effect"
import { type Kafka, type Message, Partitioners, type Producer } from "kafkajs"
import { BrokerError, type ProducerRecord } from "../src/Broker.js"

/** A pandaflow `ProducerRecord` as kafkajs sends it (kafkajs wants the timestamp as a string). */
export const toMessage = (r: ProducerRecord): Message => ({
  key: r.key,
  value: r.value,
  headers: r.headers ? { ...r.headers } : {},
  ...(r.timestamp === undefined ? {} : { timestamp: String(r.timestamp) })
})

/** A fault hook for tests: runs inside the transaction, after its records were sent and before the offsets and the commit. */
export type AfterTransactionSend = (coordinates: { readonly topic: string; readonly partition: number }) => Promise<void>

/** The transactional commits of one consumer (one group, one topic). */
export interface TransactionalCommits {
  /**
   * Sends `records` to `target` and, when `upTo` is set, the offset `upTo` of
   * `partition` for the group, then commits; on any failure (a fence by a newer owner
   * too) the transaction is aborted and the batch fails, so it is delivered again.
   */
  readonly commitWith: (
    partition: number,
    upTo: bigint | undefined,
    target: string,
    records: ReadonlyArray<ProducerRecord>
  ) => Effect.Effect<void, BrokerError>
  /** Forgets every producer (after a rebalance): the next transaction opens its id afresh. */
  readonly reset: Effect.Effect<void>
}

/** Options of `make`. */
export interface TransactionalOptions {
  readonly groupId: string
  readonly topic: string
  /** How long the coordinator keeps a transaction of a crashed producer open at most (kafkajs's default 60 s). */
  readonly transactionTimeoutMs?: number | undefined
  readonly afterSend?: AfterTransactionSend | undefined
}

/** The error code of a kafkajs error, looking through its retry wrappers. */
const codeOf = (cause: unknown): { readonly type?: string; readonly code?: number } => {
  for (let e = cause, depth = 0; typeof e === "object" && e !== null && depth < 5; depth++) {
    if ("type" in e && typeof e.type === "string" && e.type !== "UNKNOWN") {
      return { type: e.type, ...("code" in e && typeof e.code === "number" ? { code: e.code } : {}) }
    }
    if ("code" in e && typeof e.code === "number") return { code: e.code }
    e = "originalError" in e ? e.originalError : "cause" in e ? e.cause : undefined
  }
  return {}
}

/** A newer producer opened the same transactional id: this member no longer owns the partition. */
export const isFenced = (cause: unknown): boolean => {
  const { code, type } = codeOf(cause)
  // 47 INVALID_PRODUCER_EPOCH on the protocol versions kafkajs speaks; 90 PRODUCER_FENCED
  // on newer ones (kafkajs has no name for it).
  return type === "INVALID_PRODUCER_EPOCH" || code === 47 || code === 90
}

/** The transactional id of a partition: the same for every member of the group. */
export const transactionalId = (groupId: string, topic: string, partition: number) =>
  `pandaflow.${groupId}.${topic}.${partition}`

/** Transactional commits for one consumer; every producer is disconnected with the scope. */
export const make = (kafka: Kafka, options: TransactionalOptions): Effect.Effect<TransactionalCommits, never, Scope.Scope> =>
  Effect.gen(function*() {
    const producers = new Map<number, Promise<Producer>>()
    const disconnect = (p: Promise<Producer>) => p.then((producer) => producer.disconnect()).catch(() => undefined)
    const drop = (partition: number) => {
      const p = producers.get(partition)
      producers.delete(partition)
      return p === undefined ? Promise.resolve() : disconnect(p)
    }
    yield* Effect.addFinalizer(() =>
      Effect.promise(() => Promise.all([...producers.keys()].map(drop))).pipe(Effect.timeout("10 seconds"), Effect.ignore))

    const producerFor = (partition: number): Promise<Producer> => {
      const known = producers.get(partition)
      if (known !== undefined) return known
      const producer = kafka.producer({
        transactionalId: transactionalId(options.groupId, options.topic, partition),
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: options.transactionTimeoutMs ?? 60_000,
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false
      })
      const connected = producer.connect().then(() => producer)
      producers.set(partition, connected)
      // A failed connect must not stay cached.
      connected.catch(() => producers.delete(partition))
      return connected
    }

    const run = async (partition: number, upTo: bigint | undefined, target: string, records: ReadonlyArray<ProducerRecord>) => {
      const producer = await producerFor(partition)
      // The first transaction of a producer runs InitProducerId: that is the fence.
      const txn = await producer.transaction()
      try {
        await txn.send({
          topic: target,
          acks: -1,
          messages: records.map(toMessage)
        })
        if (options.afterSend !== undefined) await options.afterSend({ topic: options.topic, partition })
        if (upTo !== undefined) {
          await txn.sendOffsets({
            consumerGroupId: options.groupId,
            topics: [{ topic: options.topic, partitions: [{ partition, offset: String(upTo) }] }]
          })
        }
        await txn.commit()
      } catch (e) {
        if (txn.isActive()) await txn.abort().catch(() => undefined)
        // A fenced producer cannot be used again, and any other failure may have left it in
        // a state kafkajs refuses: the next transaction opens the id afresh.
        await drop(partition)
        throw e
      }
    }

    // A fenced transaction fails the batch like any other: skipping it while this member
    // went on committing later batches of the partition would lose its records. The
    // consume job then rejoins the group and the batch comes again to its owner.
    const commitWith: TransactionalCommits["commitWith"] = (partition, upTo, target, records) =>
      Effect.tryPromise({
        try: () => run(partition, upTo, target, records),
        catch: (cause) =>
          new BrokerError({
            reason: "CommitFailed",
            message: `${isFenced(cause) ? "fenced by the partition's new owner: " : ""}transaction of ${records.length} records to ${target} with ${options.topic}[${partition}]@${upTo ?? "-"} for group ${options.groupId}: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`,
            cause
          })
      })

    const reset = Effect.promise(() => Promise.all([...producers.keys()].map(drop))).pipe(Effect.asVoid)
    return { commitWith, reset }
  })
