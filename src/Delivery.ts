/**
 * The delivery machinery of one batch, once for every pipeline:
 *
 *   records ──decode──▶ values ──transform──▶ rows ──▶ every sink (upsert) ──▶ dead letters ──▶ commit
 *              │ bad record        │ failed            │ a row a sink refuses (isolated by bisection)
 *              └───────────────────┴───────────────────┴──▶ dead-letter topic, with the reason
 *
 * The offset is committed only after every sink wrote the batch, and sinks upsert by key:
 * a crash replays at most the uncommitted batch and leaves no duplicate row (at-least-once
 * delivery, effectively-once results). A batch's dead letters and its offset commit are one
 * broker transaction (`Batch.commitWith`): a crash between them neither loses nor repeats a
 * dead letter. A batch without dead letters commits plainly, paying for no transaction.
 *
 * One retry budget per batch: every write of the batch, bisection sub-writes and every
 * sink alike, stops retrying at the same deadline, the earlier of `retryBudget` after the
 * batch started and the broker's `Batch.deadline` (before the group may give the
 * partition to another member). The batch then fails uncommitted and is delivered again.
 *
 * @since 0.2.0
 */
import { Cause, Clock, Data, Duration, Effect, Exit, Schedule } from "effect"
import type { Batch, ConsumedRecord, ProducerRecord } from "./Broker.js"
import * as DeadLetter from "./DeadLetter.js"
import type * as Progress from "./Progress.js"
import type { RowSink, SinkError } from "./RowSink.js"
import { lastPerKey } from "./TableSchema.js"

/**
 * What the consume job does with each kind of failure. The defaults keep the stream
 * moving without losing anything: bad records are dead-lettered, outages are waited out.
 */
export interface ErrorPolicy {
  /**
   * The backoff between retries of a sink that is `Unavailable`; nothing is committed
   * meanwhile. How long retrying goes on is `retryBudget`, not this schedule.
   */
  readonly retryUnavailable: Schedule.Schedule<unknown, SinkError>
  /**
   * How long one batch may spend retrying, shared by every write of the batch (bisection
   * sub-writes, every sink). Must be shorter than the broker's rebalance timeout; the
   * broker's `Batch.deadline` caps it anyway (KafkaBroker: 80 % of the rebalance timeout).
   */
  readonly retryBudget: Duration.DurationInput
  /** A record that fails its schema or its transform: dead-letter it (default) or stop the job. */
  readonly onInvalid: "dead-letter" | "fail"
  /**
   * A sink `Rejected` a batch: find the rows it refuses by bisection and dead-letter just
   * those, writing the rest (default), or stop the job.
   */
  readonly onRejected: "dead-letter" | "fail"
}

/** Jittered exponential backoff from 200 ms (at most 5 s apart), for `Unavailable` only, two minutes a batch. */
export const defaultErrorPolicy: ErrorPolicy = {
  retryUnavailable: Schedule.exponential("200 millis").pipe(
    Schedule.jittered,
    Schedule.either(Schedule.spaced("5 seconds")),
    Schedule.whileInput((e: SinkError) => e.reason === "Unavailable")
  ),
  retryBudget: Duration.seconds(120),
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

/** A record the pipeline's decode or transform refused, with the reason. */
export class Refusal extends Data.Class<{ readonly stage: DeadLetter.Stage; readonly message: string }> {}

/**
 * What the pipeline makes of one record: its rows, a refusal, or an effect computing the
 * rows (an effectful transform; its failure is a refusal too).
 */
export type Handled<B, E, R> = ReadonlyArray<B> | Refusal | Effect.Effect<ReadonlyArray<B>, E, R>

/** One row with the record it came from: a refused row dead-letters that record. */
interface Derived<B> {
  readonly row: B
  readonly record: ConsumedRecord
}

/** A row one sink refused for good, with the error and how many writes it took part in. */
interface Refused<B> {
  readonly derived: Derived<B>
  readonly error: SinkError
  readonly attempts: number
}

/** What a failed transform says, as one line. */
const describe = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" && e.message.length > 0
    ? ("_tag" in e && typeof e._tag === "string" ? `${e._tag}: ${e.message}` : e.message)
    : typeof e === "object" && e !== null && "_tag" in e && typeof e._tag === "string"
    ? e._tag
    : String(e)

/**
 * The policy's backoff, ending at `deadline` (epoch ms, Clock): no wait runs past it, and
 * no retry starts after it — nor in its last millisecond: a wait cut to a fraction of a
 * millisecond may not move a clock of fractional milliseconds at all (`now + 1e-11 ===
 * now` near 1e5), and the retries would spin at one instant forever.
 */
export const untilDeadline = <E>(schedule: Schedule.Schedule<unknown, E>, deadline: number): Schedule.Schedule<unknown, E> =>
  schedule.pipe(
    Schedule.checkEffect(() => Effect.map(Clock.currentTimeMillis, (now) => deadline - now >= 1)),
    Schedule.modifyDelayEffect((_, delay) =>
      Effect.map(Clock.currentTimeMillis, (now) => Duration.min(delay, Duration.millis(Math.max(0, deadline - now)))))
  )

/**
 * The warning `budgetCheck` logs: the policy's budget is not shorter than the time the
 * broker gives a batch (`allowedMs`, from hand-out to `Batch.deadline`).
 */
const budgetCappedWarning = (pipeline: string, retryBudget: Duration.DurationInput, allowedMs: number): string =>
  `${pipeline}: errorPolicy.retryBudget (${Duration.format(retryBudget)}) is not shorter than the time the broker gives a batch ` +
  `before a rebalance may hand its partition to another member (${Duration.format(Duration.millis(Math.max(0, Math.round(allowedMs))))}, ` +
  `part of its rebalance timeout): each batch's retries are capped to the batch deadline; set a shorter retryBudget or a longer rebalance timeout`

/**
 * The retry budget meets the broker's rebalance timeout only at the first batch: the
 * broker says how long a batch may take through `Batch.deadline`, not as an option.
 * `writeBatch` caps every batch's budget to that deadline, which is safe, but a budget
 * that is never reached is a configuration mistake: the returned check logs one warning at
 * the first batch with a deadline, once per consume job (broker restarts included).
 */
export const budgetCheck = (pipeline: string, policy: ErrorPolicy) => {
  let checked = false
  return ({ deadline }: Batch): Effect.Effect<void> =>
    checked || deadline === undefined ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (now) => {
      checked = true
      const allowed = deadline - now
      return Duration.toMillis(policy.retryBudget) >= allowed
        ? Effect.logWarning(budgetCappedWarning(pipeline, policy.retryBudget, allowed))
        : Effect.void
    })
}

