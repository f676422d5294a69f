/**
 * The progress reporter under TestClock: the rate is the current one over a sliding
 * window (not the average since the start), an unchanged line is not repeated every few
 * seconds (at most once a minute while idle), and the JSON format is one object a line.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Fiber, Ref, TestClock } from "effect"
import * as Progress from "../../src/Progress.js"

const collect = (options: Progress.ReporterOptions) =>
  Effect.gen(function*() {
    const progress = yield* Progress.make
    const lines = yield* Ref.make<Array<string>>([])
    const fiber = yield* Effect.fork(Progress.report(progress, options, (l) => Ref.update(lines, (ls) => [...ls, l])))
    yield* Effect.yieldNow() // the reporter has taken its first sample
    const take = Effect.flatMap(Ref.getAndSet(lines, []), Effect.succeed)
    return { progress, take, fiber }
  })

it.effect("rate over the last 10 s; idle: no repeated line until a minute has passed", () =>
  Effect.gen(function*() {
    const { fiber, progress, take } = yield* collect({ everySeconds: 2 })
    // 20 s at 100 records/s.
    for (let i = 0; i < 20; i++) {
      yield* progress.addProcessed(100, 0)
      yield* TestClock.adjust("1 second")
    }
    const busy = yield* take
    expect(busy).toHaveLength(10)
    expect(busy.at(-1)).toBe("pandaflow: ingested 0 · processed 2000 (100/s) · dlq 0")
    // Then 6 s at 400/s: the last 10 s hold 4 s at 100/s and 6 s at 400/s, 280/s
    // (the average since the start would say 169/s).
    for (let i = 0; i < 6; i++) {
      yield* progress.addProcessed(400, 0)
      yield* TestClock.adjust("1 second")
    }
    expect((yield* take).at(-1)).toBe("pandaflow: ingested 0 · processed 4400 (280/s) · dlq 0")
    // Idle: nothing moved, so nothing is printed…
    yield* TestClock.adjust("10 seconds")
    expect(yield* take).toEqual([])
    yield* TestClock.adjust("49 seconds")
    expect(yield* take).toEqual([])
    // …until a minute after the last line, with the current rate.
    yield* TestClock.adjust("1 second")
    expect(yield* take).toEqual(["pandaflow: ingested 0 · processed 4400 (0/s) · dlq 0"])
    yield* TestClock.adjust("59 seconds")
    expect(yield* take).toEqual([])
    yield* TestClock.adjust("1 second")
    expect(yield* take).toHaveLength(1)
    yield* Fiber.interrupt(fiber)
  }))

it.effect("json: one object a line with the counters and the current rate", () =>
  Effect.gen(function*() {
    const { fiber, progress, take } = yield* collect({ everySeconds: 5, format: "json" })
    yield* progress.addSourced({ received: 10, duplicates: 1, rejected: 2 })
    yield* progress.addIngested(7)
    yield* progress.addProcessed(7, 1)
    yield* progress.addWritten("postgres", 6)
    yield* TestClock.adjust("5 seconds")
    const lines = yield* take
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0]!)).toEqual({
      time: "1970-01-01T00:00:05.000Z",
      level: "info",
      message: "progress",
      received: 10,
      ingested: 7,
      duplicates: 1,
      rejected: 2,
      processed: 7,
      deadLettered: 1,
      committedBatches: 1,
      written: { postgres: 6 },
      elapsedMillis: 5000,
      ratePerSecond: 1.4
    })
    yield* Fiber.interrupt(fiber)
  }))

it.effect("the stopped line says what was committed", () =>
  Effect.gen(function*() {
    const progress = yield* Progress.make
    yield* progress.addIngested(1500)
    yield* progress.addProcessed(1234, 0)
    yield* progress.addWritten("postgres", 1234)
    expect(Progress.formatStopped(yield* progress.snapshot)).toBe(
      "stopped — ingested 1,500 · processed and committed 1,234 (1 batches) · dlq 0 · postgres 1,234; anything uncommitted is read again on the next start"
    )
  }))

it("windowRate: change over the samples' span", () => {
  expect(Progress.windowRate([{ at: 0, processed: 0 }, { at: 10_000, processed: 2500 }])).toBe(250)
  expect(Progress.windowRate([{ at: 0, processed: 5 }])).toBe(0)
})
