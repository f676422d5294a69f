/**
 * Bisection on the real databases: a row the *server* refuses (not the sinks' own checks
 * before a write) is isolated by `Delivery`'s bisection and dead-lettered with stage
 * `sink` and the server's message, and the rest of its batch lands, through the pipeline
 * machinery on the real broker.
 *
 * - Postgres: a CHECK constraint this test adds to the table after the sink created it;
 *   the sink knows nothing of it, the server refuses the row.
 * - Cassandra: a partition key longer than 65,535 bytes. The row passes `RowValues`'
 *   checks (a text without NUL); the server answers "Key length of 70000 is longer than
 *   maximum of 65535".
 *
 * Cassandra writes a batch as concurrent inserts, so a batch it refuses mid-way has
 * written part of its rows (shown below on the sink itself). The RowSink contract allows
 * it: what a Rejected batch wrote are upserts of its own rows, and bisection writes every
 * accepted row again, so the table ends with exactly the accepted rows, latest versions.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { expect, it } from "@effect/vitest"
import cassandra from "cassandra-driver"
import { Chunk, Effect, Either, Layer, Schema, Stream } from "effect"
import { CassandraClient, CassandraSink, KafkaBroker, PostgresClient, PostgresSink } from "../../layers/index.js"
import { Broker, DeadLetter, Pipeline, type RowSink, TableSchema, Topic } from "../../src/index.js"
import { requireEnv, unique } from "../support/env.js"

const keyspace = "pandaflow_test"

/** A versioned reading; the topic's value and the table's row alike. */
const Reading = Schema.Struct({ id: Schema.String, version: Schema.Int, note: Schema.String })
type Reading = typeof Reading.Type

const readings = (prefix: string, count: number, version: number): Array<Reading> =>
  Array.from({ length: count }, (_, i) => ({ id: `${prefix}-${i}`, version, note: `v${version} of ${i}` }))

const byId = (rows: ReadonlyArray<Reading>): Array<Reading> => [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))

/** A one-partition topic of this run, so the whole input comes as one ordered stream. */
const topicOf = (name: string) => Topic.make({ name: unique(name), schema: Reading, key: (r) => r.id, partitions: 1 })

/** Every dead letter of `topic` (the test knows how many to expect). */
const deadLetters = (topic: string, count: number) =>
  Effect.flatMap(Broker.Broker, (broker) =>
    broker.consume({ topic, groupId: unique("bisect-inspect") }).pipe(
      Stream.mapEffect((b) => Effect.as(b.commit, b.records)),
      Stream.flattenIterables,
      Stream.take(count),
      Stream.runCollect,
      Effect.map((c) => Chunk.toReadonlyArray(c).map((r) => DeadLetter.parse(r.value)!)),
      Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`fewer than ${count} dead letters on ${topic}`) })
    ))

/** Produces `values` in order, runs the pipeline until the group committed all of it, returns the offsets. */
const runThrough = <ESink, RSink>(
  pipeline: Pipeline.Pipeline<Reading, Reading, never, never, never, ESink, RSink>,
  topic: Topic.Topic<Reading, Reading>,
  values: ReadonlyArray<Reading>
) =>
  Effect.gen(function*() {
    const broker = yield* Broker.Broker
    yield* Pipeline.setup(pipeline, { partitions: 1 })
    yield* broker.produce(topic.name, values.map((v) => pipeline.encode(v)))
    yield* Pipeline.drain(pipeline, { groupId: unique("bisect"), pollEvery: "200 millis" })
    expect((yield* broker.describeTopic(topic.name))[0]!.high).toBe(String(values.length))
  })

const kafka = () => KafkaBroker.layer({ brokers: requireEnv("PANDAFLOW_BROKERS").split(","), logLevel: "error" })

it.live("Postgres: rows a CHECK constraint of the server refuses are isolated and dead-lettered, the rest of the batch lands", () => {
  requireEnv("PANDAFLOW_PG_URL")
  const name = unique("bisect_pg").replaceAll("-", "_")
  const table = TableSchema.make({ name, schema: Reading, key: "id" })
  const topic = topicOf("bisect-pg.v1")
  const pipeline = Pipeline.make({ name: "bisect-pg", input: topic, transform: (r) => [r], sinks: [PostgresSink.table({ name, schema: Reading, key: "id" })] })
  const refusedNote = "refused by the server"
  // 30 keys at v1, then 30 at v2, where the v2 of keys 7 and 20 break the constraint.
  const v1 = readings("k", 30, 1)
  const v2 = readings("k", 30, 2).map((r, i) => (i === 7 || i === 20 ? { ...r, note: refusedNote } : r))
  return Effect.gen(function*() {
    const sql = yield* SqlClient
    // The sink creates the table; the constraint comes after, so no client-side check knows it.
    yield* Effect.scoped(PostgresSink.make(table))
    yield* sql.unsafe(`ALTER TABLE ${name} ADD CONSTRAINT ${name}_refuse CHECK (note <> '${refusedNote}')`)
    yield* runThrough(pipeline, topic, [...v1, ...v2])

    // A refused update keeps the valid version before it (v1); every other key is at v2.
    const expected = v2.map((r, i) => (i === 7 || i === 20 ? v1[i]! : r))
    const stored = yield* sql.unsafe<Reading>(`SELECT id, version::int AS version, note FROM ${name}`)
    expect(byId(stored.map((r) => ({ ...r })))).toEqual(byId(expected))

    const letters = yield* deadLetters(topic.deadLetter, 2)
    expect(letters.map((l) => [l.stage, l.source.offset]).sort()).toEqual([["sink", "37"], ["sink", "50"]])
    for (const l of letters) {
      expect(l.error).toMatch(new RegExp(`^sink postgres rejected the row: .*violates check constraint "${name}_refuse"`))
      expect((JSON.parse(l.value ?? "{}") as Reading).note).toBe(refusedNote)
      // Found by bisection: more than one write took the row (the batch, then halves).
      expect(l.attempt).toBeGreaterThan(1)
    }
  }).pipe(
    Effect.ensuring(Effect.flatMap(SqlClient, (sql) => sql.unsafe(`DROP TABLE IF EXISTS ${name}`)).pipe(Effect.ignore)),
    Effect.provide(Layer.mergeAll(kafka(), PostgresClient.layerConfig))
  )
}, 120_000)