/** Where a batch's writes go and how they retry: one deadline for the whole batch. */
interface Writing {
  readonly policy: ErrorPolicy
  /** `policy.retryUnavailable` ending at the batch's deadline. */
  readonly retry: Schedule.Schedule<unknown, SinkError>
}

/**
 * Writes rows to a sink, waiting out outages. A `Rejected` batch is split in halves until
 * the refused rows are alone, so one poison row costs about log2(batch) extra writes and
 * the rest of its batch still lands.
 */
const writeIsolating = <B>(
  sink: RowSink<B>,
  rows: ReadonlyArray<Derived<B>>,
  writing: Writing,
  depth = 1
): Effect.Effect<ReadonlyArray<Refused<B>>, SinkError> =>
  rows.length === 0 ? Effect.succeed([]) : sink.write(rows.map((d) => d.row)).pipe(
    Effect.retry(writing.retry),
    Effect.as<ReadonlyArray<Refused<B>>>([]),
    Effect.catchIf(
      (e) => e.reason === "Rejected" && writing.policy.onRejected === "dead-letter",
      (error) =>
        rows.length === 1
          ? Effect.succeed([{ derived: rows[0]!, error, attempts: depth }])
          : Effect.zipWith(
            writeIsolating(sink, rows.slice(0, rows.length >> 1), writing, depth + 1),
            writeIsolating(sink, rows.slice(rows.length >> 1), writing, depth + 1),
            (a, b) => [...a, ...b]
          )
    )
  )

/**
 * Writes the last row of every key (an upsert must never see a key twice; the latest
 * offset wins). When a sink refuses a key's last row, the version before it in the batch
 * is the latest one the sink may hold: it is written in its place, so a refused update
 * never loses the valid row it replaced.
 */
const writeLatestAccepted = <B>(
  sink: RowSink<B>,
  derived: ReadonlyArray<Derived<B>>,
  writing: Writing
): Effect.Effect<{ readonly refused: ReadonlyArray<Refused<B>>; readonly written: number }, SinkError> =>
  Effect.gen(function*() {
    const unique = lastPerKey(derived, (d) => sink.key(d.row))
    const refused: Array<Refused<B>> = []
    let candidates = unique
    let written = 0
    // Earlier versions of the refused keys, oldest first; built only when needed.
    let earlier: Map<string, Array<Derived<B>>> | undefined
    while (candidates.length > 0) {
      const round = yield* writeIsolating(sink, candidates, writing)
      written += candidates.length - round.length
      refused.push(...round)
      if (round.length === 0 || unique.length === derived.length) break
      if (earlier === undefined) {
        earlier = new Map()
        for (const d of derived) {
          const k = sink.key(d.row)
          const versions = earlier.get(k)
          if (versions === undefined) earlier.set(k, [d])
          else versions.push(d)
        }
      }
      const next: Array<Derived<B>> = []
      for (const r of round) {
        const versions = earlier.get(sink.key(r.derived.row))
        // The refused row is the last version left; drop it and offer the one before.
        if (versions !== undefined && versions.pop() !== undefined && versions.length > 0) next.push(versions[versions.length - 1]!)
      }
      candidates = next
    }
    return { refused, written }
  })

