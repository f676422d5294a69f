/**
 * Time in pandaflow comes from Clock, so tests drive it: a day of an hourly schedule runs
 * in microseconds with TestClock, and the same code runs on the real clock in production.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Fiber, Ref, Schedule, TestClock } from "effect"

it.effect("an hourly schedule fires 24 times in a simulated day, with no real waiting", () =>
  Effect.gen(function*() {
    const ticks = yield* Ref.make<Array<number>>([])
    const fiber = yield* Effect.clockWith((c) => c.currentTimeMillis).pipe(
      Effect.flatMap((now) => Ref.update(ticks, (t) => [...t, now])),
      Effect.schedule(Schedule.spaced("1 hour")),
      Effect.forever,
      Effect.fork
    )
    yield* TestClock.adjust("1 day")
    yield* Fiber.interrupt(fiber)
    const fired = yield* Ref.get(ticks)
    expect(fired).toHaveLength(24)
    expect(fired[0]).toBe(3_600_000)
    expect(fired[23]).toBe(24 * 3_600_000)
  }))
