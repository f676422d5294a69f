/**
 * Run history and coordination: jobs, runs and task attempts, behind one service.
 *
 * The store is also how several scheduler instances agree: a run is *claimed* by a
 * unique insert of (job, key), so only one instance runs a slot; the claimant holds a
 * *lease* it renews by heartbeat, and every write carries a *fencing token* that a
 * takeover increments, so a stalled owner that wakes up cannot overwrite the new
 * owner's run. All times are passed in by the caller (from Clock), never taken from the
 * database, so tests drive them with TestClock.
 *
 * @since 0.1.0
 */
import { Context, Data, type Effect, type Option } from "effect"

/** Why a run exists. */
export type RunKind = "scheduled" | "manual" | "backfill" | "service"

/** Lifecycle of a run. `queued` and `running` are active (leased); the rest are final. */
export type RunState = "queued" | "running" | "success" | "failed" | "cancelled" | "skipped"

/** Final state of a task attempt (`running` while it runs; `skipped` when it skipped itself). */
export type AttemptState = "running" | "success" | "failed" | "skipped"

/** A job as registered by a scheduler. */
export interface JobRecord {
  readonly name: string
  /** Human-readable timetable, e.g. `cron "0 0 * * *" (UTC)`. */
  readonly timetable: string
  readonly paused: boolean
  readonly updatedAt: number
}

/** One run of a job for one slot. Times are epoch milliseconds. */
export interface RunRecord {
  readonly id: string
  readonly job: string
  /** Unique per job: `s:<slot>` for scheduled and backfill runs, else a unique trigger key. */
  readonly key: string
  readonly kind: RunKind
  readonly slot: number
  readonly intervalStart: number
  readonly intervalEnd: number
  readonly state: RunState
  readonly owner: string
  readonly fencingToken: number
  readonly leaseUntil: number
  readonly cancelRequested: boolean
  readonly createdAt: number
  readonly startedAt: Option.Option<number>
  readonly endedAt: Option.Option<number>
  readonly error: Option.Option<string>
}

/** One attempt of one task within a run. */
export interface AttemptRecord {
  readonly runId: string
  readonly task: string
  readonly attempt: number
  readonly state: AttemptState
  readonly fencingToken: number
  readonly startedAt: number
  readonly endedAt: Option.Option<number>
  readonly error: Option.Option<string>
}

/** What a claim inserts. */
export interface NewRun {
  readonly job: string
  readonly key: string
  readonly kind: RunKind
  readonly slot: number
  readonly intervalStart: number
  readonly intervalEnd: number
  /** `queued`/`running` for a run that will execute, `skipped` to record a skipped slot. */
  readonly state: RunState
  readonly owner: string
  readonly leaseUntil: number
  readonly now: number
  /** For a skipped run: why. */
  readonly error?: string | undefined
}

/** Identifies the holder of a run: writes succeed only while `fencingToken` is current. */
export interface Fence {
  readonly runId: string
  readonly owner: string
  readonly fencingToken: number
}

/** The result of a heartbeat. */
export interface HeartbeatResult {
  /** False when the lease was taken over (fencing token moved on) or the run is final. */
  readonly owned: boolean
  readonly cancelRequested: boolean
}

/** Filter for `listRuns`. */
export interface RunQuery {
  readonly job?: string | undefined
  readonly states?: ReadonlyArray<RunState> | undefined
  /** Newest first; default 50. */
  readonly limit?: number | undefined
}

/** The store failed: `operation` names the call, `cause` the driver error. */
export class RunStoreError extends Data.TaggedError("RunStoreError")<{
  readonly operation: string
  readonly message: string
  readonly cause?: unknown
}> {}

/** The service. */
export interface RunStoreService {
  /** Registers a job, or updates its timetable; keeps its `paused` flag. */
  readonly registerJob: (job: { readonly name: string; readonly timetable: string; readonly now: number }) => Effect.Effect<void, RunStoreError>
  readonly getJob: (name: string) => Effect.Effect<Option.Option<JobRecord>, RunStoreError>
  readonly listJobs: Effect.Effect<ReadonlyArray<JobRecord>, RunStoreError>
  /** Sets the paused flag; false if there is no such job. */
  readonly setPaused: (name: string, paused: boolean, now: number) => Effect.Effect<boolean, RunStoreError>

  /** Inserts the run unless (job, key) exists. Some(run) to the one claimant, None to everyone else. */
  readonly claim: (run: NewRun) => Effect.Effect<Option.Option<RunRecord>, RunStoreError>
  /** Number of `queued`/`running` runs of a job (excluding `exceptRunId`). */
  readonly countActive: (job: string, options?: { readonly state?: "queued" | "running"; readonly exceptRunId?: string }) => Effect.Effect<number, RunStoreError>
  /** The greatest slot among scheduled runs of a job (any state): where catchup resumes. */
  readonly latestScheduledSlot: (job: string) => Effect.Effect<Option.Option<number>, RunStoreError>
  /** Moves a `queued` run to `running` (fenced). */
  readonly markRunning: (fence: Fence, now: number) => Effect.Effect<boolean, RunStoreError>
  /** Extends the lease of an active run (fenced). */
  readonly heartbeat: (fence: Fence, leaseUntil: number) => Effect.Effect<HeartbeatResult, RunStoreError>
  /**
   * Takes over an active run whose lease expired before `now`: new owner, fencing token
   * + 1, new lease. Some(run) only to the instance that won the takeover.
   */
  readonly takeover: (runId: string, owner: string, now: number, leaseUntil: number) => Effect.Effect<Option.Option<RunRecord>, RunStoreError>
  /** Active runs whose lease expired before `now`. */
  readonly expired: (now: number) => Effect.Effect<ReadonlyArray<RunRecord>, RunStoreError>
  /** Finishes a run (fenced); false when the fence is stale or the run is already final. */
  readonly finish: (fence: Fence, state: "success" | "failed" | "cancelled", now: number, error: Option.Option<string>) => Effect.Effect<boolean, RunStoreError>
  /** Asks the owner to cancel an active run; false if there is no such active run. */
  readonly requestCancel: (runId: string) => Effect.Effect<boolean, RunStoreError>

  /** Records the start of a task attempt (fenced); false when the fence is stale. */
  readonly startAttempt: (fence: Fence, task: string, attempt: number, now: number) => Effect.Effect<boolean, RunStoreError>
  /** Records the end of a task attempt (fenced). */
  readonly endAttempt: (fence: Fence, task: string, attempt: number, state: "success" | "failed" | "skipped", now: number, error: Option.Option<string>) => Effect.Effect<boolean, RunStoreError>

  readonly getRun: (runId: string) => Effect.Effect<Option.Option<RunRecord>, RunStoreError>
  readonly listRuns: (query: RunQuery) => Effect.Effect<ReadonlyArray<RunRecord>, RunStoreError>
  /** Attempts of a run, in the order they started (per fencing token). */
  readonly listAttempts: (runId: string) => Effect.Effect<ReadonlyArray<AttemptRecord>, RunStoreError>
}

/** The tag the scheduler asks for. */
export class RunStore extends Context.Tag("pandaflow/scheduler/RunStore")<RunStore, RunStoreService>() {}

/** The claim key of a scheduled or backfilled slot: one run per (job, slot). */
export const slotKey = (slot: number): string => `s:${slot}`

/** True for states that hold a lease. */
export const isActive = (state: RunState): boolean => state === "queued" || state === "running"
