/**
 * pandaflow: the reference pipeline (examples/randomuser) on KafkaBroker → decode (its
 * reader schema) → transform → PostgresSink (and CassandraSink with `cassandra`) →
 * commit, through `Pipeline.consume`. The broker is wrapped only to observe the window:
 * the first batch out of its stream, and each batch's commit once acknowledged.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted, Stream } from "effect"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import { ClassicRow, UserRow } from "../../examples/randomuser/UserRow.js"
import * as CassandraClient from "../../layers/CassandraClient.js"
import * as CassandraSink from "../../layers/CassandraSink.js"
import * as KafkaBroker from "../../layers/KafkaBroker.js"
import * as PostgresSink from "../../layers/PostgresSink.js"
import { Broker } from "../../src/Broker.js"
import * as Pipeline from "../../src/Pipeline.js"
import * as RowSink from "../../src/RowSink.js"
import { args, type ChildFigures, warmUpKey, Window } from "../child.js"

export const main = async (withCassandra: boolean): Promise<ChildFigures> => {
  const a = args()
  const window = new Window(withCassandra ? "pandaflow: Kafka → Postgres + Cassandra" : "pandaflow: Kafka → Postgres", a.records, a.latency)
  const reference = RandomUserPipeline.make({ postgres: a.table, cassandraKeyspace: a.keyspace, cassandra: a.table })
  // PANDAFLOW_BENCH_CASSANDRA='{"batchRows":1}' races other Cassandra sink options.
  const cassandraOptions = JSON.parse(process.env.PANDAFLOW_BENCH_CASSANDRA ?? "null") as CassandraSink.Options | null
  // PANDAFLOW_BENCH_KAFKA='{"maxBytesPerPartition":1048576}' and PANDAFLOW_BENCH_CONSUME='{"concurrency":1}'
  // race other broker and consume options (durations as Effect reads them: "10 millis").
  const kafkaOptions = JSON.parse(process.env.PANDAFLOW_BENCH_KAFKA ?? "{}") as Partial<KafkaBroker.KafkaBrokerOptions>
  const consumeOptions = JSON.parse(process.env.PANDAFLOW_BENCH_CONSUME ?? "{}") as Pipeline.ConsumeOptions
  // PANDAFLOW_BENCH_POSTGRES='{"copyFromRows":200}' races other Postgres sink options.
  const postgresOptions = JSON.parse(process.env.PANDAFLOW_BENCH_POSTGRES ?? "null") as PostgresSink.Options | null
  const sinks = [
    postgresOptions === null ? reference.sinks[0]! : PostgresSink.table({ name: a.table, schema: UserRow, key: "id", ...postgresOptions }),
    cassandraOptions === null
      ? reference.sinks[1]!
      : CassandraSink.table({ keyspace: a.keyspace, name: a.table, schema: ClassicRow, key: "id", ...cassandraOptions })
  ]
  // Latency mode: a row is visible once the Postgres sink's write returned (its
  // transaction committed). Rows are keyed by the record key, so the record's send time
  // is found through it.
  const sentAt = new Map<string, number>()
  // The warm-up record is keyed apart (`warmUpKey`); its row has its user's id.
  const warmUpRows = new Set<string>()
  const postgres = sinks[0]!
  const observedPostgres: typeof postgres = {
    ...postgres,
    build: Effect.map(postgres.build, (sink) =>
      RowSink.isOff(sink) || !a.latency ? sink : {
        ...sink,
        write: (rows) =>
          Effect.tap(sink.write(rows), () =>
            Effect.sync(() => {
              const records = []
              for (const key of rows.map(sink.key)) {
                if (warmUpRows.has(key)) continue
                const sent = sentAt.get(key)
                // A row whose record was not seen would count as 0 ms: fail the run instead.
                if (sent === undefined) throw new Error(`bench: no record seen for row ${key}`)
                sentAt.delete(key)
                records.push({ key, timestamp: sent })
              }
              window.visible(records)
            }))
      })
  }
  const pipeline = Pipeline.withSinks(reference, [observedPostgres, ...sinks.slice(1)])
  const observed = Layer.effect(
    Broker,
    Effect.map(Broker, (broker) => ({
      ...broker,
      consume: (options) =>
        broker.consume(options).pipe(Stream.map((batch) => {
          window.consumed()
          if (a.latency) {
            for (const r of batch.records) {
              if (r.key === warmUpKey) warmUpRows.add((JSON.parse(r.value ?? "{}") as { login: { uuid: string } }).login.uuid)
              else if (r.key !== null) sentAt.set(r.key, r.timestamp)
            }
          }
          return { ...batch, commit: Effect.tap(batch.commit, () => Effect.sync(() => window.committed(batch.records))) }
        }))
    }))
  ).pipe(Layer.provideMerge(KafkaBroker.layer({ brokers: [...a.brokers], logLevel: "error", ...kafkaOptions })))
  const layer = Layer.mergeAll(
    observed,
    PgClient.layer({ url: Redacted.make(a.pgUrl), maxConnections: 4 }),
    withCassandra
      ? CassandraClient.layer({ contactPoints: [...a.cassandra], localDataCenter: "datacenter1", keyspace: a.keyspace })
      : CassandraClient.layerOff("this run writes Postgres only")
  )
  const program = Effect.raceFirst(
    Effect.zipRight(Pipeline.consume(pipeline, { ...consumeOptions, groupId: a.group, topic: a.topic }), Effect.never),
    Effect.promise(() => window.done)
  )
  return Effect.runPromise(program.pipe(Effect.provide(layer)))
}
