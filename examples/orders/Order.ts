/**
 * The orders example's records: the order shops put on the topic, and the order-line
 * row both tables hold. Order `i` of a seed is always the same order (a seeded PRNG),
 * so a retried or taken-over ingest writes the same keys.
 */
import { Schema } from "effect"
import { Source } from "../../src/index.js"

const Line = Schema.Struct({ sku: Schema.String, quantity: Schema.Int, unitCents: Schema.Int })

/** An order as shops put it on the topic (`placedAt` is an ISO string on the wire). */
export const Order = Schema.Struct({
  id: Schema.UUID,
  customer: Schema.String,
  placedAt: Schema.Date,
  test: Schema.Boolean,
  gift: Schema.Boolean,
  coupon: Schema.optional(Schema.String),
  totalCents: Schema.Int,
  lines: Schema.Array(Line)
})
/** A decoded order. */
export type Order = typeof Order.Type

/** One row an order line, keyed by (order_id, line): uuid, integers, a timestamp, a boolean, an optional text. */
export const OrderLineRow = Schema.Struct({
  order_id: Schema.UUID,
  line: Schema.Int,
  customer: Schema.String,
  sku: Schema.String,
  quantity: Schema.Int,
  cents: Schema.Int,
  placed_at: Schema.DateFromSelf,
  gift: Schema.Boolean,
  coupon: Schema.optional(Schema.String)
})
/** A row of both tables. */
export type OrderLineRow = typeof OrderLineRow.Type

/** mulberry32 seeded by FNV-1a of `text`: `next(n)` draws an integer in 0..n-1. */
const prng = (text: string) => {
  let s = [...text].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261)
  return (n: number) => {
    s = (s + 0x6d2b79f5) | 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n)
  }
}

/** Deterministic orders: order `i` of a seed is always the same; about 1 in 20 is a test order. */
export const generator = Source.generate("orders-generator", (i, { seed }): Order => {
  const next = prng(`${seed}#${i}`)
  const hex = (n: number) => Array.from({ length: n }, () => next(16).toString(16)).join("")
  const lines = Array.from({ length: 1 + next(3) }, () => ({ sku: `sku-${next(40)}`, quantity: 1 + next(4), unitCents: 99 + next(9900) }))
  return {
    // The index is part of the id, so no two orders of a seed collide.
    id: `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${i.toString(16).padStart(12, "0")}`,
    customer: `customer-${next(500)}`,
    placedAt: new Date(Date.UTC(2026, 0, 1) + next(365 * 86_400) * 1000),
    test: next(20) === 0,
    gift: next(5) === 0,
    ...(next(3) === 0 ? { coupon: `SAVE${5 * (1 + next(4))}` } : {}),
    totalCents: lines.reduce((n, l) => n + l.quantity * l.unitCents, 0),
    lines
  }
})
