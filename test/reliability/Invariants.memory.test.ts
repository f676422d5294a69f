/**
 * Property-based twin of the delivery guarantees (issue 4, item 6): fast-check draws a
 * workload (users with several versions each, invalid records, rows the sink refuses,
 * partitions, batch sizes, concurrency, an in-flight bound) and a schedule of faults
 * (a consumer killed and restarted, every consumer killed right after a sink write and
 * before its commit, Unavailable bursts, consumers joining and leaving), runs it to the
 * end on MemoryBroker + MemorySink under TestClock, and checks the invariants:
 *
 * - no loss: every valid key has a row; no extra row (nothing for refused or invalid records);
 * - per-key order: each key's row is its last produced version, and the versions the sink
 *   stored for a key never went backwards in time (a stale write never lands after a newer one);
 * - the DLQ holds exactly the invalid and refused records (as distinct source coordinates);
 * - the group's lag is 0, and no consumer failed.
 *
 * The seed is fixed, so a failure replays; fast-check prints the shrunk counter-example.
 */
import { expect, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Exit, Fiber, Ref, TestClock, TestContext } from "effect"
import * as fc from "fast-check"
import type { UserRow } from "../../examples/randomuser/UserRow.js"
import { lag, type ProducerRecord } from "../../src/Broker.js"
import * as Pipeline from "../../src/Pipeline.js"
import type * as RowSink from "../../src/RowSink.js"
import { byId, coordinateOf, dlq, onDoubles, parseDeadLetter, raw, readTopic, rowOf, userRecord } from "./twins.js"

const group = "process"
/** Virtual time a driver step advances while faults are due, and after. */
const stepMillis = 10
const drainStepMillis = 50
/**
 * No write attempt and no commit for this long, with records left: hung. Retries of an
 * Unavailable sink are at most 5 s apart, and nothing else waits that long.
 */
const stallMillis = 8_000

type Fault =
  | { readonly _tag: "Crash"; readonly who: number }
  | { readonly _tag: "CrashAfterWrite" }
  | { readonly _tag: "Unavailable"; readonly times: number }
  | { readonly _tag: "Join" }
  | { readonly _tag: "Leave"; readonly who: number }

const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ _tag: fc.constant("Crash" as const), who: fc.nat() }),
  fc.record({ _tag: fc.constant("CrashAfterWrite" as const) }),
  fc.record({ _tag: fc.constant("Unavailable" as const), times: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ _tag: fc.constant("Join" as const) }),
  fc.record({ _tag: fc.constant("Leave" as const), who: fc.nat() })
)

const invalidKinds = ["json", "uuid", "null", "shape"] as const

