/**
 * The orders example end to end on the real services: 2,000 generated orders through the
 * real broker into the real Postgres and Cassandra. What each database holds, read back
 * with plain SQL and CQL (not through the sinks), must equal rows computed here from the
 * generated orders by a separate implementation of the rules (no call to the pipeline's
 * transform). A replay of the same seed adds no row; a malformed record and an order the
 * transform refuses reach the dead-letter topic. Topics, group and tables are this run's own.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { expect, it } from "@effect/vitest"
import cassandra from "cassandra-driver"
import { Chunk, Effect, Layer, Stream } from "effect"
import * as Orders from "../../examples/orders/pipeline.js"
import { CassandraClient, KafkaBroker, PostgresClient, PostgresSink } from "../../layers/index.js"
import { Broker, DeadLetter, Pipeline, Progress, Source } from "../../src/index.js"
import { requireEnv, unique } from "../support/env.js"

const total = 2000
const seed = "orders-e2e"
const keyspace = "pandaflow_e2e"

/** A stored line as plain values, the same whichever database it came from. */
interface Line {
  readonly order_id: string
  readonly line: number
  readonly customer: string
  readonly sku: string
  readonly quantity: number
  readonly cents: number
  readonly placed_at: string
  readonly gift: boolean
  readonly coupon: string | null
}

// The rules, restated: no row for a test order; line k of any other order is one row
// costing quantity × unit price; the coupon is NULL when the order has none.
const expectedLines = (orders: ReadonlyArray<Orders.Order>): ReadonlyArray<Line> => {
  const out: Array<Line> = []
  for (const order of orders) {
    if (order.test) continue
    order.lines.forEach((l, k) =>
      out.push({
        order_id: order.id.toLowerCase(),
        line: k,
        customer: order.customer,
        sku: l.sku,
        quantity: l.quantity,
        cents: l.quantity * l.unitCents,
        placed_at: order.placedAt.toISOString(),
        gift: order.gift,
        coupon: order.coupon ?? null
      })
    )
  }
  return out.sort(byKey)
}

const byKey = (a: Line, b: Line) => (a.order_id < b.order_id ? -1 : a.order_id > b.order_id ? 1 : a.line - b.line)

const postgresLines = (table: string) =>
  Effect.flatMap(SqlClient, (sql) =>
    sql.unsafe<{
      order_id: string
      line: number
      customer: string
      sku: string
      quantity: number
      cents: number
      placed_at: string
      gift: boolean
      coupon: string | null
    }>(
      `SELECT order_id::text AS order_id, line::int AS line, customer, sku, quantity::int AS quantity, cents::int AS cents,
              to_char(placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS placed_at, gift, coupon
         FROM ${table}`
    )).pipe(Effect.map((rows): ReadonlyArray<Line> => rows.map((r) => ({ ...r })).sort(byKey)))

const cassandraLines = (table: string) =>
  Effect.flatMap(CassandraClient.connected, ({ client }) =>
    Effect.promise(async () => {
      const out: Array<Line> = []
      const result = await client.execute(`SELECT * FROM ${keyspace}.${table}`, [], { prepare: true, fetchSize: 5000 })
      for await (const r of result) {
        const long = (v: unknown) => (cassandra.types.Long.isLong(v) ? v.toNumber() : Number(v))
        out.push({
          order_id: String(r.get("order_id")),
          line: long(r.get("line")),
          customer: String(r.get("customer")),
          sku: String(r.get("sku")),
          quantity: long(r.get("quantity")),
          cents: long(r.get("cents")),
          placed_at: (r.get("placed_at") as Date).toISOString(),
          gift: r.get("gift") === true,
          coupon: (r.get("coupon") as string | null) ?? null
        })
      }
      return out.sort(byKey)
    }))

