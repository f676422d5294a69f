/**
 * The reference DAG `user_automation` on the doubles under TestClock: a first start runs
 * the latest slot at once, the next midnight runs again with a new seed, and each run is
 * recorded; the consume job turns every ingested user into a row.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, TestClock } from "effect"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import { UserRow } from "../../examples/randomuser/UserRow.js"
import * as MemoryBroker from "../../layers/MemoryBroker.js"
import * as MemoryRunStore from "../../layers/MemoryRunStore.js"
import * as MemorySink from "../../layers/MemorySink.js"
import * as MemoryUserSource from "../../layers/MemoryUserSource.js"
import * as IngestJob from "../../src/IngestJob.js"
import * as Pipeline from "../../src/Pipeline.js"
import * as Progress from "../../src/Progress.js"
import { RunStore } from "../../src/scheduler/RunStore.js"
import * as Scheduler from "../../src/scheduler/Scheduler.js"
import * as TableSchema from "../../src/TableSchema.js"
import { advance, utc } from "../scheduler/support.js"

const options = { records: 200, seed: "daily", pageSize: 100, cron: "0 0 * * *", zone: "UTC" } as const

it.scoped("runs daily with a seed per slot; every ingested user becomes one row", () =>
  Effect.gen(function*() {
    yield* TestClock.setTime(utc("2026-11-23T09:30"))
    const sink = yield* MemorySink.make(TableSchema.make({ name: "users", schema: UserRow, key: "id" }), "memory")
    const pipeline = Pipeline.withSinks(RandomUserPipeline.make(), [MemorySink.definition(sink)])
    const layer = Layer.mergeAll(MemoryBroker.layer(), MemoryUserSource.layer, MemoryRunStore.layer)
    yield* Effect.gen(function*() {
      yield* Pipeline.setup(pipeline, { partitions: 3 })
      const progress = yield* Progress.make
      const job = yield* IngestJob.make(pipeline, { ...options, name: "user_automation" }, progress)
      yield* Scheduler.make({ jobs: [job], pools: IngestJob.pools, heartbeat: "1 hour", lease: "3 hours" })
      const processing = yield* Effect.fork(Pipeline.consume(pipeline, { groupId: "process" }, progress))

      yield* advance("1 minute")
      expect((yield* progress.snapshot).ingested).toBe(200) // the latest slot, at once
      yield* advance("15 hours", "30 minutes") // past the next midnight
      const store = yield* RunStore
      const runs = yield* store.listRuns({ job: "user_automation", limit: 10 })
      expect(runs.map((r) => [new Date(r.slot).toISOString(), r.state]).sort()).toEqual([
        ["2026-11-23T00:00:00.000Z", "success"],
        ["2026-11-24T00:00:00.000Z", "success"]
      ])
      // Two slots, two seeds: 400 distinct users, each stored once.
      expect((yield* progress.snapshot).ingested).toBe(400)
      expect((yield* sink.scan).length).toBe(400)
      expect(IngestJob.seedOf("daily", utc("2026-11-24T00:00"))).toBe("daily@2026-11-24T00:00:00.000Z")
      yield* Fiber.interrupt(processing)
    }).pipe(Effect.provide(layer))
  }))
