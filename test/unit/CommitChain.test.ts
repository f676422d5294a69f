/** A partition's commits land in order, and none lands past one that failed or never completed. */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import * as CommitChain from "../../src/CommitChain.js"

const chain = () => CommitChain.make((partition) => `partition ${partition}: an earlier commit did not complete`)

describe("CommitChain", () => {
  it.effect("a later commit waits for the earlier one of its partition, not for other partitions'", () =>
    Effect.gen(function*() {
      const commits = chain()
      const log: Array<string> = []
      const gate = yield* Deferred.make<void>()
      const first = yield* Effect.fork(commits.inTurn(0, Effect.zipRight(Deferred.await(gate), Effect.sync(() => log.push("p0 first")))))
      yield* Effect.yieldNow()
      const second = yield* Effect.fork(commits.inTurn(0, Effect.sync(() => log.push("p0 second"))))
      yield* commits.inTurn(1, Effect.sync(() => log.push("p1")))
      yield* Effect.yieldNow()
      expect(log).toEqual(["p1"])
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      expect(log).toEqual(["p1", "p0 first", "p0 second"])
    }))

  it.effect("a failed commit stops every later commit of its partition, which never runs", () =>
    Effect.gen(function*() {
      const commits = chain()
      let ran = 0
      const failed = yield* Effect.exit(commits.inTurn(0, Effect.fail("commit refused")))
      const later = yield* Effect.exit(commits.inTurn(0, Effect.sync(() => ran++)))
      const after = yield* Effect.exit(commits.inTurn(0, Effect.sync(() => ran++)))
      expect(failed).toEqual(Exit.fail("commit refused"))
      expect(later).toEqual(Exit.fail("commit refused"))
      expect(after).toEqual(Exit.fail("commit refused"))
      expect(ran).toBe(0)
      // Another partition is not affected.
      yield* commits.inTurn(1, Effect.sync(() => ran++))
      expect(ran).toBe(1)
    }))

  it.effect("an interrupted commit fails the later ones with the chain's error instead of leaving them waiting", () =>
    Effect.gen(function*() {
      const commits = chain()
      const stuck = yield* Effect.fork(commits.inTurn(2, Effect.never))
      yield* Effect.yieldNow()
      const later = yield* Effect.fork(Effect.exit(commits.inTurn(2, Effect.void)))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(stuck)
      expect(yield* Fiber.join(later)).toEqual(Exit.fail("partition 2: an earlier commit did not complete"))
    }))

  it.effect("`queued` runs once the commit has its place, before the wait", () =>
    Effect.gen(function*() {
      const commits = chain()
      const gate = yield* Deferred.make<void>()
      const queued = yield* Deferred.make<void>()
      yield* Effect.fork(commits.inTurn(0, Deferred.await(gate)))
      yield* Effect.yieldNow()
      const second = yield* Effect.fork(commits.inTurn(0, Effect.void, Deferred.succeed(queued, undefined)))
      // The earlier commit is still open, yet the second one was queued.
      yield* Deferred.await(queued)
      expect(yield* Deferred.isDone(gate)).toBe(false)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(second)
    }))
})
