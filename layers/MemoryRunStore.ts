/**
 * In-memory RunStore: the test double. Same contract as PostgresRunStore (one suite runs
 * against both). Every operation is one atomic `Ref.modify`, which gives the same
 * claim / fencing guarantees as the database's row-level atomicity.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Option, Ref } from "effect"
import type {
  AttemptRecord,
  Fence,
  HeartbeatResult,
  JobRecord,
  RunRecord,
  RunStoreService
} from "../src/scheduler/RunStore.js"
import { isActive, RunStore } from "../src/scheduler/RunStore.js"

interface State {
  readonly jobs: ReadonlyMap<string, JobRecord>
  readonly runs: ReadonlyMap<string, RunRecord>
  readonly attempts: ReadonlyArray<AttemptRecord>
  readonly nextId: number
}

const empty: State = { jobs: new Map(), runs: new Map(), attempts: [], nextId: 1 }

const withRun = (state: State, run: RunRecord): State => ({
  ...state,
  runs: new Map(state.runs).set(run.id, run)
})

const holds = (run: RunRecord | undefined, fence: Fence): run is RunRecord =>
  run !== undefined && run.fencingToken === fence.fencingToken && run.owner === fence.owner

/** Builds a fresh, empty in-memory store. */
export const make: Effect.Effect<RunStoreService> = Effect.gen(function*() {
  const ref = yield* Ref.make(empty)
  const modify = <A>(f: (state: State) => readonly [A, State]) => Ref.modify(ref, (s) => f(s))
  const read = <A>(f: (state: State) => A) => Effect.map(Ref.get(ref), f)

  const service: RunStoreService = {
    registerJob: ({ name, now, timetable }) =>
      Ref.update(ref, (s) => {
        const existing = s.jobs.get(name)
        return {
          ...s,
          jobs: new Map(s.jobs).set(name, { name, timetable, paused: existing?.paused ?? false, updatedAt: now })
        }
      }),
    getJob: (name) => read((s) => Option.fromNullable(s.jobs.get(name))),
    listJobs: read((s) => [...s.jobs.values()].sort((a, b) => a.name.localeCompare(b.name))),
    setPaused: (name, paused, now) =>
      modify((s) => {
        const job = s.jobs.get(name)
        if (job === undefined) return [false, s] as const
        return [true, { ...s, jobs: new Map(s.jobs).set(name, { ...job, paused, updatedAt: now }) }] as const
      }),

    claim: (input) =>
      modify((s) => {
        for (const run of s.runs.values()) {
          if (run.job === input.job && run.key === input.key) return [Option.none(), s] as const
        }
        const final = !isActive(input.state)
        const run: RunRecord = {
          id: String(s.nextId),
          job: input.job,
          key: input.key,
          kind: input.kind,
          slot: input.slot,
          intervalStart: input.intervalStart,
          intervalEnd: input.intervalEnd,
          state: input.state,
          owner: input.owner,
          fencingToken: 1,
          leaseUntil: input.leaseUntil,
          cancelRequested: false,
          createdAt: input.now,
          startedAt: input.state === "running" ? Option.some(input.now) : Option.none(),
          endedAt: final ? Option.some(input.now) : Option.none(),
          error: Option.fromNullable(input.error)
        }
        return [Option.some(run), { ...withRun(s, run), nextId: s.nextId + 1 }] as const
      }),
    countActive: (job, options) =>
      read((s) =>
        [...s.runs.values()].filter((r) =>
          r.job === job && r.id !== options?.exceptRunId &&
          (options?.state === undefined ? isActive(r.state) : r.state === options.state)
        ).length
      ),
    latestScheduledSlot: (job) =>
      read((s) => {
        let latest: number | undefined
        for (const r of s.runs.values()) {
          if (r.job === job && r.kind === "scheduled" && (latest === undefined || r.slot > latest)) latest = r.slot
        }
        return Option.fromNullable(latest)
      }),
    markRunning: (fence, now) =>
      modify((s) => {
        const run = s.runs.get(fence.runId)
        if (!holds(run, fence) || run.state !== "queued") return [false, s] as const
        return [true, withRun(s, { ...run, state: "running", startedAt: Option.some(now) })] as const
      }),
    heartbeat: (fence, leaseUntil) =>
      modify((s): readonly [HeartbeatResult, State] => {
        const run = s.runs.get(fence.runId)
        if (!holds(run, fence) || !isActive(run.state)) {
          return [{ owned: false, cancelRequested: run?.cancelRequested ?? false }, s]
        }
        return [{ owned: true, cancelRequested: run.cancelRequested }, withRun(s, { ...run, leaseUntil })]
      }),
    takeover: (runId, owner, now, leaseUntil) =>
      modify((s) => {
        const run = s.runs.get(runId)
        if (run === undefined || !isActive(run.state) || run.leaseUntil >= now) return [Option.none(), s] as const
        const taken: RunRecord = { ...run, owner, fencingToken: run.fencingToken + 1, leaseUntil }
        return [Option.some(taken), withRun(s, taken)] as const
      }),
    expired: (now) => read((s) => [...s.runs.values()].filter((r) => isActive(r.state) && r.leaseUntil < now)),
    finish: (fence, state, now, error) =>
      modify((s) => {
        const run = s.runs.get(fence.runId)
        if (!holds(run, fence) || !isActive(run.state)) return [false, s] as const
        return [true, withRun(s, { ...run, state, endedAt: Option.some(now), error })] as const
      }),
    requestCancel: (runId) =>
      modify((s) => {
        const run = s.runs.get(runId)
        if (run === undefined || !isActive(run.state)) return [false, s] as const
        return [true, withRun(s, { ...run, cancelRequested: true })] as const
      }),

    startAttempt: (fence, task, attempt, now) =>
      modify((s) => {
        if (!holds(s.runs.get(fence.runId), fence)) return [false, s] as const
        const record: AttemptRecord = {
          runId: fence.runId,
          task,
          attempt,
          state: "running",
          fencingToken: fence.fencingToken,
          startedAt: now,
          endedAt: Option.none(),
          error: Option.none()
        }
        return [true, { ...s, attempts: [...s.attempts, record] }] as const
      }),
    endAttempt: (fence, task, attempt, state, now, error) =>
      modify((s) => {
        if (!holds(s.runs.get(fence.runId), fence)) return [false, s] as const
        let found = false
        const attempts = s.attempts.map((a) => {
          if (
            a.runId === fence.runId && a.task === task && a.attempt === attempt &&
            a.fencingToken === fence.fencingToken
          ) {
            found = true
            return { ...a, state, endedAt: Option.some(now), error }
          }
          return a
        })
        return [found, { ...s, attempts }] as const
      }),

    getRun: (runId) => read((s) => Option.fromNullable(s.runs.get(runId))),
    listRuns: (query) =>
      read((s) =>
        [...s.runs.values()]
          .filter((r) =>
            (query.job === undefined || r.job === query.job) &&
            (query.states === undefined || query.states.includes(r.state))
          )
          .sort((a, b) => b.slot - a.slot || Number(b.id) - Number(a.id))
          .slice(0, query.limit ?? 50)
      ),
    listAttempts: (runId) =>
      read((s) =>
        s.attempts
          .filter((a) => a.runId === runId)
          .sort((a, b) =>
            a.fencingToken - b.fencingToken || a.startedAt - b.startedAt || a.task.localeCompare(b.task) ||
            a.attempt - b.attempt
          )
      )
  }
  return service
})

/** A fresh in-memory store per layer build. */
export const layer: Layer.Layer<RunStore> = Layer.effect(RunStore, make)
