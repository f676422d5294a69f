/**
 * Embedding: another Effect program runs pandaflow's pipeline with a sink of its own,
 * through the public entry points only (src/index.ts and layers/index.ts), exactly as
 * the README shows.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Ref, TestClock } from "effect"
import { MemoryBroker, MemoryUserSource } from "../../layers/index.js"
import { Pipeline, Sink, type UserRow } from "../../src/index.js"

it.effect("runs the pipeline with the embedding program's own sink", () =>
  Effect.gen(function*() {
    // The host application's sink: here it only counts users per email domain.
    const domains = yield* Ref.make(new Map<string, number>())
    const seen = yield* Ref.make(new Map<string, UserRow.UserRow>())
    const mySink: Sink.RowSink<UserRow.UserRow> = {
      name: "domains",
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
    const layer = Layer.mergeAll(MemoryBroker.layer(), MemoryUserSource.layer, Layer.succeed(Sink.UserSinks, [mySink]))

    yield* Effect.gen(function*() {
      yield* Pipeline.setup({ partitions: 3 })
      yield* Pipeline.ingest({ total: 500, seed: "embed" })
      const fiber = yield* Effect.fork(Pipeline.processUntilDrained({ groupId: "host-app" }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(layer))

    expect((yield* mySink.scan).length).toBe(500)
    expect([...(yield* Ref.get(domains)).values()].reduce((a, b) => a + b, 0)).toBe(500)
  }))
