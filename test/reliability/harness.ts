/**
 * Shared machinery of the reliability scenarios (the worker processes: ./workers.ts): a scenario's own
 * topic/group/tables, producing the data set (with injected bad records whose offsets
 * are known), reading back sinks and the dead-letter topic, and restarting services.
 */
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Layer, ManagedRuntime, Schema, Stream } from "effect"
import { Kafka, logLevel } from "kafkajs"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import { ClassicRow, UserRow } from "../../examples/randomuser/UserRow.js"
import * as CassandraClient from "../../layers/CassandraClient.js"
import * as CassandraSink from "../../layers/CassandraSink.js"
import * as FakeUsers from "../../layers/FakeUsers.js"
import * as Live from "../../layers/Live.js"
import * as PostgresClient from "../../layers/PostgresClient.js"
import * as PostgresSink from "../../layers/PostgresSink.js"
import * as RandomUser from "../../layers/RandomUser.js"
import { Broker, lag } from "../../src/Broker.js"
import * as DeadLetter from "../../src/DeadLetter.js"
import type { SinkError } from "../../src/RowSink.js"
import * as TableSchema from "../../src/TableSchema.js"
import * as Topic from "../../src/Topic.js"
import { repoRoot } from "../support/built.js"
import { requireEnv } from "../support/env.js"
import { keyspace } from "./workers.js"

export { prng } from "../support/prng.js"
export { sleep, waitUntil } from "../support/wait.js"
export { type Commit, exitWithin, keyspace, readyWithin, startWorker, type Worker, type WorkerOptions, waitWorker } from "./workers.js"

/** Records in a topic (high − low watermarks): duplicates included. */
export const topicCount = (s: Scenario, topic: string) =>
  s.runtime.runPromise(Effect.map(
    Effect.flatMap(Broker, (b) => b.describeTopic(topic)),
    (ps) => ps.reduce((n, p) => n + Number(BigInt(p.high) - BigInt(p.low)), 0)
  ))

/** A bad record injected into the raw topic, and the coordinate the broker gave it. */
export interface Injected {
  readonly key: string
  readonly partition: number
  readonly offset: string
}

/** Four kinds of bad input, in turn: broken JSON, a foreign shape, a tombstone, a wrong type. */
export const badValue = (i: number, template: RandomUser.UserJson): string | null => {
  switch (i % 4) {
    case 0:
      return `{"gender": "female", "name": ${i}`
    case 1:
      return JSON.stringify({ hello: "not a user", i })
    case 2:
      return null
    default:
      return JSON.stringify({ ...template, login: { ...template.login, uuid: 42 } })
  }
}

const decodeUsers = Schema.decodeUnknownSync(Schema.Array(RandomUser.User))
const encodeUser = Topic.encoder(RandomUserPipeline.users)

/** Generated users as the records the ingest job would produce for a scenario. */
export const userRecords = (s: Scenario, users: ReadonlyArray<RandomUser.UserJson>) =>
  decodeUsers(users).map((u) => encodeUser(u, { "pandaflow-source": `reliability ${s.name}` }))

/**
 * One of the scenario's tables read back through its sink: every sink stores the
 * classic columns at least (Postgres all of `UserRow`, Cassandra `ClassicRow`).
 */
export interface ScenarioSink {
  readonly name: string
  /** The table's columns, in table order: what its digest covers. */
  readonly columns: ReadonlyArray<string>
  readonly scan: Effect.Effect<ReadonlyArray<ClassicRow>, SinkError>
}

/** A scenario's own topic, group, dead-letter topic and table names, and clients to check them. */
export interface Scenario {
  readonly name: string
  readonly seed: string
  readonly topic: string
  readonly dlq: string
  readonly group: string
  readonly table: string
  readonly sinks: ReadonlyArray<ScenarioSink>
  readonly runtime: ManagedRuntime.ManagedRuntime<Broker | SqlClient | CassandraClient.CassandraClient, unknown>
  readonly kafka: Kafka
}

/** The reference pipeline writing to a scenario's tables: what its workers run. */
export const pipelineFor = (table: string) =>
  RandomUserPipeline.make({ postgres: table, cassandraKeyspace: keyspace, cassandra: table })

/**
 * The tables the workers' pipeline writes, described here to read them back; checked
 * against the pipeline's own sink definitions, so the two cannot drift apart.
 */
