/**
 * The ingest job: a pipeline's source into its topic, keyed by the topic's key, with every
 * record the source emits accounted for — written, skipped as an identical repeat, or
 * dead-lettered with its origin when the source could not use it.
 *
 * @since 0.2.0
 */
import { Effect, Stream } from "effect"
import { createHash } from "node:crypto"
import { Broker, type BrokerError, type ProducerRecord } from "./Broker.js"
import * as DeadLetter from "./DeadLetter.js"
import type { Pipeline } from "./Pipeline.js"
import type * as Progress from "./Progress.js"
import * as Source from "./Source.js"

/** Options of the ingest job. */
export interface IngestOptions extends Source.Request {
  /** Records a produce request; bigger is faster until the broker's request limit. */
  readonly chunkSize?: number | undefined
  /** Writes to this topic instead of the pipeline's (tests give each run its own). */
  readonly topic?: string | undefined
  /** Dead-letters rejected source records here instead of the pipeline's dead-letter topic. */
  readonly deadLetterTopic?: string | undefined
}

/** What one ingest run did: every record the source emitted is accounted for. */
export interface IngestSummary {
  /** Records asked for. */
  readonly requested: number
  /** Records the source emitted, valid or not. */
  readonly received: number
  /** Records written to the topic (distinct records). */
  readonly produced: number
  /** Records identical (key and value) to one this run already wrote, e.g. a repeated page: skipped. */
  readonly duplicates: number
  /** Records the source could not use, dead-lettered with their origin. */
  readonly rejected: number
}

/**
 * Ingest job: reads `records` values from the source into the topic, keyed by the topic's
 * key. A record identical to one this run already wrote (same key and value) is skipped
 * and counted as a duplicate; a `Source.Rejected` goes to the dead-letter topic with its
 * reason and origin.
 */
export const ingest = <W, B, ESource, RSource, RTransform, ESink, RSink>(
  pipeline: Pipeline<W, B, ESource, RSource, RTransform, ESink, RSink>,
  options: IngestOptions,
  progress?: Progress.Progress
): Effect.Effect<IngestSummary, BrokerError | ESource, Broker | RSource> =>
  Effect.gen(function*() {
    const broker = yield* Broker
    const source = pipeline.source
    if (source === undefined) return yield* Effect.dieMessage(`pipeline ${pipeline.name} has no source: its topic is fed by others`)
    const topic = options.topic ?? pipeline.topic.name
    const deadLetterTopic = options.deadLetterTopic ?? pipeline.topic.deadLetter
    const headers = { "pandaflow-source": `${source.name} seed=${options.seed}` }
    const seen = new Set<string>()
    const total = { requested: options.records, received: 0, produced: 0, duplicates: 0, rejected: 0 }
    yield* source.stream(options).pipe(
      Stream.grouped(options.chunkSize ?? 1000),
      Stream.mapEffect((chunk) => {
        const records: Array<ProducerRecord> = []
        const dead: Array<ProducerRecord> = []
        let duplicates = 0
        for (const item of chunk) {
          if (Source.isRejected(item)) {
            dead.push(DeadLetter.fromSource(topic, item))
            continue
          }
          const record = pipeline.encode(item as W, headers)
          // Identical records (same key, same value: a repeated page) are written once. The
          // key alone is not an identity: it picks the partition, and a key may have many records.
          const digest = createHash("sha1").update(record.key).update("\u0000").update(record.value).digest("base64")
          if (seen.has(digest)) duplicates++
          else {
            seen.add(digest)
            records.push(record)
          }
        }
        const counts = { received: chunk.length, duplicates, rejected: dead.length }
        total.received += chunk.length
        total.produced += records.length
        total.duplicates += duplicates
        total.rejected += dead.length
        return Effect.all([
          broker.produce(topic, records),
          dead.length > 0 ? broker.produce(deadLetterTopic, dead) : Effect.void,
          progress ? Effect.zipRight(progress.addIngested(records.length), progress.addSourced(counts)) : Effect.void
        ], { discard: true })
      }),
      Stream.runDrain
    )
    return total satisfies IngestSummary
  })

