/**
 * Runs the sink contract against every implementation: the memory double, Postgres
 * (the real server and the embedded PGlite one) and the real Cassandra, each on the
 * contract's three tables (named uniquely per run and dropped afterwards).
 *
 * The live suites need the addresses `scripts/services.sh up` writes to .pandaflow/env;
 * without them they fail with a message saying so, never skip.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Layer, Ref } from "effect"
import * as CassandraClient from "../../layers/CassandraClient.js"
import * as CassandraSink from "../../layers/CassandraSink.js"
import * as EmbeddedPostgres from "../../layers/EmbeddedPostgres.js"
import * as MemorySink from "../../layers/MemorySink.js"
import * as PostgresClient from "../../layers/PostgresClient.js"
import * as PostgresSink from "../../layers/PostgresSink.js"
import { type SinkFactory, sinkContract } from "./Sink.contract.js"

const requireEnv = (...names: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    const missing = names.filter((n) => (process.env[n] ?? "") === "")
    return missing.length === 0
      ? Effect.void
      : Effect.dieMessage(
        `${missing.join(", ")} not set: this suite needs the real services. ` +
          "Start them with `bash scripts/services.sh up`, then `source .pandaflow/env` " +
          "(or run through scripts/with-services.sh)."
      )
  })

// A keyspace of its own, so the suites never touch the pipeline's data.
const cassandraKeyspace = "pandaflow_test"

const memory: Effect.Effect<SinkFactory> = Effect.succeed({
  make: (table) =>
    Effect.map(MemorySink.make(table), (sink) => ({
      sink,
      reset: Effect.zipRight(sink.clearFaults, Ref.set(sink.store, new Map()))
    }))
})

const postgresOn = <E>(client: Layer.Layer<SqlClient, E>, options: PostgresSink.Options = {}) =>
  Effect.map(Layer.build(client), (context): SinkFactory => ({
    make: (table) =>
      Effect.gen(function*() {
        const sql = yield* SqlClient
        yield* Effect.addFinalizer(() => sql.unsafe(`DROP TABLE IF EXISTS ${table.name}`).pipe(Effect.ignore))
        const sink = yield* PostgresSink.make(table, options)
        return { sink, reset: sql.unsafe(`TRUNCATE ${table.name}`) }
      }).pipe(Effect.provide(context))
  }))

const cassandra = Effect.map(Layer.build(CassandraClient.layerConfig), (context): SinkFactory => ({
  make: (table) =>
    Effect.gen(function*() {
      const { client } = yield* CassandraClient.connected
      const sink = yield* CassandraSink.make(table, { keyspace: cassandraKeyspace })
      const qualified = `${cassandraKeyspace}.${table.name}`
      yield* Effect.addFinalizer(() => Effect.promise(() => client.execute(`DROP TABLE IF EXISTS ${qualified}`)).pipe(Effect.ignore))
      return { sink, reset: Effect.tryPromise(() => client.execute(`TRUNCATE ${qualified}`)) }
    }).pipe(Effect.provide(context))
}))

sinkContract("memory", memory)

// The real server writes every batch through COPY here (small batches take the `unnest`
// path by default); PGlite's socket server cannot carry COPY, so it holds the `unnest` path.
sinkContract(
  "postgres (real server, PANDAFLOW_PG_URL, COPY)",
  Effect.zipRight(requireEnv("PANDAFLOW_PG_URL"), postgresOn(PostgresClient.layerConfig, { copyFromRows: 1 }))
)

sinkContract("postgres (embedded PGlite, unnest)", postgresOn(EmbeddedPostgres.layerWithClient()))

sinkContract(
  "cassandra (real server, PANDAFLOW_CASSANDRA_CONTACT_POINTS)",
  Effect.zipRight(requireEnv("PANDAFLOW_CASSANDRA_CONTACT_POINTS"), cassandra)
)
