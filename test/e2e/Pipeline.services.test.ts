/**
 * The reference pipeline end to end on the real services: 10,000 users from the emulator
 * over real HTTP, through the real broker, into the real Postgres and Cassandra. Each
 * table must hold exactly the generator's 10,000 rows (Cassandra the classic columns),
 * and a second run of the same seed must add none. Topics, group, table and keyspace are
 * this run's own.
 */
import { SqlClient } from "@effect/sql"
import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import { ClassicRow, UserRow } from "../../examples/randomuser/UserRow.js"
import * as CassandraClient from "../../layers/CassandraClient.js"
import * as CassandraSink from "../../layers/CassandraSink.js"
import * as KafkaBroker from "../../layers/KafkaBroker.js"
import * as PostgresClient from "../../layers/PostgresClient.js"
import * as PostgresSink from "../../layers/PostgresSink.js"
import * as RandomUserEmulator from "../../layers/RandomUserEmulator.js"
import * as RandomUserSource from "../../layers/RandomUserSource.js"
import { lag } from "../../src/Broker.js"
import * as Pipeline from "../../src/Pipeline.js"
import * as Progress from "../../src/Progress.js"
import * as TableSchema from "../../src/TableSchema.js"
import { expectedRows } from "../support/expected.js"
import { requireEnv, unique } from "../support/env.js"

const total = 10_000
const seed = "e2e-services"
const keyspace = "pandaflow_e2e"

/** A row as the classic Cassandra table holds it: every column but the two derived ones. */
const classic = (row: UserRow): ClassicRow => {
  const { email_domain: _domain, registered_year: _year, ...rest } = row
  return rest
}

it.live("10,000 users land exactly once in Postgres and Cassandra; a replay of the seed adds no row", () => {
  const topic = unique("e2e.raw")
  const deadLetterTopic = unique("e2e.dlq")
  const groupId = unique("e2e-group")
  const table = unique("e2e_users").replaceAll("-", "_")
  const brokers = requireEnv("PANDAFLOW_BROKERS").split(",")
  requireEnv("PANDAFLOW_PG_URL")
  requireEnv("PANDAFLOW_CASSANDRA_CONTACT_POINTS")

  const pipeline = RandomUserPipeline.make({ postgres: table, cassandraKeyspace: keyspace, cassandra: table })
  const source = Layer.unwrapEffect(
    Effect.map(RandomUserEmulator.RandomUserEmulator, ({ url }) => RandomUserSource.layerNode({ baseUrl: url }))
  ).pipe(Layer.provide(RandomUserEmulator.layer()))
  const clients = Layer.merge(PostgresClient.layerConfig, CassandraClient.layerConfig)
  const layer = Layer.mergeAll(KafkaBroker.layer({ brokers, logLevel: "error" }), source, clients)

  const once = Effect.gen(function*() {
    const progress = yield* Progress.make
    yield* Pipeline.ingest(pipeline, { records: total, seed, pageSize: 2500, topic }, progress)
    yield* Pipeline.drain(pipeline, { groupId, topic, deadLetterTopic }, progress)
    return yield* progress.snapshot
  })

  return Effect.gen(function*() {
    yield* Pipeline.setup(pipeline, { partitions: 3, topic, deadLetterTopic })
    const expected = expectedRows(seed, total)

    const first = yield* once
    expect(first).toMatchObject({ ingested: total, processed: total, deadLettered: 0, written: { postgres: total, cassandra: total } })
    // Read the tables back through sinks of the same tables.
    const postgres = yield* PostgresSink.make(TableSchema.make({ name: table, schema: UserRow, key: "id" }))
    const cassandra = yield* CassandraSink.make(TableSchema.make({ name: table, schema: ClassicRow, key: "id" }), { keyspace })
    expect(yield* postgres.scan).toEqual(expected)
    expect(yield* cassandra.scan).toEqual(expected.map(classic))

    const second = yield* once
    expect(second).toMatchObject({ ingested: total, processed: total, deadLettered: 0 })
    expect((yield* postgres.scan).length).toBe(total)
    expect((yield* cassandra.scan).length).toBe(total)
    expect(yield* lag(topic, groupId)).toBe(0)
    console.log(`e2e: ${total} users twice through ${topic}: first run ${first.elapsedMillis} ms, replay ${second.elapsedMillis} ms`)

    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(`DROP TABLE ${table}`)
  }).pipe(Effect.provide(layer))
}, 240_000)
