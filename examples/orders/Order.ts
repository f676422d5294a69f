/**
 * The orders example's records: the order shops put on the topic, and the order-line
 * row both tables hold. Order `i` of a seed is always the same order, so a retried or
 * taken-over ingest writes the same keys.
 */
import { Schema } from "effect"
import { createHash } from "node:crypto"
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

/** Deterministic orders: order `i` of a seed is always the same (its fields come from a hash of both); ~1 in 20 is a test order. */
export const generator = Source.generate("orders-generator", (i, { seed }): Order => {
  const hash = createHash("sha256").update(`${seed}#${i}`).digest()
  const pick = (slot: number, n: number) => hash.readUInt16BE(slot * 2) % n // 16 slots of 0..65535
  const lines = Array.from({ length: 1 + pick(0, 3) }, (_, l) => ({
    sku: `sku-${pick(1 + 3 * l, 40)}`,
    quantity: 1 + pick(2 + 3 * l, 4),
    unitCents: 99 + pick(3 + 3 * l, 9900)
  }))
  const hex = hash.toString("hex")
  return {
    // A v4-shaped uuid whose last part is the index: no two orders of a seed collide.
    id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${i.toString(16).padStart(12, "0")}`,
    customer: `customer-${pick(10, 500)}`,
    placedAt: new Date(Date.UTC(2026, 0, 1) + (hash.readUInt32BE(22) % (365 * 86_400)) * 1000),
    test: pick(13, 20) === 0,
    gift: pick(14, 5) === 0,
    ...(pick(15, 3) === 0 ? { coupon: `SAVE${5 * (1 + (hash[30]! % 4))}` } : {}),
    totalCents: lines.reduce((n, l) => n + l.quantity * l.unitCents, 0),
    lines
  }
})
