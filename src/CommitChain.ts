/**
 * Per-partition commit order, for a broker that lets a partition's next batch be fetched
 * and processed while the previous batch's commit is still on its way.
 *
 * Sending a commit and waiting for its acknowledgement are two different moments: once a
 * batch is written, its commit may travel while the next batch is fetched and written
 * (on Kafka 4 a commit waits ≥ 5 ms for the group coordinator's append linger; at low
 * rates that was half of what a record waited). What must still hold: a partition's
 * commits land in hand-out order, and a commit that failed or never completed stops every
 * later commit of its partition — a later offset must never cover a batch whose commit,
 * and the dead letters in its transaction, did not land.
 *
 * @since 0.3.0
 */
import { Cause, Deferred, Effect, Exit, Option } from "effect"

/** The commits of one consumer, chained per partition. */
export interface CommitChain<E> {
  /**
   * Runs `commit` once every earlier commit of `partition` succeeded; fails with the first
   * failure of an earlier one (without running `commit`). `queued` runs as soon as the
   * commit has its place in the chain, before the wait: where the caller lets the
   * partition's next batch come.
   */
  readonly inTurn: <R>(
    partition: number,
    commit: Effect.Effect<void, E, R>,
    queued?: Effect.Effect<unknown>
  ) => Effect.Effect<void, E, R>
}

/**
 * A commit's end as one waiting for it sees it: success, its own error, or `interrupted()`
 * when it was interrupted (a shutdown) instead of failing.
 */
export const outcome = <E>(exit: Exit.Exit<void, E>, interrupted: () => E): Exit.Exit<void, E> =>
  Exit.isSuccess(exit) ? exit : Exit.fail(Option.getOrElse(Cause.failureOption(exit.cause), interrupted))

/**
 * A chain for one consumer. `interrupted` is the error a later commit fails with when an
 * earlier one was interrupted (a shutdown) instead of failing.
 */
export const make = <E>(interrupted: (partition: number) => E): CommitChain<E> => {
  const last = new Map<number, Deferred.Deferred<void, E>>()
  return {
    inTurn: (partition, commit, queued = Effect.void) =>
      Effect.gen(function*() {
        const before = last.get(partition)
        const mine = yield* Deferred.make<void, E>()
        last.set(partition, mine)
        yield* queued
        return yield* Effect.zipRight(before === undefined ? Effect.void : Deferred.await(before), commit).pipe(
          Effect.onExit((exit) => Deferred.done(mine, outcome(exit, () => interrupted(partition))))
        )
      })
  }
}