it.live("2,000 orders land in Postgres and Cassandra as computed independently; a replay adds no row", () => {
  const topic = unique("orders.raw")
  const deadLetterTopic = unique("orders.dlq")
  const groupId = unique("orders-group")
  const table = unique("orders_e2e").replaceAll("-", "_")
  const brokers = requireEnv("PANDAFLOW_BROKERS").split(",")
  requireEnv("PANDAFLOW_PG_URL")
  requireEnv("PANDAFLOW_CASSANDRA_CONTACT_POINTS")
  const pipeline = Orders.make({ postgres: table, keyspace, cassandra: table })
  const layer = Layer.mergeAll(KafkaBroker.layer({ brokers, logLevel: "error" }), PostgresClient.layerConfig, CassandraClient.layerConfig)

  const once = Effect.gen(function*() {
    const progress = yield* Progress.make
    yield* Pipeline.ingest(pipeline, { records: total, seed, topic }, progress)
    yield* Pipeline.drain(pipeline, { groupId, topic, deadLetterTopic }, progress)
    return yield* progress.snapshot
  })

  const dropTables = Effect.gen(function*() {
    const sql = yield* SqlClient
    yield* sql.unsafe(`DROP TABLE IF EXISTS ${table}`)
    const { client } = yield* CassandraClient.connected
    yield* Effect.promise(() => client.execute(`DROP TABLE IF EXISTS ${keyspace}.${table}`))
  }).pipe(Effect.ignore)

  return Effect.gen(function*() {
    const broker = yield* Broker.Broker
    yield* broker.createTopic({ name: topic, partitions: 3 })
    yield* broker.createTopic({ name: deadLetterTopic, partitions: 3 })
    const source = pipeline.source
    if (source === undefined) return yield* Effect.dieMessage("the orders pipeline has a source")
    const generated = Chunk.toReadonlyArray(yield* Stream.runCollect(Source.values(source, { records: total, seed })))
    const expected = expectedLines(generated)
    const testOrders = generated.filter((o) => o.test).length
    expect(testOrders).toBeGreaterThan(0) // the filter has something to drop
    expect(expected.length).toBeGreaterThan(total - testOrders) // and some order has several lines

    const first = yield* once
    expect(first).toMatchObject({ ingested: total, processed: total, deadLettered: 0 })
    expect(first.written).toEqual({ postgres: expected.length, cassandra: expected.length })
    expect(yield* postgresLines(table)).toEqual(expected)
    expect(yield* cassandraLines(table)).toEqual(expected)

    // The same seed again, plus a malformed record and an order whose total is wrong.
    const [sample] = generated
    if (sample === undefined) return yield* Effect.dieMessage("no order generated")
    const wrong = pipeline.encode({ ...sample, id: "9f0e8d7c-6b5a-4948-a736-251403f2e1d0", totalCents: sample.totalCents + 1 })
    yield* broker.produce(topic, [{ key: "bad", value: "{\"id\": 42" }, wrong])
    const second = yield* once
    expect(second).toMatchObject({ ingested: total, processed: total + 2, deadLettered: 2 })
    expect(yield* postgresLines(table)).toEqual(expected)
    expect(yield* cassandraLines(table)).toEqual(expected)
    expect(yield* Broker.lag(topic, groupId)).toBe(0)

    const letters = yield* broker.consume({ topic: deadLetterTopic, groupId: unique("orders-inspect") }).pipe(
      Stream.mapEffect((b) => Effect.as(b.commit, b.records)),
      Stream.flattenIterables,
      Stream.take(2),
      Stream.runCollect,
      Effect.map((c) => Chunk.toReadonlyArray(c).map((r) => DeadLetter.parse(r.value)))
    )
    expect(letters.map((l) => l?.stage).sort()).toEqual(["decode", "transform"])
    expect(letters.find((l) => l?.stage === "transform")?.error).toMatch(/^TotalMismatch: total \d+ ≠ sum of lines \d+$/)
    expect(letters.find((l) => l?.stage === "decode")?.error).toMatch(/invalid JSON/)
    console.log(`orders e2e: ${total} orders → ${expected.length} lines through ${topic}: first ${first.elapsedMillis} ms, replay ${second.elapsedMillis} ms`)
  }).pipe(Effect.ensuring(dropTables), Effect.provide(layer))
}, 240_000)
