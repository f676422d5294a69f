/**
 * The rows of the Postgres run store's tables, as node-postgres returns them, and their
 * conversion to the RunStore's records (`PostgresRunStore`).
 *
 * @since 0.2.0
 */
import { Option } from "effect"
import type { AttemptRecord, AttemptState, JobRecord, RunKind, RunRecord, RunState } from "../src/scheduler/RunStore.js"

/** A row of `runs`, as node-postgres returns it. */
export interface RunRow {
  readonly id: string
  readonly job: string
  readonly key: string
  readonly kind: string
  readonly slot: Date
  readonly interval_start: Date
  readonly interval_end: Date
  readonly state: string
  readonly owner: string
  readonly fencing_token: string | number
  readonly lease_until: Date
  readonly cancel_requested: boolean
  readonly created_at: Date
  readonly started_at: Date | null
  readonly ended_at: Date | null
  readonly error: string | null
}

/** A row of `attempts`. */
export interface AttemptRow {
  readonly run_id: string
  readonly task: string
  readonly attempt: number
  readonly state: string
  readonly fencing_token: string | number
  readonly started_at: Date
  readonly ended_at: Date | null
  readonly error: string | null
}

/** A row of `jobs`. */
export interface JobRow {
  readonly name: string
  readonly timetable: string
  readonly paused: boolean
  readonly updated_at: Date
}

// node-postgres parses timestamptz to Date (a value conversion, not a clock read).
/** A timestamptz as epoch milliseconds. */
export const ms = (d: Date): number => d.getTime()
/** Epoch milliseconds as a timestamptz parameter. */
export const at = (millis: number): Date => new Date(millis)
/** A nullable timestamptz as an optional epoch. */
export const opt = (d: Date | null): Option.Option<number> => (d === null ? Option.none() : Option.some(d.getTime()))

/** A `runs` row as the RunStore's record. */
export const toRun = (r: RunRow): RunRecord => ({
  id: String(r.id),
  job: r.job,
  key: r.key,
  kind: r.kind as RunKind,
  slot: ms(r.slot),
  intervalStart: ms(r.interval_start),
  intervalEnd: ms(r.interval_end),
  state: r.state as RunState,
  owner: r.owner,
  fencingToken: Number(r.fencing_token),
  leaseUntil: ms(r.lease_until),
  cancelRequested: r.cancel_requested,
  createdAt: ms(r.created_at),
  startedAt: opt(r.started_at),
  endedAt: opt(r.ended_at),
  error: Option.fromNullable(r.error)
})

/** An `attempts` row as the RunStore's record. */
export const toAttempt = (r: AttemptRow): AttemptRecord => ({
  runId: String(r.run_id),
  task: r.task,
  attempt: Number(r.attempt),
  state: r.state as AttemptState,
  fencingToken: Number(r.fencing_token),
  startedAt: ms(r.started_at),
  endedAt: opt(r.ended_at),
  error: Option.fromNullable(r.error)
})

/** A `jobs` row as the RunStore's record. */
export const toJob = (r: JobRow): JobRecord => ({
  name: r.name,
  timetable: r.timetable,
  paused: r.paused,
  updatedAt: ms(r.updated_at)
})
