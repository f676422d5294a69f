/**
 * Embedding: another Effect program runs the reference pipeline with a sink of its own,
 * taking the framework from its public entry points only (src/index.ts and
 * layers/index.ts), exactly as the README shows.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Ref, TestClock } from "effect"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import type { UserRow } from "../../examples/randomuser/UserRow.js"
import { MemoryBroker, MemoryUserSource } from "../../layers/index.js"
import { Pipeline, RowSink } from "../../src/index.js"

it.effect("runs the pipeline with the embedding program's own sink", () =>
  Effect.gen(function*() {
    // The host application's sink: here it only counts users per email domain.
    const domains = yield* Ref.make(new Map<string, number>())
    const seen = yield* Ref.make(new Map<string, UserRow>())
    const mySink: RowSink.ReadableSink<UserRow> = {
      name: "domains",
      key: (row) => row.id,
      write: (rows) =>
        Effect.all([
          Ref.update(seen, (m) => new Map([...m, ...rows.map((r) => [r.id, r] as const)])),
          Ref.update(domains, (m) => {
            const next = new Map(m)
            for (const r of rows) next.set(r.email_domain, (next.get(r.email_domain) ?? 0) + 1)
            return next
          })
        ], { discard: true }),
      scan: Effect.map(Ref.get(seen), (m) => [...m.values()])
    }
    const pipeline = Pipeline.withSinks(RandomUserPipeline.make(), [RowSink.make(mySink)])
    const layer = Layer.mergeAll(MemoryBroker.layer(), MemoryUserSource.layer)

    yield* Effect.gen(function*() {
      yield* Pipeline.setup(pipeline, { partitions: 3 })
      yield* Pipeline.ingest(pipeline, { records: 500, seed: "embed" })
      const fiber = yield* Effect.fork(Pipeline.drain(pipeline, { groupId: "host-app" }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(layer))

    expect((yield* mySink.scan).length).toBe(500)
    expect([...(yield* Ref.get(domains)).values()].reduce((a, b) => a + b, 0)).toBe(500)
  }))
