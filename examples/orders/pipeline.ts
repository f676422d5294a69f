/**
 * A second pipeline, built only from the public API: seeded shop orders; test orders are
 * dropped, every other order fans out to one row a line, in Postgres and Cassandra.
 *
 *   generator ──▶ orders.raw.v1 ──▶ one row a line (no test orders) ──▶ Postgres order_lines, Cassandra shop.order_lines
 *                                └─ bad record, total ≠ sum of lines ──▶ orders.dlq
 */
import { Data, Effect, Schema } from "effect"
import { CassandraSink, PostgresSink } from "../../layers/index.js"
import { Pipeline, Source, Topic } from "../../src/index.js"

const Line = Schema.Struct({ sku: Schema.String, quantity: Schema.Int, unitCents: Schema.Int })

/** An order as shops put it on the topic (`placedAt` is an ISO string on the wire). */
export const Order = Schema.Struct({
  id: Schema.UUID, customer: Schema.String, placedAt: Schema.Date, test: Schema.Boolean, gift: Schema.Boolean,
  coupon: Schema.optional(Schema.String), totalCents: Schema.Int, lines: Schema.Array(Line)
})
/** A decoded order. */
export type Order = typeof Order.Type

/** One row an order line, keyed by (order_id, line): uuid, integers, a timestamp, a boolean, an optional text. */
export const OrderLineRow = Schema.Struct({
  order_id: Schema.UUID, line: Schema.Int, customer: Schema.String, sku: Schema.String, quantity: Schema.Int,
  cents: Schema.Int, placed_at: Schema.DateFromSelf, gift: Schema.Boolean, coupon: Schema.optional(Schema.String)
})
/** A row of both tables. */
export type OrderLineRow = typeof OrderLineRow.Type

/** Why the transform refuses an order: its total is not the sum of its lines. */
export class TotalMismatch extends Data.TaggedError("TotalMismatch")<{ readonly message: string }> {}

/** The raw topic, keyed by order id. */
export const orders = Topic.make({ name: "orders.raw.v1", schema: Order, key: (o) => o.id })

/** Deterministic orders: order `i` of a seed is always the same; about 1 in 20 is a test order. */
export const generator = Source.generate("orders-generator", (i, { seed }): Order => {
  let s = [...`${seed}#${i}`].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261)
  const int = (n: number) => { // mulberry32, scaled to 0..n-1
    s = (s + 0x6d2b79f5) | 0
    const t = Math.imul(s ^ (s >>> 15), 1 | s), u = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return Math.floor(((u ^ (u >>> 14)) >>> 0) / 2 ** 32 * n)
  }
  const hex = (n: number) => Array.from({ length: n }, () => int(16).toString(16)).join("")
  const lines = Array.from({ length: 1 + int(3) }, () => ({ sku: `sku-${int(40)}`, quantity: 1 + int(4), unitCents: 99 + int(9900) }))
  return {
    id: `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${i.toString(16).padStart(12, "0")}`, // unique a seed
    customer: `customer-${int(500)}`, placedAt: new Date(Date.UTC(2026, 0, 1) + int(365 * 86_400) * 1000),
    test: int(20) === 0, gift: int(5) === 0, ...(int(3) === 0 ? { coupon: `SAVE${5 * (1 + int(4))}` } : {}),
    totalCents: lines.reduce((n, l) => n + l.quantity * l.unitCents, 0), lines
  }
})

/** The pipeline writing to the given tables (default `order_lines` and `shop.order_lines`). */
export const make = (tables: { postgres?: string; keyspace?: string; cassandra?: string } = {}) =>
  Pipeline.make({
    name: "orders",
    input: orders,
    source: generator,
    transform: (o) => {
      const sum = o.lines.reduce((n, l) => n + l.quantity * l.unitCents, 0)
      if (sum !== o.totalCents) return Effect.fail(new TotalMismatch({ message: `total ${o.totalCents} ≠ sum of lines ${sum}` }))
      return o.test ? [] : o.lines.map((l, line): OrderLineRow => ({
        order_id: o.id, line, customer: o.customer, sku: l.sku, quantity: l.quantity, cents: l.quantity * l.unitCents,
        placed_at: o.placedAt, gift: o.gift, ...(o.coupon === undefined ? {} : { coupon: o.coupon })
      }))
    },
    sinks: [
      PostgresSink.table({ name: tables.postgres ?? "order_lines", schema: OrderLineRow, key: ["order_id", "line"] }),
      CassandraSink.table({ keyspace: tables.keyspace ?? "shop", name: tables.cassandra ?? "order_lines", schema: OrderLineRow, key: ["order_id", "line"] })
    ]
  })

/** What `pandaflow run examples/orders/pipeline.ts` runs. */
export default make()
