/**
 * pandaflow: the reference pipeline (examples/randomuser) on KafkaBroker → decode (its
 * reader schema) → transform → PostgresSink (and CassandraSink with `cassandra`) →
 * commit, through `Pipeline.consume`. The broker is wrapped only to observe the window:
 * the first batch out of its stream, and each batch's commit once acknowledged.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted, Stream } from "effect"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import { ClassicRow } from "../../examples/randomuser/UserRow.js"
import * as CassandraClient from "../../layers/CassandraClient.js"
import * as CassandraSink from "../../layers/CassandraSink.js"
import * as KafkaBroker from "../../layers/KafkaBroker.js"
import { Broker } from "../../src/Broker.js"
import * as Pipeline from "../../src/Pipeline.js"
import { args, type ChildFigures, Window } from "../child.js"

export const main = async (withCassandra: boolean): Promise<ChildFigures> => {
  const a = args()
  const window = new Window(withCassandra ? "pandaflow: Kafka → Postgres + Cassandra" : "pandaflow: Kafka → Postgres", a.records, a.latency)
  const reference = RandomUserPipeline.make({ postgres: a.table, cassandraKeyspace: a.keyspace, cassandra: a.table })
  // PANDAFLOW_BENCH_CASSANDRA='{"batchRows":1}' races other Cassandra sink options.
  const cassandraOptions = JSON.parse(process.env.PANDAFLOW_BENCH_CASSANDRA ?? "null") as CassandraSink.Options | null
  const pipeline = cassandraOptions === null ? reference : Pipeline.withSinks(reference, [
    reference.sinks[0]!,
    CassandraSink.table({ keyspace: a.keyspace, name: a.table, schema: ClassicRow, key: "id", ...cassandraOptions })
  ])
  const observed = Layer.effect(
    Broker,
    Effect.map(Broker, (broker) => ({
      ...broker,
      consume: (options) =>
        broker.consume(options).pipe(Stream.map((batch) => {
          window.consumed()
          return { ...batch, commit: Effect.tap(batch.commit, () => Effect.sync(() => window.committed(batch.records))) }
        }))
    }))
  ).pipe(Layer.provideMerge(KafkaBroker.layer({ brokers: [...a.brokers], logLevel: "error" })))
  const layer = Layer.mergeAll(
    observed,
    PgClient.layer({ url: Redacted.make(a.pgUrl), maxConnections: 4 }),
    withCassandra
      ? CassandraClient.layer({ contactPoints: [...a.cassandra], localDataCenter: "datacenter1", keyspace: a.keyspace })
      : CassandraClient.layerOff("this run writes Postgres only")
  )
  const program = Effect.raceFirst(
    Effect.zipRight(Pipeline.consume(pipeline, { groupId: a.group, topic: a.topic }), Effect.never),
    Effect.promise(() => window.done)
  )
  return Effect.runPromise(program.pipe(Effect.provide(layer)))
}