const tablesFor = (table: string) => {
  const postgres = TableSchema.make({ name: table, schema: UserRow, key: "id" })
  const cassandra = TableSchema.make({ name: table, schema: ClassicRow, key: "id" })
  const shape = (t: TableSchema.Any) => JSON.stringify({ name: t.name, key: t.key, columns: t.columns })
  const ours = { postgres: shape(postgres), cassandra: shape(cassandra) }
  const theirs = Object.fromEntries(pipelineFor(table).sinks.map((d) => [d.name, d.table === undefined ? undefined : shape(d.table)]))
  if (JSON.stringify(theirs) !== JSON.stringify(ours)) {
    throw new Error(`the reference pipeline's tables changed: harness reads ${JSON.stringify(ours)}, pipeline writes ${JSON.stringify(theirs)}`)
  }
  return { postgres, cassandra }
}

/**
 * Creates the scenario's topics (3 partitions unless told) and tables. The tables are created here,
 * once, before any worker starts: concurrent `CREATE TABLE IF NOT EXISTS` from several
 * Cassandra clients can leave the schema disagreeing.
 */
export const makeScenario = async (name: string, options: { readonly partitions?: number } = {}): Promise<Scenario> => {
  const brokers = requireEnv("PANDAFLOW_BROKERS").split(",")
  requireEnv("PANDAFLOW_PG_URL")
  requireEnv("PANDAFLOW_CASSANDRA_CONTACT_POINTS")
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
  const table = `rel_${name}_${id}`
  const mode = await Effect.runPromise(Live.Mode)
  const clients = Layer.merge(PostgresClient.layerConfig, CassandraClient.layerConfig)
  const runtime = ManagedRuntime.make(Layer.merge(Live.brokerLayer(mode, { broker: { logLevel: "nothing" } }), clients))
  const tables = tablesFor(table)
  // Building the sinks creates the tables.
  const [postgres, cassandra] = await runtime.runPromise(Effect.all([
    PostgresSink.make(tables.postgres),
    CassandraSink.make(tables.cassandra, { keyspace })
  ]))
  const columns = (t: TableSchema.Any) => t.columns.map((c) => c.name)
  const scenario: Scenario = {
    name,
    seed: `reliability-${name}`,
    topic: `rel.${name}.raw.${id}`,
    dlq: `rel.${name}.dlq.${id}`,
    group: `rel-${name}-${id}`,
    table,
    sinks: [
      { name: postgres.name, columns: columns(tables.postgres), scan: postgres.scan },
      { name: cassandra.name, columns: columns(tables.cassandra), scan: cassandra.scan }
    ],
    runtime,
    kafka: new Kafka({ clientId: `reliability-${name}`, brokers, logLevel: logLevel.NOTHING })
  }
  await runtime.runPromise(Effect.flatMap(Broker, (b) =>
    Effect.all([b.createTopic({ name: scenario.topic, partitions: options.partitions ?? 3 }), b.createTopic({ name: scenario.dlq, partitions: 3 })])))
  return scenario
}

/** Drops the scenario's tables and topics and closes its clients. */
export const disposeScenario = async (s: Scenario) => {
  await s.runtime.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient
    const { client } = yield* CassandraClient.connected
    yield* sql.unsafe(`DROP TABLE IF EXISTS ${s.table}`)
    yield* Effect.promise(() => client.execute(`DROP TABLE IF EXISTS ${keyspace}.${s.table}`))
  })).catch((e) => console.warn(`reliability: ${s.name}: dropping tables failed: ${String(e)}`))
  const admin = s.kafka.admin()
  await admin.connect().then(() => admin.deleteTopics({ topics: [s.topic, s.dlq] })).catch((e) =>
    console.warn(`reliability: ${s.name}: deleting topics failed: ${String(e)}`)).finally(() => admin.disconnect())
  await s.runtime.dispose()
}

/**
 * Produces `total` generated users of the scenario's seed, `chunk` a request, and after
 * every `badEvery` users one bad record (sent alone, to a chosen partition, so its offset
 * is known). Returns the injected records' coordinates.
 *
 * A fetch returns whole producer batches even past the consumer's byte limit, so `chunk`
 * bounds how small the consumer's batches can get.
 */
export const produce = async (s: Scenario, total: number, badEvery = 0, chunk = 1000): Promise<ReadonlyArray<Injected>> => {
  const users = FakeUsers.generatePage({ seed: s.seed, page: 1, results: total })
  const records = userRecords(s, users)
  const producer = s.kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const injected: Array<Injected> = []
  try {
    for (let i = 0; i < records.length; i += chunk) {
      const part = records.slice(i, i + chunk)
      await s.runtime.runPromise(Effect.flatMap(Broker, (b) => b.produce(s.topic, part)))
      if (badEvery > 0 && (i + part.length) % badEvery === 0) {
        const n = injected.length
        const key = `bad-${n}`
        const [meta] = await producer.send({
          topic: s.topic,
          acks: -1,
          messages: [{ key, value: badValue(n, users[n]!), partition: n % 3 }]
        })
        injected.push({ key, partition: meta!.partition, offset: meta!.baseOffset! })
      }
    }
  } finally {
    await producer.disconnect()
  }
  return injected
}

