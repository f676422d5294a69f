/**
 * A job: a DAG plus when it runs (timetable), what happens to missed slots (catchup)
 * and what happens when a slot comes while a previous run is still active (overlap).
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type { Dag } from "./Dag.js"
import type { Timetable } from "./Timetable.js"

/**
 * What to do with slots that passed while the scheduler was down (or the job paused):
 * - `none`: skip them; run from the next slot on.
 * - `latest`: run only the most recent missed slot (default).
 * - `all`: run every missed slot, oldest first, at most `maxCatchup` (the most recent ones).
 */
export type Catchup = "none" | "latest" | "all"

/**
 * What to do when a slot comes while earlier runs of the job are still active:
 * - `skip`: record the slot as skipped (default).
 * - `queue_one`: keep one run waiting; it starts when the active run ends. Further slots are skipped.
 * - `{ allow: n }`: run up to `n` runs at once; beyond that, skip.
 */
export type Overlap = "skip" | "queue_one" | { readonly allow: number }

/** A job definition. */
export interface Job<out R = never> {
  readonly name: string
  readonly dag: Dag<R>
  readonly timetable: Timetable
  readonly catchup: Catchup
  /** Bound on catch-up runs for `catchup: "all"`. */
  readonly maxCatchup: number
  readonly overlap: Overlap
  /** No slot before this instant (epoch ms) runs; where catchup starts for a job with no history. */
  readonly start: number | undefined
}

/** A job definition is unusable: bad timetable, unknown pool, duplicate job. Raised at start-up. */
export class InvalidJob extends Data.TaggedError("InvalidJob")<{
  readonly job: string
  readonly message: string
}> {}

/** Options of `make`. */
export interface Options {
  readonly timetable: Timetable
  readonly catchup?: Catchup | undefined
  readonly maxCatchup?: number | undefined
  readonly overlap?: Overlap | undefined
  readonly start?: number | undefined
}

/** Defines a job running `dag` on `timetable`. The job is named after its DAG. */
export const make = <R = never>(dag: Dag<R>, options: Options): Job<R> => ({
  name: dag.name,
  dag,
  timetable: options.timetable,
  catchup: options.catchup ?? "latest",
  maxCatchup: options.maxCatchup ?? 10,
  overlap: options.overlap ?? "skip",
  start: options.start
})

/** How many runs of the job may be active at once, and whether one more may wait. */
export const overlapLimit = (overlap: Overlap): { readonly running: number; readonly queue: boolean } =>
  overlap === "skip"
    ? { running: 1, queue: false }
    : overlap === "queue_one"
    ? { running: 1, queue: true }
    : { running: Math.max(1, Math.floor(overlap.allow)), queue: false }