/** Where a batch goes: its sinks, its dead-letter topic, its policy. */
export interface Target<B> {
  readonly sinks: ReadonlyArray<RowSink<B>>
  readonly deadLetterTopic: string
  readonly policy: ErrorPolicy
  readonly progress?: Progress.Progress | undefined
}

/** Handles one batch: decode and transform, write to every sink and the dead-letter topic, then commit. */
export const processBatch = <B, E, R>(
  batch: Batch,
  handle: (record: ConsumedRecord) => Handled<B, E, R>,
  target: Target<B>
) => Effect.flatten(writeBatch(batch, handle, target))

/**
 * `processBatch` in its two steps: decodes, transforms and writes the batch to every sink,
 * and succeeds with its commit (with its dead letters, if any), not yet run. The consume
 * job runs the commits beside the next writes: waiting for a commit's acknowledgement
 * must not hold back the next batch's write.
 */
export const writeBatch = <B, E, R>(
  batch: Batch,
  handle: (record: ConsumedRecord) => Handled<B, E, R>,
  target: Target<B>
) =>
  Effect.gen(function*() {
    const { policy, progress, sinks } = target
    const started = yield* Clock.currentTimeMillis
    const derived: Array<Derived<B>> = []
    const dead: Array<ProducerRecord> = []
    const refuse = (record: ConsumedRecord, refusal: Refusal) =>
      policy.onInvalid === "dead-letter"
        ? Effect.sync(() => dead.push(DeadLetter.make(record, refusal.stage, refusal.message)))
        : new PoisonRecordError({ message: `${refusal.stage}: ${refusal.message}`, ...coordinates(record) })
    for (const record of batch.records) {
      let handled: Handled<B, E, R>
      try {
        handled = handle(record)
      } catch (e) {
        // A transform that throws on this record's data refuses the record; the job goes on.
        handled = new Refusal({ stage: "transform", message: `threw ${describe(e)}` })
      }
      if (Array.isArray(handled)) {
        for (const row of handled as ReadonlyArray<B>) derived.push({ row, record })
      } else if (handled instanceof Refusal) {
        yield* refuse(record, handled)
      } else {
        // An effectful transform: run in record order, so the last version of a key stays
        // last. A failure or a defect (a throw inside it) refuses the record; only an
        // interruption (shutdown) stops the batch.
        const exit = yield* Effect.exit(handled as Effect.Effect<ReadonlyArray<B>, E, R>)
        if (Exit.isSuccess(exit)) for (const row of exit.value) derived.push({ row, record })
        else if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
        else yield* refuse(record, new Refusal({ stage: "transform", message: describe(Cause.squash(exit.cause)) }))
      }
    }
    // The batch's one retry budget, taken when it starts (decoding is part of the batch).
    const deadline = Math.min(started + Duration.toMillis(policy.retryBudget), batch.deadline ?? Number.POSITIVE_INFINITY)
    const writing: Writing = { policy, retry: untilDeadline(policy.retryUnavailable, deadline) }
    const refused = yield* Effect.forEach(sinks, (sink) =>
      writeLatestAccepted(sink, derived, writing).pipe(
        Effect.tap(({ written }) => progress ? progress.addWritten(sink.name, written) : Effect.void),
        Effect.map(({ refused }) => refused)
      ), { concurrency: "unbounded" })
    // A record with a row refused by any sink is dead-lettered once, with every sink's reason.
    const byRecord = new Map<ConsumedRecord, Array<Refused<B>>>()
    for (const r of refused.flat()) byRecord.set(r.derived.record, [...(byRecord.get(r.derived.record) ?? []), r])
    for (const [record, reasons] of byRecord) {
      const message = reasons.map((r) => `sink ${r.error.sink} rejected the row: ${r.error.message}`).join("; ")
      dead.push(DeadLetter.make(record, "sink", message, Math.max(...reasons.map((r) => r.attempts))))
    }
    // Dead letters and the offset in one transaction; the common batch pays a plain commit.
    const commit = dead.length > 0 ? batch.commitWith(target.deadLetterTopic, dead) : batch.commit
    return progress ? Effect.zipRight(commit, progress.addProcessed(batch.records.length, dead.length)) : commit
  })

const coordinates = (r: ConsumedRecord) => ({ topic: r.topic, partition: r.partition, offset: r.offset })
