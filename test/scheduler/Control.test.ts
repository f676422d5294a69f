import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Either, Layer, Option, TestClock } from "effect"
import { createServer } from "node:http"
import * as MemoryRunStore from "../../layers/MemoryRunStore.js"
import * as Control from "../../src/scheduler/Control.js"
import * as Dag from "../../src/scheduler/Dag.js"
import * as Job from "../../src/scheduler/Job.js"
import * as Scheduler from "../../src/scheduler/Scheduler.js"
import * as Timetable from "../../src/scheduler/Timetable.js"
import { advance, utc } from "./support.js"

describe("Control HTTP API", () => {
  it.scoped("list, trigger, runs, run detail, pause/unpause, backfill, cancel, errors — over real HTTP on 127.0.0.1", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(utc("2024-07-01T06:00"))
      const job = Job.make(
        Either.getOrThrow(Dag.make("user_automation", [Dag.task("ingest", { run: () => Effect.sleep("1 minute") })])),
        { timetable: Timetable.cron("0 0 * * *", { zone: "UTC" }) }
      )
      const schedulerLayer = Scheduler.layer({ jobs: [job], instanceId: "a", heartbeat: "1 hour", lease: "3 hours" }).pipe(
        Layer.provide(MemoryRunStore.layer)
      )
      const server = NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })
      const context = yield* Layer.build(
        Layer.merge(Control.layer, server).pipe(Layer.provideMerge(schedulerLayer), Layer.provideMerge(server))
      )
      const address = Context.get(context, HttpServer.HttpServer).address
      if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
      expect(address.hostname).toBe("127.0.0.1")
      const api = yield* Control.fetchClient(`http://127.0.0.1:${address.port}`)

      const jobs = yield* api.list
      expect(jobs).toEqual([{
        name: "user_automation",
        timetable: `cron "0 0 * * *" (UTC)`,
        paused: false,
        nextRun: Option.some(utc("2024-07-02T00:00")),
        catchup: "latest",
        overlap: "skip",
        tasks: ["ingest"]
      }])

      const run = yield* api.trigger("user_automation")
      expect([run.kind, run.state]).toEqual(["manual", "running"])
      yield* advance("2 minutes")
      const detail = yield* api.run(run.id)
      expect(detail.run.state).toBe("success")
      expect(detail.attempts.map((a) => [a.task, a.attempt, a.state])).toEqual([["ingest", 1, "success"]])

      yield* api.pause("user_automation")
      expect((yield* api.list)[0]!.paused).toBe(true)
      yield* api.unpause("user_automation")
      expect((yield* api.list)[0]!.paused).toBe(false)

      const plan = yield* api.backfill("user_automation", { start: utc("2024-06-28"), end: utc("2024-06-29") })
      expect(plan.slots).toEqual([utc("2024-06-28"), utc("2024-06-29")])
      yield* advance("5 minutes")
      const runs = yield* api.runs({ job: "user_automation", states: ["success"] })
      expect(runs.map((r) => r.kind).sort()).toEqual(["backfill", "backfill", "manual"])

      const second = yield* api.trigger("user_automation")
      yield* api.cancel(second.id)
      yield* advance("1 second")
      expect((yield* api.run(second.id)).run.state).toBe("cancelled")

      const missing = yield* Effect.flip(api.trigger("nope"))
      expect([missing.reason, missing.message]).toEqual(["NotFound", `no job named "nope" (jobs: user_automation)`])
      const noRun = yield* Effect.flip(api.run("999"))
      expect(noRun.reason).toBe("NotFound")
      const unreachable = yield* Effect.flip(Effect.flatMap(Control.fetchClient("http://127.0.0.1:1"), (c) => c.list))
      expect(unreachable.reason).toBe("Unreachable")
    }))
})
