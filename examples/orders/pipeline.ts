/**
 * A second pipeline, built only from the public API: seeded shop orders; test orders are
 * dropped, every other order fans out to one row a line, in Postgres and Cassandra.
 *
 *   generator ──▶ orders.raw.v1 ──▶ one row a line (no test orders) ──▶ Postgres order_lines, Cassandra shop.order_lines
 *                                └─ bad record, total ≠ sum of lines ──▶ orders.raw.dlq
 */
import { Data, Effect } from "effect"
import { CassandraSink, PostgresSink } from "../../layers/index.js"
import { Pipeline, Topic } from "../../src/index.js"
import { generator, Order, OrderLineRow } from "./Order.js"

export { generator, Order, OrderLineRow } from "./Order.js"

/** Why the transform refuses an order: its total is not the sum of its lines. */
export class TotalMismatch extends Data.TaggedError("TotalMismatch")<{ readonly message: string }> {}

/** The raw topic, keyed by order id. */
export const orders = Topic.make({ name: "orders.raw.v1", schema: Order, key: (o) => o.id })

/** The pipeline writing to the given tables (default `order_lines` and `shop.order_lines`). */
export const make = (tables: { postgres?: string; keyspace?: string; cassandra?: string } = {}) =>
  Pipeline.make({
    name: "orders",
    input: orders,
    source: generator,
    transform: (o) => {
      const sum = o.lines.reduce((n, l) => n + l.quantity * l.unitCents, 0)
      if (sum !== o.totalCents) return Effect.fail(new TotalMismatch({ message: `total ${o.totalCents} ≠ sum of lines ${sum}` }))
      if (o.test) return [] // filter: test orders never reach the tables
      return o.lines.map((l, line): OrderLineRow => ({ // fan-out: one row a line
        order_id: o.id,
        line,
        customer: o.customer,
        sku: l.sku,
        quantity: l.quantity,
        cents: l.quantity * l.unitCents,
        placed_at: o.placedAt,
        gift: o.gift,
        ...(o.coupon === undefined ? {} : { coupon: o.coupon })
      }))
    },
    sinks: [
      PostgresSink.table({ name: tables.postgres ?? "order_lines", schema: OrderLineRow, key: ["order_id", "line"] }),
      CassandraSink.table({
        keyspace: tables.keyspace ?? "shop",
        name: tables.cassandra ?? "order_lines",
        schema: OrderLineRow,
        key: ["order_id", "line"]
      })
    ]
  })

/** What `pandaflow run examples/orders/pipeline.ts` runs. */
export default make()
