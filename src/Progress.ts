/**
 * Counters of a running pipeline: what was ingested, processed, dead-lettered and written
 * per sink. The CLI prints them; tests and embedding programs read them.
 *
 * The hot path only updates counters (one Ref update a batch); the reporter samples them
 * once a second, through Clock, and works out the current rate over a sliding window.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"

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
  /** Records processed and committed (their batch's offsets were committed after the sinks wrote). */
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

const count = (n: number) => n.toLocaleString("en-US")

/**
 * One human line: `ingested 10000 · processed 9990 (4,210/s) · dlq 10 · postgres 9990`.
 * The rate is `ratePerSecond` when given (the reporter's sliding window), else the
 * average since the start (what a summary shows).
 */
export const format = (s: Snapshot, ratePerSecond?: number): string => {
  const rate = ratePerSecond ?? s.processed / Math.max(s.elapsedMillis / 1000, 0.001)
  const sinks = Object.entries(s.written).map(([name, n]) => `${name} ${n}`)
  // Source-side counts only when there is something to say: a clean run reads as before.
  const sourced = [
    ...(s.duplicates > 0 ? [`duplicates ${s.duplicates}`] : []),
    ...(s.rejected > 0 ? [`rejected at source ${s.rejected}`] : [])
  ]
  return [`ingested ${s.ingested}`, ...sourced, `processed ${s.processed} (${count(Math.round(rate))}/s)`, `dlq ${s.deadLettered}`, ...sinks].join(" · ")
}

/** The line an interrupted run ends with: what is safely committed, and what happens to the rest. */
export const formatStopped = (s: Snapshot): string => {
  const sinks = Object.entries(s.written).map(([name, n]) => `${name} ${count(n)}`)
  return [
    `stopped — ingested ${count(s.ingested)}`,
    `processed and committed ${count(s.processed)} (${count(s.committedBatches)} batches)`,
    `dlq ${count(s.deadLettered)}`,
    ...sinks
  ].join(" · ") + "; anything uncommitted is read again on the next start"
}

/**
 * A log line for a supervisor: one JSON object, `time` (ISO), `level`, `message`, then
 * `fields`.
 */
export const jsonLine = (time: number, level: "info" | "warning" | "error", message: string, fields: object = {}): string =>
  JSON.stringify({ time: new Date(time).toISOString(), level, message, ...fields })

/** The counters of a snapshot as JSON fields (no `elapsedMillis` rounding). */
export const fields = (s: Snapshot, ratePerSecond?: number) => ({
  received: s.received,
  ingested: s.ingested,
  duplicates: s.duplicates,
  rejected: s.rejected,
  processed: s.processed,
  deadLettered: s.deadLettered,
  committedBatches: s.committedBatches,
  written: s.written,
  elapsedMillis: s.elapsedMillis,
  ...(ratePerSecond === undefined ? {} : { ratePerSecond: Math.round(ratePerSecond * 10) / 10 })
})

/** How the reporter prints. */
export interface ReporterOptions {
  /** Seconds between progress lines while something changes. */
  readonly everySeconds: number
  /** Width of the rate's sliding window, seconds (default 10). */
  readonly windowSeconds?: number | undefined
  /** While nothing changes, an unchanged line at most this often, seconds (default 60). */
  readonly idleSeconds?: number | undefined
  /** `text` (default): `pandaflow: ingested …`; `json`: one JSON object a line. */
  readonly format?: "text" | "json" | undefined
}

interface Sample {
  readonly at: number
  readonly processed: number
}

/** The processed rate (records/s) over the samples, oldest to newest. */
export const windowRate = (samples: ReadonlyArray<Sample>): number => {
  const first = samples[0]
  const last = samples.at(-1)
  if (first === undefined || last === undefined || last.at <= first.at) return 0
  return (last.processed - first.processed) / ((last.at - first.at) / 1000)
}

const signature = (s: Snapshot) =>
  `${s.received}/${s.ingested}/${s.duplicates}/${s.rejected}/${s.processed}/${s.deadLettered}/${JSON.stringify(s.written)}`

/**
 * Prints progress lines through `emit` until interrupted: samples the counters once a
 * second (Clock), prints every `everySeconds` when a counter moved, with the rate over
 * the last `windowSeconds`; while idle, the unchanged line at most every `idleSeconds`.
 */
export const report = (
  progress: Progress,
  options: ReporterOptions,
  emit: (line: string) => Effect.Effect<void>
): Effect.Effect<never> =>
  Effect.gen(function*() {
    const windowMillis = (options.windowSeconds ?? 10) * 1000
    const everyMillis = Math.max(1, options.everySeconds) * 1000
    const idleMillis = Math.max(options.idleSeconds ?? 60, options.everySeconds) * 1000
    const first = yield* progress.snapshot
    const start = yield* Clock.currentTimeMillis
    let samples: Array<Sample> = [{ at: start, processed: first.processed }]
    let lastPrintAt = start
    let lastSignature = signature(first)
    for (;;) {
      yield* Effect.sleep(1000)
      const s = yield* progress.snapshot
      const now = yield* Clock.currentTimeMillis
      samples.push({ at: now, processed: s.processed })
      samples = samples.filter((x) => x.at >= now - windowMillis)
      if (now - lastPrintAt < everyMillis) continue
      const sig = signature(s)
      if (sig === lastSignature && now - lastPrintAt < idleMillis) continue
      const rate = windowRate(samples)
      yield* emit(
        options.format === "json" ? jsonLine(now, "info", "progress", fields(s, rate)) : `pandaflow: ${format(s, rate)}`
      )
      lastPrintAt = now
      lastSignature = sig
    }
  })
