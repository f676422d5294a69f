/**
 * A Kafka-API broker (Redpanda, Kafka, or the in-memory double): keyed produce, and
 * consumer-group consumption as a Stream of batches that carry their own commit.
 *
 * @since 0.1.0
 */
import { Context, Data, Effect } from "effect"
import type { Stream } from "effect"

/** The broker failed: unreachable, refused the request, or lost the group session. */
export class BrokerError extends Data.TaggedError("BrokerError")<{
  readonly reason: "Unavailable" | "UnknownTopic" | "ProduceFailed" | "CommitFailed" | "ConsumeFailed" | "AdminFailed"
  readonly message: string
  readonly cause?: unknown
}> {}

/** A record to produce. The key picks the partition, so one key keeps its order. */
export interface ProducerRecord {
  readonly key: string
  readonly value: string
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Event time in epoch milliseconds; the broker's clock at produce time when absent. */
  readonly timestamp?: number | undefined
}

/** A record as consumed, with the coordinates a dead letter needs to point back at it. */
export interface ConsumedRecord {
  readonly topic: string
  readonly partition: number
  /** Kafka offsets are 64-bit: kept as decimal strings, as kafkajs does. */
  readonly offset: string
  readonly key: string | null
  readonly value: string | null
  readonly headers: Readonly<Record<string, string>>
  /** The record's timestamp in epoch milliseconds: its event time when the producer set one. */
  readonly timestamp: number
}

/**
 * Consecutive records of one partition. `commit` marks every record of the batch as
 * processed for the group; call it only after every sink durably wrote them. A batch
 * never committed is delivered again to the next consumer of the group.
 *
 * A batch whose partition moved to another member meanwhile (a rebalance) commits
 * nothing, and `commit` / `commitWith` still succeed: the new owner redelivers it.
 */
export interface Batch {
  readonly topic: string
  readonly partition: number
  readonly records: ReadonlyArray<ConsumedRecord>
  readonly commit: Effect.Effect<void, BrokerError>
  /**
   * Produces `records` to `topic` and commits the batch, atomically: either both are
   * visible (to read-committed consumers) or neither is, so a crash between the two
   * cannot duplicate nor lose the records on replay. On Kafka it is one transaction
   * (dearer than `commit`: use it only when there is something to produce).
   */
  readonly commitWith: (topic: string, records: ReadonlyArray<ProducerRecord>) => Effect.Effect<void, BrokerError>
  /**
   * Epoch milliseconds (Clock) after which the group may have handed the partition to
   * another member (Kafka: the batch's hand-out plus most of the rebalance timeout).
   * Work on the batch must end by then; absent when the broker sets no such limit.
   */
  readonly deadline?: number | undefined
}

/** What to consume. A group with no committed offset starts at the earliest record. */
export interface ConsumeOptions {
  readonly topic: string
  readonly groupId: string
}

/** A topic to create. */
export interface TopicSpec {
  readonly name: string
  readonly partitions: number
}

/** One partition's offsets: `high` is the offset the next record will get. */
export interface PartitionOffsets {
  readonly partition: number
  readonly low: string
  readonly high: string
}

/** The service. */
export interface BrokerService {
  /** Writes records and waits until the broker acknowledged every one. */
  readonly produce: (topic: string, records: ReadonlyArray<ProducerRecord>) => Effect.Effect<void, BrokerError>
  /** Joins the group and streams its batches; leaving the stream leaves the group. */
  readonly consume: (options: ConsumeOptions) => Stream.Stream<Batch, BrokerError>
  /** Creates a topic; does nothing when it exists already. */
  readonly createTopic: (spec: TopicSpec) => Effect.Effect<void, BrokerError>
  /** The partitions of a topic with their offsets; fails with UnknownTopic if missing. */
  readonly describeTopic: (topic: string) => Effect.Effect<ReadonlyArray<PartitionOffsets>, BrokerError>
  /** The group's committed offset per partition (partitions never committed are absent). */
  readonly committed: (topic: string, groupId: string) => Effect.Effect<ReadonlyMap<number, string>, BrokerError>
}

/** The tag the pipeline asks for. */
export class Broker extends Context.Tag("pandaflow/Broker")<Broker, BrokerService>() {}

/** Records of `topic` not yet committed by `groupId`, summed over partitions. */
export const lag = (topic: string, groupId: string): Effect.Effect<number, BrokerError, Broker> =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const partitions = yield* broker.describeTopic(topic)
    const committed = yield* broker.committed(topic, groupId)
    let total = 0
    for (const p of partitions) {
      const from = committed.get(p.partition) ?? p.low
      total += Math.max(0, Number(BigInt(p.high) - BigInt(from)))
    }
    return total
  })
