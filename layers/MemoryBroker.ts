/**
 * An in-memory broker with Kafka's semantics, for unit tests and the embedded mode:
 * partitions by the murmur2 key hash, per-group committed offsets, partitions shared
 * among the members of a group, one batch in flight per partition, and redelivery of
 * everything uncommitted when a partition changes owner (restart or rebalance). A batch's
 * `commitWith` appends its records and commits in one state change, as a Kafka transaction.
 *
 * By default every record stays for the broker's life. With `retention: "committed"` a
 * partition drops the records every group that subscribed to its topic has committed
 * (offsets stay absolute: the partition's low offset moves up, as after Kafka's log
 * retention), so a long or large run holds only what is not yet consumed; with
 * `maxRetainedRecords` a produce also waits while its topic holds that many, so a fast
 * source cannot outrun a slow sink in memory.
 *
 * Held to the real broker by test/contract/Broker.contract.ts and
 * test/contract/BrokerTransactions.contract.ts.
 *
 * @since 0.1.0
 */
import { Clock, Deferred, Effect, Layer, Ref, Stream } from "effect"
import {
  Broker,
  BrokerError,
  type Batch,
  type BrokerService,
  type ConsumedRecord,
  type ConsumeOptions,
  type PartitionOffsets,
  type ProducerRecord
} from "../src/Broker.js"
import * as CommitWatermark from "../src/CommitWatermark.js"
import type { AfterTransactionSend } from "./KafkaTransactions.js"
import { partitionFor } from "./Murmur2.js"

/** Tuning of the double. */
export interface MemoryBrokerOptions {
  /** Records a batch at most (kafkajs batches are bounded by bytes instead). */
  readonly maxBatchSize?: number | undefined
  /** Partitions of a topic created implicitly by a produce, as `num.partitions`. */
  readonly defaultPartitions?: number | undefined
  /**
   * `"all"` (the default) keeps every record. `"committed"` drops a partition's records
   * below the smallest offset committed by the groups that ever consumed its topic (a
   * group that has not committed there holds everything); a topic nobody consumes keeps
   * all. A fetch below the low offset starts at it (Kafka's `auto.offset.reset=earliest`).
   */
  readonly retention?: "all" | "committed" | undefined
  /**
   * With `retention: "committed"`: a produce to a topic some group consumes waits while
   * the topic holds at least this many records (a batch's `commitWith` never waits: it
   * is what frees room). Unbounded when absent.
   */
  readonly maxRetainedRecords?: number | undefined
  /**
   * Tests only, as KafkaBroker's: runs inside a batch's `commitWith` before its records and
   * offset are applied; if it fails, neither is (the batch fails with `CommitFailed`).
   */
  readonly afterTransactionSend?: AfterTransactionSend | undefined
}

/** One partition: `base` is the offset of `records[0]` (records below it were dropped). */
interface Log {
  readonly base: number
  readonly records: ReadonlyArray<ConsumedRecord>
}

interface Group {
  /** Members in join order; partition p belongs to member p % members.length. */
  readonly members: ReadonlyArray<number>
  readonly committed: ReadonlyMap<string, number>
  /**
   * Partitions with a batch handed out and not yet committed (`topic:partition`), with
   * the member holding it. Kept across a rebalance: as in Kafka's eager protocol, where a
   * member finishes its running batch before it rejoins, a partition's new owner waits
   * until the old owner's batch ended (committed, refused as stale, or its member left),
   * so a stale write can never land after the new owner's newer one.
   */
  readonly inFlight: ReadonlyMap<string, number>
  readonly generation: number
}

interface State {
  readonly topics: ReadonlyMap<string, ReadonlyArray<Log>>
  readonly groups: ReadonlyMap<string, Group>
  /** The groups that ever consumed each topic: retention keeps what any of them has not committed. */
  readonly subscribers: ReadonlyMap<string, ReadonlySet<string>>
  /** Completed on every change, then replaced: how waiting consumers wake up. */
  readonly changed: Deferred.Deferred<void>
  readonly nextMember: number
}

type Claim =
  | { readonly _tag: "Batch"; readonly batch: Batch }
  | { readonly _tag: "Wait"; readonly changed: Deferred.Deferred<void> }

const emptyGroup: Group = { members: [], committed: new Map(), inFlight: new Map(), generation: 0 }
const tp = (topic: string, partition: number) => `${topic}:${partition}`
const emptyLog: Log = { base: 0, records: [] }
const retained = (logs: ReadonlyArray<Log>): number => logs.reduce((n, l) => n + l.records.length, 0)

