import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option, TestClock } from "effect"
import * as Dag from "../../src/scheduler/Dag.js"
import * as Job from "../../src/scheduler/Job.js"
import * as Scheduler from "../../src/scheduler/Scheduler.js"
import * as Timetable from "../../src/scheduler/Timetable.js"
import { advance, iso, makeLog, runsOf, utc, withMemoryStore } from "./support.js"

const compiled = (t: Timetable.Timetable) => Either.getOrThrow(Timetable.compile(t))

describe("Timetable", () => {
  it("rejects a bad cron expression or zone at compile time, naming both", () => {
    const bad = Timetable.compile(Timetable.cron("61 * * * *", { zone: "UTC" }))
    expect(Either.isLeft(bad) && bad.left.message).toMatch(/invalid cron timetable "61 \* \* \* \*" in zone "UTC"/)
    const zone = Timetable.compile(Timetable.cron("0 0 * * *", { zone: "Mars/Olympus" }))
    expect(Either.isLeft(zone) && zone.left.message).toMatch(/Mars\/Olympus.*Invalid time zone/)
    expect(Either.isLeft(Timetable.compile(Timetable.interval(0)))).toBe(true)
  })

  it("daily UTC cron: slots across days and data interval [previous slot, slot)", () => {
    const t = compiled(Timetable.cron("0 0 * * *", { zone: "UTC" }))
    const slots = Timetable.slotsInRange(t, utc("2024-01-30T00:00"), utc("2024-02-02T00:00"), 100)
    expect(slots.map(iso)).toEqual([
      "2024-01-30T00:00:00.000Z",
      "2024-01-31T00:00:00.000Z",
      "2024-02-01T00:00:00.000Z",
      "2024-02-02T00:00:00.000Z"
    ])
    expect(Timetable.dataInterval(t, utc("2024-02-01T00:00"))).toEqual({
      start: utc("2024-01-31T00:00"),
      end: utc("2024-02-01T00:00")
    })
    // Off-grid instants (trigger now) get [last slot, now).
    expect(Timetable.dataInterval(t, utc("2024-02-01T13:00"))).toEqual({
      start: utc("2024-02-01T00:00"),
      end: utc("2024-02-01T13:00")
    })
  })

  it("Europe/Berlin across spring-forward: 03:00 local stays 03:00 local, the day is 23h", () => {
    const t = compiled(Timetable.cron("0 3 * * *", { zone: "Europe/Berlin" }))
    const slots = Timetable.slotsInRange(t, utc("2024-03-29T00:00"), utc("2024-04-01T12:00"), 100)
    expect(slots.map(iso)).toEqual([
      "2024-03-29T02:00:00.000Z", // 03:00 CET
      "2024-03-30T02:00:00.000Z", // 03:00 CET
      "2024-03-31T01:00:00.000Z", // 03:00 CEST
      "2024-04-01T01:00:00.000Z" // 03:00 CEST
    ])
    // The DST day's data interval is 23 hours long, and previous() does not get stuck at
    // the boundary (effect's Cron.prev does, which is why Timetable does not use it).
    const interval = Timetable.dataInterval(t, utc("2024-03-31T01:00"))
    expect(interval.end - interval.start).toBe(23 * 3600_000)
    expect(Timetable.slotsBetween(t, utc("2024-03-28T12:00"), utc("2024-04-01T12:00"), 10)).toEqual(slots)
  })

  it("Europe/Berlin, hourly across spring-forward and fall-back: no duplicate, no stuck slot", () => {
    const t = compiled(Timetable.cron("0 * * * *", { zone: "Europe/Berlin" }))
    const spring = Timetable.slotsBetween(t, utc("2024-03-31T00:30"), utc("2024-03-31T03:30"), 10)
    expect(spring.map(iso)).toEqual([
      "2024-03-31T01:00:00.000Z", // 03:00 CEST (02:00 local does not exist)
      "2024-03-31T02:00:00.000Z",
      "2024-03-31T03:00:00.000Z"
    ])
    // Fall-back: 02:00 local happens twice; the repeated hour runs once.
    const fall = Timetable.slotsInRange(t, utc("2024-10-26T23:30"), utc("2024-10-27T02:30"), 10)
    expect(fall.map(iso)).toEqual(["2024-10-27T00:00:00.000Z", "2024-10-27T02:00:00.000Z"])
    expect(new Set(fall).size).toBe(fall.length)
  })

  it("02:30 Berlin in the spring-forward gap: effect runs it at 03:30 CEST that day (no skipped day)", () => {
    const t = compiled(Timetable.cron("30 2 * * *", { zone: "Europe/Berlin" }))
    const slots = Timetable.slotsInRange(t, utc("2024-03-30T00:00"), utc("2024-04-01T12:00"), 10)
    expect(slots.map(iso)).toEqual([
      "2024-03-30T01:30:00.000Z",
      "2024-03-31T01:30:00.000Z", // 03:30 CEST: the 02:30 that does not exist, shifted
      "2024-04-01T00:30:00.000Z"
    ])
  })

  it("interval timetable on an anchored grid", () => {
    const t = compiled(Timetable.interval("15 minutes", { anchor: utc("2024-01-01T00:05") }))
    expect(Option.map(Timetable.next(t, utc("2024-01-01T00:05")), iso)).toEqual(Option.some("2024-01-01T00:20:00.000Z"))
    expect(Option.map(Timetable.previous(t, utc("2024-01-01T00:20")), iso)).toEqual(Option.some("2024-01-01T00:05:00.000Z"))
    expect(Timetable.next(compiled(Timetable.manual), 0)).toEqual(Option.none())
  })

  it("slotsBetween is bounded: a year of minutely slots costs `limit` steps", () => {
    const t = compiled(Timetable.cron("* * * * *", { zone: "UTC" }))
    const slots = Timetable.slotsBetween(t, utc("2023-01-01T00:00"), utc("2024-01-01T00:00"), 3)
    expect(slots.map(iso)).toEqual([
      "2023-12-31T23:58:00.000Z",
      "2023-12-31T23:59:00.000Z",
      "2024-01-01T00:00:00.000Z"
    ])
  })

  it.effect("the scheduler runs a Berlin cron job on the right instants across the DST change (TestClock)", () =>
    withMemoryStore((store) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(utc("2024-03-28T12:00"))
        const log = yield* makeLog
        const work = Dag.task("work", {
          run: (ctx) => log.add(`${iso(ctx.slot)} [${iso(ctx.interval.start)}, ${iso(ctx.interval.end)})`)
        })
        const job = Job.make(Either.getOrThrow(Dag.make("berlin", [work])), {
          timetable: Timetable.cron("0 3 * * *", { zone: "Europe/Berlin" })
        })
        yield* Scheduler.make({ jobs: [job], instanceId: "a", heartbeat: "1 hour", lease: "3 hours" })
        yield* advance("4 days", "1 hour")
        expect(yield* log.get).toEqual([
          "2024-03-29T02:00:00.000Z [2024-03-28T02:00:00.000Z, 2024-03-29T02:00:00.000Z)",
          "2024-03-30T02:00:00.000Z [2024-03-29T02:00:00.000Z, 2024-03-30T02:00:00.000Z)",
          "2024-03-31T01:00:00.000Z [2024-03-30T02:00:00.000Z, 2024-03-31T01:00:00.000Z)",
          "2024-04-01T01:00:00.000Z [2024-03-31T01:00:00.000Z, 2024-04-01T01:00:00.000Z)"
        ])
        const runs = yield* runsOf(store, "berlin")
        expect(runs.map((r) => r.state)).toEqual(["success", "success", "success", "success"])
        // Started exactly at the slot on the simulated clock.
        expect(runs.map((r) => Option.getOrThrow(r.startedAt) - r.slot)).toEqual([0, 0, 0, 0])
      })
    ).pipe(Effect.scoped))
})
