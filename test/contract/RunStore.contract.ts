/**
 * The RunStore contract: one suite that the in-memory double and the Postgres store both
 * pass, so the double the scheduler tests use cannot drift from the real thing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, type Scope } from "effect"
import type { Fence, NewRun, RunRecord, RunStoreService } from "../../src/scheduler/RunStore.js"

const T0 = Date.UTC(2024, 0, 1, 0, 0, 0, 123) // millisecond precision must survive the round trip
const LEASE = 30_000

/**
 * Registers the suite for one implementation. `acquire` builds a store (in the test's
 * scope); a failure fails every test with its cause, never skips.
 */
export const runStoreContract = (
  name: string,
  acquire: Effect.Effect<RunStoreService, unknown, Scope.Scope>
): void => {
  describe(`RunStore contract: ${name}`, () => {
    // Unique names per test: the live store is shared across runs of the suite.
    const unique = (label: string) => `${label}_${crypto.randomUUID().slice(0, 8)}`
    const newRun = (job: string, slot: number, overrides: Partial<NewRun> = {}): NewRun => ({
      job,
      key: `s:${slot}`,
      kind: "scheduled",
      slot,
      intervalStart: slot - 86_400_000,
      intervalEnd: slot,
      state: "running",
      owner: "a",
      leaseUntil: T0 + LEASE,
      now: T0,
      ...overrides
    })
    const fenceOf = (run: RunRecord): Fence => ({ runId: run.id, owner: run.owner, fencingToken: run.fencingToken })
    const claimed = (store: RunStoreService, run: NewRun) =>
      Effect.map(store.claim(run), (r) => Option.getOrThrowWith(r, () => new Error(`claim of ${run.key} refused`)))
    const test = (title: string, body: (store: RunStoreService) => Effect.Effect<void, unknown>) =>
      it.live(title, () => Effect.scoped(Effect.flatMap(acquire, body)), 60_000)

    test("jobs: register keeps the paused flag; setPaused on an unknown job is false", (store) =>
      Effect.gen(function*() {
        const job = unique("job")
        yield* store.registerJob({ name: job, timetable: "manual", now: T0 })
        expect(yield* store.setPaused(job, true, T0 + 1)).toBe(true)
        yield* store.registerJob({ name: job, timetable: `cron "0 0 * * *" (UTC)`, now: T0 + 2 })
        const record = Option.getOrThrow(yield* store.getJob(job))
        expect(record).toEqual({ name: job, timetable: `cron "0 0 * * *" (UTC)`, paused: true, updatedAt: T0 + 2 })
        expect((yield* store.listJobs).some((j) => j.name === job)).toBe(true)
        expect(yield* store.setPaused(unique("missing"), true, T0)).toBe(false)
        expect(yield* store.getJob(unique("missing"))).toEqual(Option.none())
      }))

    test("claim: (job, key) is claimed once; the record round-trips exactly", (store) =>
      Effect.gen(function*() {
        const job = unique("claim")
        const input = newRun(job, T0)
        const run = yield* claimed(store, input)
        expect(run).toMatchObject({
          job,
          key: `s:${T0}`,
          kind: "scheduled",
          slot: T0,
          intervalStart: T0 - 86_400_000,
          intervalEnd: T0,
          state: "running",
          owner: "a",
          fencingToken: 1,
          leaseUntil: T0 + LEASE,
          cancelRequested: false,
          createdAt: T0
        })
        expect(run.startedAt).toEqual(Option.some(T0))
        expect(run.endedAt).toEqual(Option.none())
        expect(run.error).toEqual(Option.none())
        expect(yield* store.claim({ ...input, owner: "b" })).toEqual(Option.none())
        expect(Option.isSome(yield* store.claim(newRun(job, T0 + 1)))).toBe(true)
        expect(Option.isSome(yield* store.claim(newRun(unique("other"), T0)))).toBe(true)
        expect(yield* store.getRun(run.id)).toEqual(Option.some(run))
      }))

    test("claim: of 20 concurrent claims of one slot exactly one wins", (store) =>
      Effect.gen(function*() {
        const job = unique("race")
        const results = yield* Effect.all(
          Array.from({ length: 20 }, (_, i) => store.claim(newRun(job, T0, { owner: `i${i}` }))),
          { concurrency: "unbounded" }
        )
        expect(results.filter(Option.isSome).length).toBe(1)
        expect((yield* store.listRuns({ job })).length).toBe(1)
      }))

    test("a skipped claim is final at once, with its reason; queued → running by markRunning", (store) =>
      Effect.gen(function*() {
        const job = unique("states")
        const skipped = yield* claimed(store, newRun(job, T0, { state: "skipped", error: "overlap" }))
        expect([skipped.state, skipped.endedAt, skipped.error]).toEqual(["skipped", Option.some(T0), Option.some("overlap")])
        const queued = yield* claimed(store, newRun(job, T0 + 1, { state: "queued" }))
        expect(queued.startedAt).toEqual(Option.none())
        expect(yield* store.countActive(job)).toBe(1)
        expect(yield* store.countActive(job, { state: "running" })).toBe(0)
        expect(yield* store.markRunning({ ...fenceOf(queued), fencingToken: 2 }, T0 + 5)).toBe(false)
        expect(yield* store.markRunning(fenceOf(queued), T0 + 5)).toBe(true)
        expect(yield* store.markRunning(fenceOf(queued), T0 + 6)).toBe(false)
        const running = Option.getOrThrow(yield* store.getRun(queued.id))
        expect([running.state, running.startedAt]).toEqual(["running", Option.some(T0 + 5)])
        expect(yield* store.countActive(job, { state: "running" })).toBe(1)
        expect(yield* store.countActive(job, { exceptRunId: queued.id })).toBe(0)
      }))

    test("latestScheduledSlot counts scheduled runs only", (store) =>
      Effect.gen(function*() {
        const job = unique("latest")
        expect(yield* store.latestScheduledSlot(job)).toEqual(Option.none())
        yield* claimed(store, newRun(job, T0))
        yield* claimed(store, newRun(job, T0 + 86_400_000, { state: "skipped" }))
        yield* claimed(store, newRun(job, T0 + 9 * 86_400_000, { kind: "backfill" }))
        yield* claimed(store, newRun(job, T0 + 9 * 86_400_000, { kind: "manual", key: "m:1" }))
        expect(yield* store.latestScheduledSlot(job)).toEqual(Option.some(T0 + 86_400_000))
      }))

    test("heartbeat extends the lease of the current holder only", (store) =>
      Effect.gen(function*() {
        const run = yield* claimed(store, newRun(unique("hb"), T0))
        expect(yield* store.heartbeat(fenceOf(run), T0 + 2 * LEASE)).toEqual({ owned: true, cancelRequested: false })
        expect(Option.getOrThrow(yield* store.getRun(run.id)).leaseUntil).toBe(T0 + 2 * LEASE)
        expect((yield* store.heartbeat({ ...fenceOf(run), owner: "b" }, T0 + 3 * LEASE)).owned).toBe(false)
        expect((yield* store.heartbeat({ ...fenceOf(run), fencingToken: 7 }, T0 + 3 * LEASE)).owned).toBe(false)
        expect(Option.getOrThrow(yield* store.getRun(run.id)).leaseUntil).toBe(T0 + 2 * LEASE)
      }))

    test("takeover: only after the lease expired, by one instance, and it fences the old owner out", (store) =>
      Effect.gen(function*() {
        const job = unique("takeover")
        const run = yield* claimed(store, newRun(job, T0))
        const old = fenceOf(run)
        yield* store.startAttempt(old, "t", 1, T0)
        // Not yet expired.
        expect(yield* store.takeover(run.id, "b", T0 + LEASE, T0 + 2 * LEASE)).toEqual(Option.none())
        expect((yield* store.expired(T0 + LEASE)).some((r) => r.id === run.id)).toBe(false)
        const later = T0 + LEASE + 1
        expect((yield* store.expired(later)).some((r) => r.id === run.id)).toBe(true)
        // Several instances race for it: one wins.
        const races = yield* Effect.all(
          ["b", "c", "d", "e"].map((owner) => store.takeover(run.id, owner, later, later + LEASE)),
          { concurrency: "unbounded" }
        )
        const winners = races.filter(Option.isSome).map((o) => o.value)
        expect(winners.length).toBe(1)
        const taken = winners[0]!
        expect([taken.fencingToken, taken.leaseUntil, taken.state]).toEqual([2, later + LEASE, "running"])
        const fresh = fenceOf(taken)
        // The old owner can no longer write anything.
        expect((yield* store.heartbeat(old, later + 5)).owned).toBe(false)
        expect(yield* store.startAttempt(old, "t", 2, later)).toBe(false)
        expect(yield* store.endAttempt(old, "t", 1, "success", later, Option.none())).toBe(false)
        expect(yield* store.finish(old, "success", later, Option.none())).toBe(false)
        // The new one can.
        expect(yield* store.startAttempt(fresh, "t", 1, later)).toBe(true)
        expect(yield* store.endAttempt(fresh, "t", 1, "success", later + 10, Option.none())).toBe(true)
        expect(yield* store.finish(fresh, "success", later + 20, Option.none())).toBe(true)
        const final = Option.getOrThrow(yield* store.getRun(run.id))
        expect([final.state, final.owner, final.fencingToken, final.endedAt]).toEqual([
          "success",
          taken.owner,
          2,
          Option.some(later + 20)
        ])
        expect((yield* store.listAttempts(run.id)).map((a) => [a.fencingToken, a.task, a.attempt, a.state])).toEqual([
          [1, "t", 1, "running"],
          [2, "t", 1, "success"]
        ])
      }))

    test("finish is final: a second finish, a heartbeat or a takeover of a finished run all fail", (store) =>
      Effect.gen(function*() {
        const run = yield* claimed(store, newRun(unique("finish"), T0))
        expect(yield* store.finish(fenceOf(run), "failed", T0 + 5, Option.some("boom"))).toBe(true)
        expect(yield* store.finish(fenceOf(run), "success", T0 + 6, Option.none())).toBe(false)
        expect((yield* store.heartbeat(fenceOf(run), T0 + LEASE)).owned).toBe(false)
        expect(yield* store.takeover(run.id, "b", T0 + 10 * LEASE, T0 + 11 * LEASE)).toEqual(Option.none())
        expect((yield* store.expired(T0 + 10 * LEASE)).some((r) => r.id === run.id)).toBe(false)
        const final = Option.getOrThrow(yield* store.getRun(run.id))
        expect([final.state, final.error, final.endedAt]).toEqual(["failed", Option.some("boom"), Option.some(T0 + 5)])
      }))

    test("requestCancel reaches the owner through its heartbeat; not for final or unknown runs", (store) =>
      Effect.gen(function*() {
        const run = yield* claimed(store, newRun(unique("cancel"), T0))
        expect(yield* store.requestCancel(run.id)).toBe(true)
        expect(yield* store.heartbeat(fenceOf(run), T0 + LEASE)).toEqual({ owned: true, cancelRequested: true })
        yield* store.finish(fenceOf(run), "cancelled", T0 + 1, Option.some("cancelled on request"))
        expect(yield* store.requestCancel(run.id)).toBe(false)
        expect(yield* store.requestCancel("987654321")).toBe(false)
        expect(yield* store.requestCancel("not-a-number")).toBe(false)
        expect(yield* store.getRun("not-a-number")).toEqual(Option.none())
        expect(yield* store.listAttempts("not-a-number")).toEqual([])
      }))

    test("attempts record start, end, state and error in start order", (store) =>
      Effect.gen(function*() {
        const run = yield* claimed(store, newRun(unique("attempts"), T0))
        const f = fenceOf(run)
        expect(yield* store.startAttempt(f, "extract", 1, T0 + 1)).toBe(true)
        expect(yield* store.endAttempt(f, "extract", 1, "failed", T0 + 2, Option.some("timeout"))).toBe(true)
        expect(yield* store.startAttempt(f, "extract", 2, T0 + 3)).toBe(true)
        expect(yield* store.endAttempt(f, "extract", 2, "success", T0 + 4, Option.none())).toBe(true)
        expect(yield* store.startAttempt(f, "load", 1, T0 + 5)).toBe(true)
        expect(yield* store.endAttempt(f, "load", 1, "skipped", T0 + 6, Option.some("skipped: no data"))).toBe(true)
        expect(yield* store.endAttempt(f, "nope", 1, "success", T0 + 6, Option.none())).toBe(false)
        expect(yield* store.listAttempts(run.id)).toEqual([
          { runId: run.id, task: "extract", attempt: 1, state: "failed", fencingToken: 1, startedAt: T0 + 1, endedAt: Option.some(T0 + 2), error: Option.some("timeout") },
          { runId: run.id, task: "extract", attempt: 2, state: "success", fencingToken: 1, startedAt: T0 + 3, endedAt: Option.some(T0 + 4), error: Option.none() },
          { runId: run.id, task: "load", attempt: 1, state: "skipped", fencingToken: 1, startedAt: T0 + 5, endedAt: Option.some(T0 + 6), error: Option.some("skipped: no data") }
        ])
      }))

    test("listRuns filters by job and state, newest slot first, limited", (store) =>
      Effect.gen(function*() {
        const job = unique("list")
        for (let i = 0; i < 5; i++) yield* claimed(store, newRun(job, T0 + i * 1000, { state: i % 2 === 0 ? "running" : "skipped" }))
        yield* claimed(store, newRun(unique("elsewhere"), T0))
        expect((yield* store.listRuns({ job })).map((r) => r.slot - T0)).toEqual([4000, 3000, 2000, 1000, 0])
        expect((yield* store.listRuns({ job, states: ["skipped"] })).map((r) => r.slot - T0)).toEqual([3000, 1000])
        expect((yield* store.listRuns({ job, limit: 2 })).map((r) => r.slot - T0)).toEqual([4000, 3000])
      }))
  })
}
