/**
 * Claims, leases and fencing: how an instance comes to hold a run and keeps holding it.
 *
 * A run is *claimed* by the RunStore's unique insert of (job, key): only one instance
 * gets it. The claimant holds a *lease* (`leaseUntil`) that it renews by heartbeat; a run
 * whose lease expired is *taken over* by another instance, which bumps the *fencing
 * token*, so the stalled owner's later writes are refused. The scheduler (runs) and the
 * supervisor (services) both hold their runs through this module.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Option } from "effect"
import type { Fence, NewRun, RunRecord, RunStoreError } from "./RunStore.js"
import { RunStore } from "./RunStore.js"

/** Options of `make`. */
export interface Options {
  /** The lease owner written on every claim and takeover (the instance id). */
  readonly owner: string
  /** How long a lease lasts without a heartbeat. Default 30 seconds. */
  readonly lease?: Duration.DurationInput | undefined
}

/** A claim: the run to insert, minus what the lease fills in (owner and lease end). */
export type Claim = Omit<NewRun, "owner" | "leaseUntil">

/** What a heartbeat loop does with the store's answers. */
export interface KeepAliveOptions {
  /** Time between heartbeats; must be well under the lease. */
  readonly every: Duration.DurationInput
  /** Runs (once per beat) when the run is no longer held: taken over, or final. */
  readonly onLost?: Effect.Effect<void> | undefined
  /** Runs (once per beat) when someone asked to cancel the run. */
  readonly onCancel?: Effect.Effect<void> | undefined
  /** What to do when a heartbeat fails; the loop goes on. Default: log a warning. */
  readonly onError?: ((error: RunStoreError) => Effect.Effect<void>) | undefined
}

/** What the reaper does with expired runs of kinds other than `service`. */
export interface ReapOptions {
  /** Whether this instance can resume the run (e.g. it knows the job). */
  readonly adopt: (run: RunRecord) => boolean
  /** Resumes a run this instance just took over (with its new fencing token). */
  readonly resume: (taken: RunRecord) => Effect.Effect<void>
}

/** The leases of one owner on the ambient RunStore. */
export interface LeaseService {
  readonly owner: string
  /** Lease length in milliseconds. */
  readonly millis: number
  /** The lease end for a lease taken or renewed at `now`. */
  readonly until: (now: number) => number
  /** The fence this owner holds on a run it claimed or took over. */
  readonly fence: (run: RunRecord) => Fence
  /** Claims (job, key) with a lease from `claim.now`: Some to the one claimant, None to everyone else. */
  readonly claim: (claim: Claim) => Effect.Effect<Option.Option<RunRecord>, RunStoreError>
  /** Takes over a run whose lease expired before `now`; Some only to the winner. */
  readonly takeover: (run: RunRecord, now: number) => Effect.Effect<Option.Option<RunRecord>, RunStoreError>
  /** Renews the lease every `options.every`, forever (interrupt it to stop); never fails. */
  readonly keepAlive: (fence: Fence, options: KeepAliveOptions) => Effect.Effect<never>
  /**
   * One reaper pass over runs whose lease expired: a `service` run is taken over and
   * marked failed (a supervised service is not re-run elsewhere); any other run this
   * instance `adopt`s is taken over and `resume`d.
   */
  readonly reapOnce: (options: ReapOptions) => Effect.Effect<void, RunStoreError>
  /** `reapOnce` every `every`, forever, logging failed passes. */
  readonly reaper: (every: Duration.DurationInput, options: ReapOptions) => Effect.Effect<never>
}

const now = Effect.clockWith((clock) => clock.currentTimeMillis)

/** The fence `owner` holds on `run` (its current fencing token). */
export const fenceOf = (run: RunRecord, owner: string): Fence => ({
  runId: run.id,
  owner,
  fencingToken: run.fencingToken
})

/** Builds the lease operations of `options.owner` on the ambient RunStore. */
export const make = (options: Options): Effect.Effect<LeaseService, never, RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const owner = options.owner
    const millis = Duration.toMillis(options.lease ?? "30 seconds")
    const until = (t: number) => t + millis

    const takeover = (run: RunRecord, t: number) => store.takeover(run.id, owner, t, until(t))

    const keepAlive = (fence: Fence, keep: KeepAliveOptions): Effect.Effect<never> => {
      const onError = keep.onError ?? ((error: RunStoreError) => Effect.logWarning("heartbeat failed", error))
      return Effect.gen(function*() {
        yield* Effect.sleep(keep.every)
        const result = yield* store.heartbeat(fence, until(yield* now))
        if (!result.owned && keep.onLost !== undefined) yield* keep.onLost
        if (result.cancelRequested && keep.onCancel !== undefined) yield* keep.onCancel
      }).pipe(Effect.catchAll(onError), Effect.forever)
    }

    const reapOnce = (reap: ReapOptions): Effect.Effect<void, RunStoreError> =>
      Effect.gen(function*() {
        const t = yield* now
        for (const run of yield* store.expired(t)) {
          if (run.kind === "service") {
            const taken = yield* takeover(run, t)
            if (Option.isSome(taken)) {
              yield* store.finish(
                fenceOf(taken.value, owner),
                "failed",
                t,
                Option.some(`owner ${run.owner} stopped heartbeating`)
              )
            }
            continue
          }
          if (!reap.adopt(run)) continue
          const taken = yield* takeover(run, t)
          if (Option.isSome(taken)) {
            yield* Effect.logWarning(
              `took over run ${run.id} of ${run.job} from ${run.owner} (lease expired); fencing token ${taken.value.fencingToken}`
            )
            yield* reap.resume(taken.value)
          }
        }
      })

    const service: LeaseService = {
      owner,
      millis,
      until,
      fence: (run) => fenceOf(run, owner),
      claim: (claim) => store.claim({ ...claim, owner, leaseUntil: until(claim.now) }),
      takeover,
      keepAlive,
      reapOnce,
      reaper: (every, reap) =>
        reapOnce(reap).pipe(
          Effect.catchAll((error) => Effect.logWarning("reaper failed", error)),
          Effect.zipRight(Effect.sleep(every)),
          Effect.forever
        )
    }
    return service
  })
