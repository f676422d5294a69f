/**
 * Counters of a running pipeline: what was ingested, processed, dead-lettered and written
 * per sink. The CLI prints them; tests and embedding programs read them.
 *
 * @since 0.1.0
 */
import { Clock, Effect, Ref } from "effect"

/** A point-in-time copy of the counters. */
export interface Snapshot {
  /** Records the sources emitted (valid or not). */
  readonly received: number
  /** Records written to the topic. */
  readonly ingested: number
  /** Records a source emitted again within one ingest run (same key): not written twice. */
  readonly duplicates: number
  /** Records a source emitted that were dead-lettered before the topic. */
  readonly rejected: number
  readonly processed: number
  readonly deadLettered: number
  readonly committedBatches: number
  readonly written: Readonly<Record<string, number>>
  readonly elapsedMillis: number
}

/** Live counters; cheap to update from the hot path (one Ref update a batch). */
export interface Progress {
  readonly addIngested: (n: number) => Effect.Effect<void>
  /** What an ingest chunk held: records received, written, skipped as duplicates, dead-lettered. */
  readonly addSourced: (counts: { readonly received: number; readonly duplicates: number; readonly rejected: number }) => Effect.Effect<void>
  readonly addProcessed: (n: number, deadLettered: number) => Effect.Effect<void>
  readonly addWritten: (sink: string, n: number) => Effect.Effect<void>
  readonly snapshot: Effect.Effect<Snapshot>
}

/** Makes a fresh set of counters; elapsed time is measured from now, through Clock. */
export const make: Effect.Effect<Progress> = Effect.gen(function*() {
  const start = yield* Clock.currentTimeMillis
  const state = yield* Ref.make({
    received: 0,
    ingested: 0,
    duplicates: 0,
    rejected: 0,
    processed: 0,
    deadLettered: 0,
    committedBatches: 0,
    written: {} as Record<string, number>
  })
  return {
    addIngested: (n) => Ref.update(state, (s) => ({ ...s, ingested: s.ingested + n })),
    addSourced: (c) =>
      Ref.update(state, (s) => ({
        ...s,
        received: s.received + c.received,
        duplicates: s.duplicates + c.duplicates,
        rejected: s.rejected + c.rejected
      })),
    addProcessed: (n, dead) =>
      Ref.update(state, (s) => ({
        ...s,
        processed: s.processed + n,
        deadLettered: s.deadLettered + dead,
        committedBatches: s.committedBatches + 1
      })),
    addWritten: (sink, n) =>
      Ref.update(state, (s) => ({ ...s, written: { ...s.written, [sink]: (s.written[sink] ?? 0) + n } })),
    snapshot: Effect.zipWith(Ref.get(state), Clock.currentTimeMillis, (s, now) => ({ ...s, elapsedMillis: now - start }))
  }
})

/** One human line: `ingested 10000 · processed 9990 (4,210/s) · dlq 10 · postgres 9990 · cassandra 9990`. */
export const format = (s: Snapshot): string => {
  const seconds = Math.max(s.elapsedMillis / 1000, 0.001)
  const rate = Math.round(s.processed / seconds).toLocaleString("en-US")
  const sinks = Object.entries(s.written).map(([name, n]) => `${name} ${n}`)
  // Source-side counts only when there is something to say: a clean run reads as before.
  const sourced = [
    ...(s.duplicates > 0 ? [`duplicates ${s.duplicates}`] : []),
    ...(s.rejected > 0 ? [`rejected at source ${s.rejected}`] : [])
  ]
  return [`ingested ${s.ingested}`, ...sourced, `processed ${s.processed} (${rate}/s)`, `dlq ${s.deadLettered}`, ...sinks].join(" · ")
}