/** The server's own refusal: a partition key over Cassandra's 65,535-byte limit (`RowValues` lets it through). */
const hugeKey = "x".repeat(70_000)

const long = (v: unknown) => (cassandra.types.Long.isLong(v) ? v.toNumber() : Number(v))

it.live("Cassandra: a row the server refuses is isolated and dead-lettered; the table holds exactly the other rows, latest versions", () => {
  requireEnv("PANDAFLOW_CASSANDRA_CONTACT_POINTS")
  const name = unique("bisect_cql").replaceAll("-", "_")
  const topic = topicOf("bisect-cql.v1")
  const pipeline = Pipeline.make({
    name: "bisect-cql",
    input: topic,
    transform: (r) => [r],
    sinks: [CassandraSink.table({ keyspace, name, schema: Reading, key: "id" })]
  })
  // 200 keys at v1, then 200 at v2 with the refused row in the middle: with 64 inserts in
  // flight, the first write of the batch lands part of it before the server refuses.
  const v1 = readings("k", 200, 1)
  const v2 = readings("k", 200, 2)
  const bad: Reading = { id: hugeKey, version: 2, note: "a key over the limit" }
  const input = [...v1, ...v2.slice(0, 150), bad, ...v2.slice(150)]
  return Effect.gen(function*() {
    yield* runThrough(pipeline, topic, input)
    const { client } = yield* CassandraClient.connected
    const stored = yield* Effect.promise(async () => {
      const out: Array<Reading> = []
      for await (const r of await client.execute(`SELECT id, version, note FROM ${keyspace}.${name}`, [], { prepare: true, fetchSize: 1000 })) {
        out.push({ id: String(r.get("id")), version: long(r.get("version")), note: String(r.get("note")) })
      }
      return out
    })
    expect(byId(stored)).toEqual(byId(v2))

    const [letter, ...more] = yield* deadLetters(topic.deadLetter, 1)
    expect(more).toEqual([])
    expect(letter!.stage).toBe("sink")
    expect(letter!.source.offset).toBe("350")
    expect(letter!.error).toBe("sink cassandra rejected the row: Key length of 70000 is longer than maximum of 65535")
    expect(letter!.attempt).toBeGreaterThan(1)
  }).pipe(
    Effect.ensuring(
      Effect.flatMap(CassandraClient.connected, ({ client }) => Effect.promise(() => client.execute(`DROP TABLE IF EXISTS ${keyspace}.${name}`))).pipe(
        Effect.ignore
      )
    ),
    Effect.provide(Layer.mergeAll(kafka(), CassandraClient.layerConfig))
  )
}, 120_000)

// Single inserts (64 in flight) and the default unlogged batches (a 70,000-byte row is
// past the batch byte limit, so it is a batch of one beside the others).
for (const mode of [{ batchRows: 1, concurrency: 64 }, {}] as const) {
  it.live(`Cassandra ${"batchRows" in mode ? "single inserts" : "batches"}: a batch the server refuses mid-way has written part of its rows, each as written; the rows again make it whole`, () => {
    requireEnv("PANDAFLOW_CASSANDRA_CONTACT_POINTS")
    const name = unique(`partial_cql${"batchRows" in mode ? "1" : ""}`).replaceAll("-", "_")
    const table = TableSchema.make({ name, schema: Reading, key: "id" })
    const good = readings("p", 300, 1)
    return Effect.gen(function*() {
      const sink: RowSink.ReadableSink<Reading> = yield* CassandraSink.make(table, { keyspace, ...mode })
      const result = yield* Effect.either(sink.write([...good.slice(0, 150), { id: hugeKey, version: 1, note: "over the limit" }, ...good.slice(150)]))
      expect(Either.isLeft(result) && result.left.reason).toBe("Rejected")
      if (Either.isLeft(result)) expect(result.left.message).toBe("Key length of 70000 is longer than maximum of 65535")
      const partial = yield* sink.scan
      if ("batchRows" in mode) {
        // 64 in flight: the refused insert (index 150) is sent only after 150 - 64 others
        // completed, so at least 86 rows landed, every one a row of the batch as written.
        expect(partial.length).toBeGreaterThanOrEqual(86)
        expect(partial.length).toBeLessThan(good.length)
      } else {
        expect(partial.length).toBeLessThanOrEqual(good.length)
      }
      const written = new Map(good.map((r) => [r.id, r]))
      for (const r of partial) expect(r).toEqual(written.get(r.id))
      // What bisection does next: the accepted rows written again leave exactly them.
      yield* sink.write(good)
      expect(yield* sink.scan).toEqual(byId(good))
    }).pipe(
      Effect.ensuring(
        Effect.flatMap(CassandraClient.connected, ({ client }) => Effect.promise(() => client.execute(`DROP TABLE IF EXISTS ${keyspace}.${name}`))).pipe(
          Effect.ignore
        )
      ),
      Effect.scoped,
      Effect.provide(CassandraClient.layerConfig)
    )
  }, 120_000)
}
