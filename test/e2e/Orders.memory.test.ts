/**
 * The orders example end to end on the doubles (`pandaflow/testing`'s TestDriver, under
 * TestClock): test orders are filtered out, every other order fans out to one row a line,
 * a malformed record and an order the transform refuses go to the dead-letter topic with
 * their reason and stage, and neither a replay nor a redelivery adds a row. Every
 * expected row is written out by hand.
 */
import { expect, it } from "@effect/vitest"
import { Chunk, Effect, Ref, Stream } from "effect"
import pipeline, { generator, type Order, type OrderLineRow } from "../../examples/orders/pipeline.js"
import { TestDriver } from "../../layers/testing.js"
import { Source } from "../../src/index.js"

const giftOrder: Order = {
  id: "0b7e3c52-5a1d-4c1e-9f00-000000000001",
  customer: "ada",
  placedAt: new Date("2026-03-01T10:15:00.000Z"),
  test: false,
  gift: true,
  coupon: "SAVE10",
  totalCents: 2 * 450 + 1 * 1299,
  lines: [{ sku: "tea", quantity: 2, unitCents: 450 }, { sku: "pot", quantity: 1, unitCents: 1299 }]
}
// Upper-case id: the uuid column stores it lower-cased, as Postgres and Cassandra do.
const plainOrder: Order = {
  id: "7D1E2F30-0C4B-4A8E-B2D1-000000000002",
  customer: "grace",
  placedAt: new Date("2026-03-02T08:00:00.000Z"),
  test: false,
  gift: false,
  totalCents: 3 * 199,
  lines: [{ sku: "mug", quantity: 3, unitCents: 199 }]
}
const testOrder: Order = {
  id: "3c9a4b10-1111-4222-8333-000000000003",
  customer: "qa-bot",
  placedAt: new Date("2026-03-02T09:00:00.000Z"),
  test: true,
  gift: false,
  totalCents: 100,
  lines: [{ sku: "tea", quantity: 1, unitCents: 100 }]
}
// 2 × 500 is 1000, not 999: the transform refuses it.
const wrongTotal: Order = {
  id: "5e8f9a20-2222-4333-8444-000000000004",
  customer: "mallory",
  placedAt: new Date("2026-03-03T12:00:00.000Z"),
  test: false,
  gift: false,
  totalCents: 999,
  lines: [{ sku: "kettle", quantity: 2, unitCents: 500 }]
}

// What both tables must hold, ordered by key (order_id, line).
const expectedRows: ReadonlyArray<OrderLineRow> = [
  {
    order_id: "0b7e3c52-5a1d-4c1e-9f00-000000000001",
    line: 0,
    customer: "ada",
    sku: "tea",
    quantity: 2,
    cents: 900,
    placed_at: new Date("2026-03-01T10:15:00.000Z"),
    gift: true,
    coupon: "SAVE10"
  },
  {
    order_id: "0b7e3c52-5a1d-4c1e-9f00-000000000001",
    line: 1,
    customer: "ada",
    sku: "pot",
    quantity: 1,
    cents: 1299,
    placed_at: new Date("2026-03-01T10:15:00.000Z"),
    gift: true,
    coupon: "SAVE10"
  },
  {
    order_id: "7d1e2f30-0c4b-4a8e-b2d1-000000000002",
    line: 0,
    customer: "grace",
    sku: "mug",
    quantity: 3,
    cents: 597,
    placed_at: new Date("2026-03-02T08:00:00.000Z"),
    gift: false
  }
]

const malformed = JSON.stringify({
  id: "not-a-uuid",
  customer: "eve",
  placedAt: "2026-03-04T00:00:00.000Z",
  test: false,
  gift: false,
  totalCents: 100,
  lines: []
})

it.effect("filters test orders, fans out one row a line, dead-letters a bad record and a refused order", () =>
  Effect.gen(function*() {
    const driver = yield* TestDriver.make(pipeline)
    yield* driver.send([giftOrder, testOrder, plainOrder, wrongTotal])
    yield* driver.sendRaw([{ key: "bad", value: malformed }])
    const snapshot = yield* driver.run

    expect(yield* driver.rows("postgres")).toEqual(expectedRows)
    expect(yield* driver.rows("cassandra")).toEqual(expectedRows)
    expect(snapshot).toMatchObject({ processed: 5, deadLettered: 2, written: { postgres: 3, cassandra: 3 } })

    const letters = yield* driver.deadLetters
    expect(letters).toHaveLength(2)
    const refused = letters.find((l) => l.stage === "transform")
    expect(refused).toMatchObject({ error: "TotalMismatch: total 999 ≠ sum of lines 1000", source: { topic: "orders.raw.v1" } })
    expect(JSON.parse(refused?.value ?? "null")).toMatchObject({ id: wrongTotal.id, totalCents: 999 })
    const bad = letters.find((l) => l.stage === "decode")
    expect(bad).toMatchObject({ value: malformed, source: { topic: "orders.raw.v1" } })
    expect(bad?.error).toMatch(/id/)
    expect(bad?.error).toMatch(/UUID/)
  }))

it.effect("a replay of the same orders adds no row, nor does a batch redelivered after a failed commit", () =>
  Effect.gen(function*() {
    const driver = yield* TestDriver.make(pipeline)
    yield* driver.send([giftOrder, plainOrder, testOrder])
    yield* driver.run
    expect(yield* driver.rows("postgres")).toEqual(expectedRows)

    // The producer sends everything again: upserts by (order_id, line) keep three rows.
    yield* driver.send([giftOrder, plainOrder, testOrder])
    yield* driver.run
    expect(yield* driver.rows("postgres")).toEqual(expectedRows)
    expect(yield* driver.rows("cassandra")).toEqual(expectedRows)

    // Written but not committed: the consumer restarts and the batch comes again.
    const postgres = yield* driver.sink("postgres")
    const before = yield* Ref.get(postgres.writes)
    yield* driver.failNext("commit", 1)
    yield* driver.send([plainOrder])
    yield* driver.run
    expect((yield* Ref.get(postgres.writes)) - before).toBe(2)
    expect(yield* driver.rows("postgres")).toEqual(expectedRows)
    expect(yield* driver.rows("cassandra")).toEqual(expectedRows)
    expect(yield* driver.deadLetters).toEqual([])
  }))

it.effect("an outage of one sink is waited out: nothing is lost or dead-lettered", () =>
  Effect.gen(function*() {
    const driver = yield* TestDriver.make(pipeline)
    const postgres = yield* driver.sink("postgres")
    yield* postgres.failNext(3, "Unavailable")
    yield* driver.send([giftOrder, plainOrder])
    yield* driver.run
    expect(yield* driver.rows("postgres")).toEqual(expectedRows)
    expect(yield* driver.rows("cassandra")).toEqual(expectedRows)
    expect(yield* driver.deadLetters).toEqual([])
  }))

it.effect("the generator is deterministic for a seed and differs between seeds", () =>
  Effect.gen(function*() {
    const take = (seed: string) =>
      Source.values(generator, { records: 50, seed }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
    const a = yield* take("s1")
    expect(a).toHaveLength(50)
    expect(yield* take("s1")).toEqual(a)
    expect((yield* take("s2")).map((o) => o.id)).not.toEqual(a.map((o) => o.id))
    expect(new Set(a.map((o) => o.id)).size).toBe(50)
    // Every generated total is consistent, so only test orders are filtered out.
    for (const o of a) expect(o.totalCents).toBe(o.lines.reduce((n, l) => n + l.quantity * l.unitCents, 0))
  }))
