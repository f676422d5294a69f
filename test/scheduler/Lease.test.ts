/**
 * Lease: claims fill in owner and lease end, heartbeats signal a lost lease and a cancel
 * request, and the reaper takes over expired runs (services are marked failed). The
 * scheduler and the supervisor hold their runs through this module.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Option, TestClock } from "effect"
import * as Lease from "../../src/scheduler/Lease.js"
import type { Claim } from "../../src/scheduler/Lease.js"
import { RunStore, RunStoreError, type RunStoreService } from "../../src/scheduler/RunStore.js"
import { advance, getRun, withMemoryStore } from "./support.js"

const claimOf = (job: string, now: number, overrides: Partial<Claim> = {}): Claim => ({
  job,
  key: `s:${now}`,
  kind: "scheduled",
  slot: now,
  intervalStart: now,
  intervalEnd: now,
  state: "running",
  now,
  ...overrides
})

const claimed = (lease: Lease.LeaseService, claim: Claim) =>
  Effect.map(lease.claim(claim), (r) => Option.getOrThrowWith(r, () => new Error(`claim of ${claim.key} refused`)))

describe("Lease", () => {
  it.effect("claim writes the owner and a lease from the claim's time; a second claim of the key gets None", () =>
    withMemoryStore(() =>
      Effect.gen(function*() {
        const a = yield* Lease.make({ owner: "a", lease: "20 seconds" })
        const b = yield* Lease.make({ owner: "b" })
        const run = yield* claimed(a, claimOf("j", 1_000))
        expect(run).toMatchObject({ owner: "a", leaseUntil: 21_000, fencingToken: 1 })
        expect(a.fence(run)).toEqual({ runId: run.id, owner: "a", fencingToken: 1 })
        expect(yield* b.claim(claimOf("j", 1_000))).toEqual(Option.none())
        expect(b.millis).toBe(30_000)
      })
    ))

  it.effect("keepAlive renews the lease, signals a cancel request, and signals loss after a takeover", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        const a = yield* Lease.make({ owner: "a", lease: "30 seconds" })
        const b = yield* Lease.make({ owner: "b", lease: "30 seconds" })
        const run = yield* claimed(a, claimOf("j", 0))
        const cancel = yield* Deferred.make<void>()
        const lost = yield* Deferred.make<void>()
        const beat = yield* Effect.fork(a.keepAlive(a.fence(run), {
          every: "10 seconds",
          onCancel: Deferred.succeed(cancel, undefined),
          onLost: Deferred.succeed(lost, undefined)
        }))
        yield* advance("10 seconds")
        expect((yield* getRun(store, run.id)).leaseUntil).toBe(40_000)
        expect(yield* Deferred.isDone(cancel)).toBe(false)

        yield* store.requestCancel(run.id)
        yield* advance("10 seconds")
        expect(yield* Deferred.isDone(cancel)).toBe(true)
        expect(yield* Deferred.isDone(lost)).toBe(false)

        // Not yet expired: no takeover. Then b takes the expired lease and a learns of it.
        expect(yield* b.takeover(run, 20_000)).toEqual(Option.none())
        const taken = Option.getOrThrow(yield* b.takeover(run, 60_000))
        expect(taken).toMatchObject({ owner: "b", fencingToken: 2, leaseUntil: 90_000 })
        yield* advance("10 seconds")
        expect(yield* Deferred.isDone(lost)).toBe(true)
        yield* Fiber.interrupt(beat)
      })
    ))

  it.effect("keepAlive goes on after a failed heartbeat, reporting it through onError", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        let calls = 0
        const flaky: RunStoreService = {
          ...store,
          heartbeat: (fence, leaseUntil) =>
            Effect.suspend(() => {
              calls += 1
              return calls === 1
                ? Effect.fail(new RunStoreError({ operation: "heartbeat", message: "store down" }))
                : store.heartbeat(fence, leaseUntil)
            })
        }
        const errors: Array<string> = []
        yield* Effect.gen(function*() {
          const a = yield* Lease.make({ owner: "a", lease: "30 seconds" })
          const run = yield* claimed(a, claimOf("j", 0))
          const beat = yield* Effect.fork(a.keepAlive(a.fence(run), {
            every: "10 seconds",
            onError: (error) => Effect.sync(() => errors.push(error.message))
          }))
          yield* advance("20 seconds")
          expect(errors).toEqual(["store down"])
          expect((yield* getRun(store, run.id)).leaseUntil).toBe(50_000)
          yield* Fiber.interrupt(beat)
        }).pipe(Effect.provideService(RunStore, flaky))
      })
    ))

  it.effect("reapOnce: a service run is marked failed, an adopted run resumed, others left alone", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        const dead = yield* Lease.make({ owner: "dead", lease: "10 seconds" })
        const reaper = yield* Lease.make({ owner: "r", lease: "10 seconds" })
        const service = yield* claimed(dead, claimOf("svc", 0, { kind: "service", key: "r:0" }))
        const mine = yield* claimed(dead, claimOf("known", 0))
        const other = yield* claimed(dead, claimOf("unknown", 0))
        yield* TestClock.adjust(Duration.seconds(11))
        const resumed: Array<string> = []
        yield* reaper.reapOnce({
          adopt: (run) => run.job === "known",
          resume: (taken) => Effect.sync(() => resumed.push(`${taken.id}@${taken.owner}#${taken.fencingToken}`))
        })
        expect(resumed).toEqual([`${mine.id}@r#2`])
        expect(yield* getRun(store, service.id)).toMatchObject({
          state: "failed",
          owner: "r",
          error: Option.some("owner dead stopped heartbeating")
        })
        expect(yield* getRun(store, other.id)).toMatchObject({ state: "running", owner: "dead", fencingToken: 1 })
      })
    ))
})
