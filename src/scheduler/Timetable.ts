/**
 * When a job's runs fall: cron in an explicit IANA zone, a fixed interval, or manual.
 *
 * Named `Timetable` (Airflow's word) rather than `Schedule` so it never shadows
 * Effect's `Schedule`, which the scheduler uses for retries and backoff.
 *
 * A *slot* is an instant (epoch milliseconds) at which a run is due. A run for slot `s`
 * processes the data interval `[previous slot, s)`.
 *
 * @since 0.1.0
 */
import { Cron, Data, Duration, Either, Option } from "effect"

/** A cron expression or time zone that does not parse. Raised at start-up, not at the first slot. */
export class InvalidTimetable extends Data.TaggedError("InvalidTimetable")<{
  readonly expression: string
  readonly zone: string
  readonly message: string
}> {}

/** Cron expression evaluated in an explicit IANA time zone (never the host's zone). */
export interface CronTimetable {
  readonly _tag: "Cron"
  readonly expression: string
  readonly zone: string
}

/** Every `every`, on the grid `anchor + k * every` (anchor in epoch ms, default 0). */
export interface IntervalTimetable {
  readonly _tag: "Interval"
  readonly every: Duration.Duration
  readonly anchor: number
}

/** No slots: the job runs only when triggered or backfilled. */
export interface ManualTimetable {
  readonly _tag: "Manual"
}

/** A job's timetable, as declared (not yet validated). */
export type Timetable = CronTimetable | IntervalTimetable | ManualTimetable

/** A validated timetable, ready to compute slots. */
export type Compiled =
  | { readonly _tag: "Cron"; readonly source: CronTimetable; readonly cron: Cron.Cron }
  | { readonly _tag: "Interval"; readonly source: IntervalTimetable; readonly millis: number }
  | { readonly _tag: "Manual"; readonly source: ManualTimetable }

/** The data interval of a run: `[start, end)`, epoch milliseconds. */
export interface DataInterval {
  readonly start: number
  readonly end: number
}

/** Cron timetable. The zone is required: a missing zone silently means "the host's zone". */
export const cron = (expression: string, options: { readonly zone: string }): CronTimetable => ({
  _tag: "Cron",
  expression,
  zone: options.zone
})

/** Fixed-interval timetable on the grid `anchor + k * every`. */
export const interval = (
  every: Duration.DurationInput,
  options?: { readonly anchor?: number | undefined }
): IntervalTimetable => ({ _tag: "Interval", every: Duration.decode(every), anchor: options?.anchor ?? 0 })

/** Manual-only timetable. */
export const manual: ManualTimetable = { _tag: "Manual" }

/** Validates a timetable: parses the cron expression and its zone, checks the interval. */
export const compile = (timetable: Timetable): Either.Either<Compiled, InvalidTimetable> => {
  switch (timetable._tag) {
    case "Cron":
      return Cron.parse(timetable.expression, timetable.zone).pipe(
        Either.map((cron): Compiled => ({ _tag: "Cron", source: timetable, cron })),
        Either.mapLeft((error) =>
          new InvalidTimetable({
            expression: timetable.expression,
            zone: timetable.zone,
            message: `invalid cron timetable "${timetable.expression}" in zone "${timetable.zone}": ${error.message}`
          })
        )
      )
    case "Interval": {
      const millis = Duration.toMillis(timetable.every)
      return Number.isFinite(millis) && millis >= 1
        ? Either.right({ _tag: "Interval", source: timetable, millis })
        : Either.left(
          new InvalidTimetable({
            expression: `every ${Duration.format(timetable.every)}`,
            zone: "UTC",
            message: "an interval timetable needs a finite period of at least 1 millisecond"
          })
        )
    }
    case "Manual":
      return Either.right({ _tag: "Manual", source: timetable })
  }
}

/** A human-readable description, e.g. `cron "0 0 * * *" (UTC)`. */
export const describe = (timetable: Timetable): string => {
  switch (timetable._tag) {
    case "Cron":
      return `cron "${timetable.expression}" (${timetable.zone})`
    case "Interval":
      return `every ${Duration.format(timetable.every)}`
    case "Manual":
      return "manual"
  }
}

/** The first slot strictly after `after`, or none for a manual timetable. */
export const next = (timetable: Compiled, after: number): Option.Option<number> => {
  switch (timetable._tag) {
    case "Cron":
      return Option.some(Cron.next(timetable.cron, after).getTime())
    case "Interval": {
      const { anchor } = timetable.source
      const k = Math.floor((after - anchor) / timetable.millis) + 1
      return Option.some(anchor + k * timetable.millis)
    }
    case "Manual":
      return Option.none()
  }
}

/**
 * The last slot strictly before `before`.
 *
 * For cron this is built on `Cron.next` only: effect's `Cron.prev` returns its own input
 * again at a spring-forward boundary in a DST zone (checked with Europe/Berlin on
 * effect 3.22.4), which would loop forever. We widen a window backwards until it holds
 * a slot, then walk forward to the last slot before `before`.
 */
export const previous = (timetable: Compiled, before: number): Option.Option<number> => {
  switch (timetable._tag) {
    case "Cron": {
      let step = 1000
      // Cron fields repeat at least every few years; give up well beyond that.
      const limit = 20 * 366 * 24 * 3600 * 1000
      while (step <= limit) {
        const from = before - step
        let slot = Cron.next(timetable.cron, from).getTime()
        if (slot < before) {
          for (;;) {
            const following = Cron.next(timetable.cron, slot).getTime()
            if (following >= before) return Option.some(slot)
            slot = following
          }
        }
        step *= 2
      }
      return Option.none()
    }
    case "Interval": {
      const { anchor } = timetable.source
      const k = Math.ceil((before - anchor) / timetable.millis) - 1
      return Option.some(anchor + k * timetable.millis)
    }
    case "Manual":
      return Option.none()
  }
}

/**
 * The data interval of the run for `slot`: `[previous slot, slot)`. A manual timetable
 * (or a slot off the grid, e.g. "trigger now") gets `[previous slot, at)` or `[at, at)`.
 */
export const dataInterval = (timetable: Compiled, slot: number): DataInterval =>
  Option.match(previous(timetable, slot), {
    onNone: () => ({ start: slot, end: slot }),
    onSome: (start) => ({ start, end: slot })
  })

/**
 * The latest `limit` slots in `(after, upTo]`, oldest first. Bounded by construction:
 * it walks backwards from `upTo`, so a long downtime costs `limit` steps, not one per
 * missed slot.
 */
export const slotsBetween = (
  timetable: Compiled,
  after: number,
  upTo: number,
  limit: number
): ReadonlyArray<number> => {
  const slots: Array<number> = []
  let cursor = upTo + 1
  while (slots.length < limit) {
    const slot = previous(timetable, cursor)
    if (Option.isNone(slot) || slot.value <= after) break
    slots.push(slot.value)
    cursor = slot.value
  }
  return slots.reverse()
}

/** Every slot in `[start, end]`, oldest first, at most `limit` (for backfills). */
export const slotsInRange = (
  timetable: Compiled,
  start: number,
  end: number,
  limit: number
): ReadonlyArray<number> => {
  const slots: Array<number> = []
  let cursor = start - 1
  while (slots.length < limit) {
    const slot = next(timetable, cursor)
    if (Option.isNone(slot) || slot.value > end) break
    slots.push(slot.value)
    cursor = slot.value
  }
  return slots
}
