/**
 * The Cassandra sink groups a write's rows by the replicas of their partitions, found
 * from a routing key it serialises itself (layers/CassandraBatches.ts). That key is only
 * right if it hashes to the token the server computes: here, on the real Cassandra, for
 * every key type the sink serialises and a composite key (with an empty component: a
 * single empty key is refused by the server), against `SELECT token(…)`.
 */
import cassandra from "cassandra-driver"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as CassandraBatches from "../../layers/CassandraBatches.js"

const keyspace = "pandaflow_test"
const contactPoints = (process.env.PANDAFLOW_CASSANDRA_CONTACT_POINTS ?? "").split(",").filter((s) => s !== "")
const client = new cassandra.Client({ contactPoints, localDataCenter: process.env.PANDAFLOW_CASSANDRA_LOCAL_DC ?? "datacenter1" })
const suffix = Date.now().toString(36)

beforeAll(async () => {
  if (contactPoints.length === 0) throw new Error("PANDAFLOW_CASSANDRA_CONTACT_POINTS is not set: run through scripts/with-services.sh")
  await client.connect()
  await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
}, 60_000)
afterAll(() => client.shutdown())

// Each case: the key columns' CQL types and a few key values (hand-picked edge cases).
const cases: ReadonlyArray<{ readonly types: ReadonlyArray<string>; readonly keys: ReadonlyArray<ReadonlyArray<unknown>> }> = [
  { types: ["uuid"], keys: [["00112233-4455-6677-8899-aabbccddeeff"], ["f47ac10b-58cc-4372-a567-0e02b2c3d479"]] },
  { types: ["text"], keys: [["a"], ["héllo wörld"], ["x".repeat(300)]] },
  { types: ["bigint"], keys: [[0], [1], [-1], [2 ** 53 - 1], [-(2 ** 40)]] },
  { types: ["int"], keys: [[0], [-7], [2 ** 31 - 1]] },
  { types: ["timestamp"], keys: [[new Date(0)], [new Date("2026-12-02T12:00:00.123Z")]] },
  { types: ["text", "bigint"], keys: [["a", 1], ["", 0], ["zz", -5]] }
]

describe("Cassandra routing keys hash to the server's tokens", () => {
  for (const [i, c] of cases.entries()) {
    it(`key (${c.types.join(", ")})`, async () => {
      const table = `routing_${i}_${suffix}`
      const columns = c.types.map((t, j) => `k${j}`)
      await client.execute(`CREATE TABLE ${keyspace}.${table} (${c.types.map((t, j) => `k${j} ${t}`).join(", ")}, PRIMARY KEY ((${columns.join(", ")})))`)
      try {
        for (const key of c.keys) {
          await client.execute(`INSERT INTO ${keyspace}.${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`, [...key], { prepare: true })
        }
        const result = await client.execute(`SELECT token(${columns.join(", ")}) AS t, ${columns.join(", ")} FROM ${keyspace}.${table}`)
        expect(result.rows.length).toBe(c.keys.length)
        for (const row of result.rows) {
          const key = CassandraBatches.routingKey(c.types.map((t, j) => {
            const value: unknown = row.get(`k${j}`)
            // Read back as the driver's types: Long for bigint, Uuid for uuid.
            const plain = cassandra.types.Long.isLong(value) ? value.toNumber() : value instanceof cassandra.types.Uuid ? value.toString() : value
            return CassandraBatches.serialise(t, plain)
          }))
          expect(key, `no routing key for ${JSON.stringify(row)}`).toBeDefined()
          expect(client.metadata.newToken(key!).toString()).toBe(String(row.get("t")))
        }
      } finally {
        await client.execute(`DROP TABLE IF EXISTS ${keyspace}.${table}`)
      }
    }, 60_000)
  }
})