/** The group's lag on the scenario's raw topic. */
export const lagOf = (s: Scenario) => s.runtime.runPromise(lag(s.topic, s.group))

/** Every column of `UserRow`, in table order: the Postgres table's. */
export const allColumns: ReadonlyArray<string> = TableSchema.columnsOf("users", UserRow).map((c) => c.name)

/**
 * One line a row, the given columns (default: all of `UserRow`) in table order, sorted by
 * id: equal digests = equal tables. A sink's table digested over its columns equals the
 * expected rows digested over the same columns.
 */
export const digest = (rows: ReadonlyArray<ClassicRow>, columns: ReadonlyArray<string> = allColumns): string => {
  const hash = createHash("sha256")
  const sorted = [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  for (const row of sorted) {
    const record: Readonly<Record<string, unknown>> = row
    hash.update(`${JSON.stringify(columns.map((c) => record[c]))}\n`)
  }
  return hash.digest("hex")
}

/** Every sink's rows: count, its columns and digest, by sink name. */
export const readSinks = (s: Scenario) =>
  s.runtime.runPromise(Effect.forEach(s.sinks, (sink) =>
    Effect.map(sink.scan, (rows) => ({
      name: sink.name,
      columns: sink.columns,
      rows,
      count: rows.length,
      digest: digest(rows, sink.columns)
    }))))

/**
 * Every record of a topic, read with a fresh group up to the high watermarks at the start.
 * Each batch is committed (for the throwaway group): the broker hands out a partition's
 * next batch only then. A topic written in transactions has commit markers at offsets
 * that are never delivered, so fewer records than offsets arrive: the read then ends
 * once nothing more arrived for 10 s.
 */
export const readTopic = (s: Scenario, topic: string) =>
  s.runtime.runPromise(Effect.gen(function*() {
    const broker = yield* Broker
    const partitions = yield* broker.describeTopic(topic)
    const count = partitions.reduce((n, p) => n + Number(BigInt(p.high) - BigInt(p.low)), 0)
    if (count === 0) return []
    const records = yield* broker.consume({ topic, groupId: `${s.group}-reader-${Date.now().toString(36)}` }).pipe(
      Stream.mapConcatEffect((batch) => Effect.as(batch.commit, batch.records)),
      Stream.take(count),
      Stream.timeout("10 seconds"),
      Stream.runCollect,
      Effect.timeout("120 seconds")
    )
    return Array.from(records)
  }))

/** Every dead letter (`raw` counts duplicates) with the source coordinate it points at. */
export const readDeadLetters = async (s: Scenario) => {
  const records = await readTopic(s, s.dlq)
  const letters = records.map((r) => {
    const letter = DeadLetter.parse(r.value)
    if (letter === undefined) throw new Error(`${s.dlq}: ${r.partition}:${r.offset} is not a dead letter: ${r.value}`)
    return { key: r.key ?? "", letter }
  })
  const sources: ReadonlyArray<Injected> = letters.map(({ key, letter }) => ({ key, partition: letter.source.partition, offset: letter.source.offset }))
  /** The stage that refused each one (`decode`, `transform`, `sink`). */
  const stages: ReadonlyArray<DeadLetter.Stage> = letters.map(({ letter }) => letter.stage)
  return { raw: records.length, sources, stages }
}

/** The group's committed offset per partition of the scenario's raw topic. */
export const committedOffsets = (s: Scenario) =>
  s.runtime.runPromise(Effect.flatMap(Broker, (b) => b.committed(s.topic, s.group)))

/** `partition:offset`, to compare coordinates as sets. */
export const coordinate = (c: { readonly partition: number; readonly offset: string }) => `${c.partition}:${c.offset}`

/** Stops or starts one of the rig's services (`bash scripts/services.sh down|up <service>`). */
export const service = (action: "up" | "down", name: "broker" | "postgres" | "cassandra") =>
  new Promise<void>((resolve, reject) =>
    execFile("bash", ["scripts/services.sh", action, name], { cwd: repoRoot, timeout: 150_000 }, (error, _out, err) =>
      error ? reject(new Error(`services.sh ${action} ${name} failed: ${error.message}\n${err}`)) : resolve()))

/** The line CI output keeps for the closing note. */
export const summary = (scenario: string, figures: {
  readonly sent: number
  readonly written: string
  readonly dlq: string
  readonly redelivered: number
  readonly seconds: number
  readonly extra?: string
}) =>
  console.log(
    `reliability: ${scenario}: sent=${figures.sent} written=${figures.written} dlq=${figures.dlq} ` +
      `redelivered=${figures.redelivered} duration=${figures.seconds.toFixed(1)}s${figures.extra ? ` ${figures.extra}` : ""}`
  )