/** Builds a fresh, empty broker. */
export const make = (options: MemoryBrokerOptions = {}): Effect.Effect<BrokerService> =>
  Effect.gen(function*() {
    const maxBatch = options.maxBatchSize ?? 500
    const defaultPartitions = options.defaultPartitions ?? 3
    const dropCommitted = options.retention === "committed"
    const maxRetained = dropCommitted ? options.maxRetainedRecords : undefined
    if (maxRetained !== undefined && !(Number.isInteger(maxRetained) && maxRetained > 0)) {
      return yield* Effect.dieMessage(`MemoryBrokerOptions.maxRetainedRecords must be a positive integer, got ${maxRetained}`)
    }
    const state = yield* Ref.make<State>({
      topics: new Map(),
      groups: new Map(),
      subscribers: new Map(),
      changed: yield* Deferred.make<void>(),
      nextMember: 0
    })

    /** Applies `f` and, when it changed what consumers can see, wakes every waiting one. */
    const modify = <A>(f: (s: State) => readonly [A, Omit<State, "changed">, wake?: boolean]) =>
      Effect.flatMap(Deferred.make<void>(), (next) =>
        Ref.modify(state, (s): readonly [readonly [A, Deferred.Deferred<void> | undefined], State] => {
          const [a, updated, wake = true] = f(s)
          return wake
            ? [[a, s.changed], { ...updated, changed: next }]
            : [[a, undefined], { ...updated, changed: s.changed }]
        })).pipe(Effect.flatMap(([a, previous]) =>
          previous === undefined ? Effect.succeed(a) : Effect.as(Deferred.succeed(previous, undefined), a)))

    const updateGroup = (s: State, groupId: string, f: (g: Group) => Group): State => ({
      ...s,
      groups: new Map(s.groups).set(groupId, f(s.groups.get(groupId) ?? emptyGroup))
    })

    const createTopic: BrokerService["createTopic"] = (spec) =>
      modify((s) => [undefined, s.topics.has(spec.name) ? s : {
        ...s,
        topics: new Map(s.topics).set(spec.name, Array.from({ length: spec.partitions }, () => emptyLog))
      }])

    /** `s` with `records` appended to `topic` (created with the default partitions if missing). */
    const append = (s: State, topic: string, records: ReadonlyArray<ProducerRecord>, now: number): State => {
      if (records.length === 0) return s
      const logs = [...(s.topics.get(topic) ?? Array.from({ length: defaultPartitions }, () => emptyLog))]
      // Only the partitions written to are copied.
      const added = new Map<number, Array<ConsumedRecord>>()
      for (const r of records) {
        const partition = partitionFor(r.key, logs.length)
        const log = logs[partition]!
        let tail = added.get(partition)
        if (tail === undefined) added.set(partition, tail = [])
        tail.push({
          topic,
          partition,
          offset: String(log.base + log.records.length + tail.length),
          key: r.key,
          value: r.value,
          headers: { ...r.headers },
          timestamp: r.timestamp ?? now
        })
      }
      for (const [p, tail] of added) logs[p] = { base: logs[p]!.base, records: logs[p]!.records.concat(tail) }
      return { ...s, topics: new Map(s.topics).set(topic, logs) }
    }

    /** `s` without the records of `topic`'s `partition` that every subscribed group has committed. */
    const trim = (s: State, topic: string, partition: number): State => {
      const logs = s.topics.get(topic)
      const log = logs?.[partition]
      const groups = s.subscribers.get(topic)
      if (!dropCommitted || logs === undefined || log === undefined || groups === undefined) return s
      let low = Infinity
      for (const id of groups) low = Math.min(low, s.groups.get(id)?.committed.get(tp(topic, partition)) ?? log.base)
      if (low <= log.base) return s
      const next = [...logs]
      next[partition] = { base: low, records: log.records.slice(low - log.base) }
      return { ...s, topics: new Map(s.topics).set(topic, next) }
    }

    /** Whether a produce to `topic` has to wait for consumers to free room. */
    const full = (s: State, topic: string): boolean =>
      maxRetained !== undefined && s.subscribers.has(topic) && retained(s.topics.get(topic) ?? []) >= maxRetained

    const produce: BrokerService["produce"] = (topic, records) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.gen(function*() {
          while (true) {
            const waitOn = yield* modify((s): readonly [Deferred.Deferred<void> | undefined, Omit<State, "changed">, boolean] =>
              records.length > 0 && full(s, topic) ? [s.changed, s, false] : [undefined, append(s, topic, records, now), true])
            if (waitOn === undefined) return
            yield* Deferred.await(waitOn)
          }
        }))

    const describeTopic: BrokerService["describeTopic"] = (topic) =>
      Effect.flatMap(Ref.get(state), (s) => {
        const logs = s.topics.get(topic)
        return logs === undefined
          ? Effect.fail(new BrokerError({ reason: "UnknownTopic", message: `topic ${topic} does not exist` }))
          : Effect.succeed(logs.map((log, partition): PartitionOffsets => ({
            partition,
            low: String(log.base),
            high: String(log.base + log.records.length)
          })))
      })

    const committed: BrokerService["committed"] = (topic, groupId) =>
      Effect.map(Ref.get(state), (s) => {
        const out = new Map<number, string>()
        for (const [key, offset] of s.groups.get(groupId)?.committed ?? []) {
          const i = key.lastIndexOf(":")
          if (key.slice(0, i) === topic) out.set(Number(key.slice(i + 1)), String(offset))
        }
        return out
      })

    const consume = ({ groupId, topic }: ConsumeOptions): Stream.Stream<Batch, BrokerError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const member = yield* modify((s) => [s.nextMember, {
          ...updateGroup(s, groupId, (g) => ({ ...g, members: [...g.members, s.nextMember], generation: g.generation + 1 })),
          subscribers: new Map(s.subscribers).set(topic, new Set(s.subscribers.get(topic)).add(groupId)),
          nextMember: s.nextMember + 1
        }])
        // Leaving the group hands our partitions, and anything we did not commit, to the others.
        yield* Effect.addFinalizer(() =>
          modify((s) => [undefined, updateGroup(s, groupId, (g) => ({
            ...g,
            members: g.members.filter((m) => m !== member),
            inFlight: new Map([...g.inFlight].filter(([, holder]) => holder !== member)),
            generation: g.generation + 1
          }))]))
        // Fetch positions are per member and per generation, as after a Kafka rebalance.
        const positions = new Map<string, number>()
        let generation = -1
        let cursor = 0

        // Commits go through a watermark, as in KafkaBroker: never past an unfinished batch.
        let watermark = CommitWatermark.make()
        // `produced` lands in the same state change as the offset (one Ref update): the
        // double's transaction. A stale member's batch lands neither, as a fenced
        // transactional producer on Kafka.
        const commitOf = (
          partition: number,
          from: number,
          next: number,
          gen: number,
          produced?: { readonly topic: string; readonly records: ReadonlyArray<ProducerRecord> }
        ) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            modify((s) => {
              const current = s.groups.get(groupId) ?? emptyGroup
              const withRecords = produced === undefined || current.generation !== gen ? s : append(s, produced.topic, produced.records, now)
              return [undefined, trim(updateGroup(withRecords, groupId, (g) => {
                const key = tp(topic, partition)
                // The batch ended whatever the generation: release the partition, or nobody
                // could ever take it again after a rebalance.
                const inFlight = new Map(g.inFlight)
                if (inFlight.get(key) === member) inFlight.delete(key)
                const upTo = g.generation !== gen ? undefined : watermark.complete(partition, BigInt(from), BigInt(next))
                // A member of an old generation cannot commit (Kafka answers ILLEGAL_GENERATION):
                // the partition's new owner redelivers the batch instead.
                const committedAt = upTo === undefined ? g.committed.get(key) : Math.max(g.committed.get(key) ?? 0, Number(upTo))
                return {
                  ...g,
                  inFlight,
                  committed: committedAt === undefined ? g.committed : new Map(g.committed).set(key, committedAt)
                }
              }), topic, partition)]
            }))

        /** Takes the next available batch from a partition we own, or waits for a change. */
        const next: Effect.Effect<Batch> = Effect.gen(function*() {
          while (true) {
            const claimed = yield* modify((s): readonly [Claim, Omit<State, "changed">, boolean] => {
              const g = s.groups.get(groupId) ?? emptyGroup
              const logs = s.topics.get(topic) ?? []
              if (g.generation !== generation) {
                generation = g.generation
                positions.clear()
                watermark = CommitWatermark.make()
              }
              const index = g.members.indexOf(member)
              for (let i = 0; i < logs.length; i++) {
                const partition = (cursor + i) % logs.length
                const key = tp(topic, partition)
                if (index < 0 || partition % g.members.length !== index || g.inFlight.has(key)) continue
                const log = logs[partition]!
                // Below the low offset (dropped by retention) a fetch starts at it.
                const from = Math.max(positions.get(key) ?? g.committed.get(key) ?? 0, log.base)
                if (from >= log.base + log.records.length) continue
                if (!positions.has(key)) watermark.reset(partition, BigInt(from))
                const records = log.records.slice(from - log.base, from - log.base + maxBatch)
                positions.set(key, from + records.length)
                cursor = partition + 1
                const gen = g.generation
                const batch: Batch = {
                  topic,
                  partition,
                  records,
                  commit: commitOf(partition, from, from + records.length, gen),
                  commitWith: (target, produced) => {
                    const commit = commitOf(partition, from, from + records.length, gen, { topic: target, records: produced })
                    const hook = options.afterTransactionSend
                    return hook === undefined || produced.length === 0 ? commit : Effect.zipRight(
                      Effect.tryPromise({
                        try: () => hook({ topic, partition }),
                        catch: (cause) =>
                          new BrokerError({ reason: "CommitFailed", message: `commit of ${topic}/${partition} with ${produced.length} records to ${target}`, cause })
                      }),
                      commit
                    )
                  }
                }
                const claimedState = updateGroup(s, groupId, (g) => ({ ...g, inFlight: new Map(g.inFlight).set(key, member) }))
                return [{ _tag: "Batch", batch }, claimedState, false]
              }
              return [{ _tag: "Wait", changed: s.changed }, s, false]
            })
            if (claimed._tag === "Batch") return claimed.batch
            yield* Deferred.await(claimed.changed)
          }
        })
        return Stream.repeatEffect(next)
      }))

    return { produce, consume, createTopic, describeTopic, committed }
  })

/** The double as the `Broker` service. */
export const layer = (options: MemoryBrokerOptions = {}): Layer.Layer<Broker> => Layer.effect(Broker, make(options))