const workload = fc.record({
  /** Which user each valid record is (repeats are newer versions of the same user). */
  sequence: fc.array(fc.integer({ min: 0, max: 39 }), { minLength: 1, maxLength: 120 }),
  /** Picks among the users produced once: the sink refuses their rows. */
  poison: fc.array(fc.nat(), { maxLength: 4 }),
  invalid: fc.array(fc.record({ at: fc.nat(), kind: fc.constantFrom(...invalidKinds) }), { maxLength: 6 }),
  partitions: fc.integer({ min: 1, max: 4 }),
  maxBatchSize: fc.integer({ min: 1, max: 30 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
  maxInFlightRecords: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
  writeMillis: fc.integer({ min: 0, max: 40 }),
  /** The records go out in two produce calls: the second at `secondAt` ms. */
  split: fc.nat(),
  secondAt: fc.integer({ min: 0, max: 1500 }),
  faults: fc.array(fc.record({ at: fc.integer({ min: 0, max: 2000 }), fault }), { maxLength: 6 })
})

type Workload = typeof workload extends fc.Arbitrary<infer A> ? A : never

interface Planned {
  readonly record: ProducerRecord
  readonly kind: "valid" | "invalid" | "poison"
}

/** The records of a workload, in produce order, each with what the pipeline must do with it. */
const plan = (w: Workload): ReadonlyArray<Planned> => {
  const seen = new Map<number, number>()
  const valid = w.sequence.map((user) => {
    const version = seen.get(user) ?? 0
    seen.set(user, version + 1)
    // The phone carries the version, so a stored row says which record it came from.
    return userRecord("invariants", user, `v${version}`)
  })
  const once = [...seen].filter(([, n]) => n === 1).map(([user]) => user)
  const poisonUsers = new Set(w.poison.length === 0 || once.length === 0 ? [] : w.poison.map((i) => once[i % once.length]!))
  const poisonKeys = new Set([...poisonUsers].map((u) => userRecord("invariants", u).key))
  const planned: Array<Planned> = valid.map((record) => ({
    record,
    kind: poisonKeys.has(record.key) ? "poison" : "valid"
  }))
  w.invalid.forEach(({ at, kind }, i) => {
    const good = JSON.parse(valid[at % valid.length]!.value) as { login: Record<string, unknown> }
    const value = kind === "json"
      ? "{not json"
      : kind === "uuid"
      ? JSON.stringify({ ...good, login: { ...good.login, uuid: "not-a-uuid" } })
      : kind === "null"
      ? "null"
      : JSON.stringify({ ...good, email: 42 })
    planned.splice(at % (planned.length + 1), 0, { record: { key: `bad-${i}`, value }, kind: "invalid" })
  })
  return planned
}

/** Remembers the version of every row a write stored, per id, in the order they landed. */
const recording = (inner: RowSink.ReadableSink<UserRow>, log: Map<string, Array<number>>): RowSink.ReadableSink<UserRow> => ({
  ...inner,
  write: (rows) =>
    Effect.tap(inner.write(rows), () =>
      Effect.sync(() => {
        for (const r of rows) log.set(r.id, [...(log.get(r.id) ?? []), Number(r.phone.slice(1))])
      }))
})

const runWorkload = (w: Workload) =>
  Effect.gen(function*() {
    const planned = plan(w)
    const versions = new Map<string, Array<number>>()
    const { broker, controls, layer, memory, pipeline, plain, trace } = yield* onDoubles({
      partitions: w.partitions,
      maxBatchSize: w.maxBatchSize,
      inner: (memory) => recording(memory, versions)
    })
    yield* Ref.set(controls.delay, w.writeMillis)
    yield* Ref.set(controls.poison, new Set(planned.filter((p) => p.kind === "poison").map((p) => p.record.key)))

    yield* Effect.gen(function*() {
      const records = planned.map((p) => p.record)
      const split = w.split % (records.length + 1)
      yield* broker.produce(raw, records.slice(0, split))
      let secondDone = false

      const options: Pipeline.ConsumeOptions = {
        groupId: group,
        concurrency: w.concurrency,
        maxInFlightRecords: w.maxInFlightRecords
      }
      const start = Effect.fork(Pipeline.consume(pipeline, options))
      const consumers: Array<Fiber.RuntimeFiber<void, Pipeline.ConsumeError>> = [yield* start]

      // The crash point: after the next successful write, that consumer hangs before its
      // commit until the driver kills every consumer, as a killed process would.
      let crashed = yield* Deferred.make<void>()
      const arm = (signal: Deferred.Deferred<void>) =>
        Ref.set(controls.afterWrite, () =>
          Effect.zipRight(Ref.set(controls.afterWrite, undefined), Effect.zipRight(Deferred.succeed(signal, undefined), Effect.never)))

      const faults = [...w.faults].sort((a, b) => a.at - b.at)
      // Hang detection: what moved last, and when (virtual time).
      let progress = -1
      let progressAt = 0
      for (;;) {
        const now = yield* Clock.currentTimeMillis
        const moved = (yield* Ref.get(controls.attempts)).length + (yield* Ref.get(trace.commits))
        if (moved !== progress) {
          progress = moved
          progressAt = now
        } else if (now - progressAt > stallMillis) {
          return yield* Effect.dieMessage(
            `hung: no write and no commit since ${progressAt} ms (now ${now} ms), lag ${yield* lag(raw, group)}`
          )
        }
        if (!secondDone && now >= w.secondAt) {
          yield* broker.produce(raw, records.slice(split))
          secondDone = true
        }
        while (faults.length > 0 && faults[0]!.at <= now) {
          const { fault } = faults.shift()!
          switch (fault._tag) {
            case "Crash": {
              if (consumers.length === 0) break
              const i = fault.who % consumers.length
              yield* Fiber.interrupt(consumers[i]!)
              consumers[i] = yield* start
              break
            }
            case "CrashAfterWrite":
              yield* arm(crashed)
              break
            case "Unavailable":
              yield* memory.failNext(fault.times, "Unavailable")
              break
            case "Join":
              consumers.push(yield* start)
              break
            case "Leave":
              if (consumers.length > 1) yield* Fiber.interrupt(consumers.splice(fault.who % consumers.length, 1)[0]!)
              break
          }
        }
        if (yield* Deferred.isDone(crashed)) {
          const n = consumers.length
          yield* Fiber.interruptAll(consumers)
          consumers.length = 0
          for (let i = 0; i < n; i++) consumers.push(yield* start)
          crashed = yield* Deferred.make<void>()
        }
        // `consume` never ends by itself: a consumer that did has failed.
        for (const c of consumers) {
          const exit = yield* Fiber.poll(c)
          if (exit._tag === "Some") return yield* Effect.dieMessage(`a consumer stopped: ${Exit.isFailure(exit.value) ? String(exit.value.cause) : "success"}`)
        }
        if (secondDone && faults.length === 0 && (yield* lag(raw, group)) === 0) break
        yield* TestClock.adjust(faults.length > 0 || !secondDone ? stepMillis : drainStepMillis)
      }
      yield* Fiber.interruptAll(consumers)

      // No loss, no extra row, and each key holds its last produced version.
      const last = new Map<string, UserRow>()
      for (const p of planned) if (p.kind === "valid") last.set(p.record.key, rowOf(p.record))
      expect(yield* memory.scan).toEqual(byId([...last.values()]))
      // Per-key order over time: the versions stored for a key never decrease.
      for (const [id, stored] of versions) {
        for (let i = 1; i < stored.length; i++) {
          if (stored[i]! < stored[i - 1]!) expect.fail(`key ${id} went back from v${stored[i - 1]} to v${stored[i]}: ${stored.join(",")}`)
        }
      }
      // The DLQ: exactly the invalid and refused records, by source coordinates.
      const rawRecords = yield* readTopic(plain, raw)
      const deadKeys = new Set(planned.filter((p) => p.kind !== "valid").map((p) => p.record.key))
      const expectedDead = rawRecords.filter((r) => deadKeys.has(r.key!)).map(coordinateOf)
      const letters = (yield* readTopic(plain, dlq)).map(parseDeadLetter)
      const dead = letters.map((d) => coordinateOf(d.source))
      expect([...new Set(dead)].sort()).toEqual(expectedDead.sort())
      // Each at the stage that refused it: the schema for invalid records, the sink for refused rows.
      const kindAt = new Map(rawRecords.map((r) => [coordinateOf(r), r.key!.startsWith("bad-") ? "decode" : "sink"] as const))
      for (const d of letters) expect(d.stage, coordinateOf(d.source)).toBe(kindAt.get(coordinateOf(d.source)))
      expect(yield* lag(raw, group)).toBe(0)
    }).pipe(Effect.provide(layer))
  })

it("delivery invariants hold under random workloads and fault schedules", async () => {
  await fc.assert(
    fc.asyncProperty(workload, (w) => Effect.runPromise(Effect.provide(runWorkload(w), TestContext.TestContext))),
    { seed: 20_251_123, numRuns: 40, endOnFailure: false }
  )
}, 180_000)
