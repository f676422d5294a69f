/**
 * Runs the sink contract against every implementation: the memory double, Postgres
 * (the real server and the embedded PGlite one) and the real Cassandra.
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
import * as PostgresSink from "../../layers/PostgresSink.js"
import { sinkContract } from "./Sink.contract.js"

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

// Tables and keyspaces of their own, so the suites never touch the pipeline's data.
const pgTable = "users_contract"
const cassandraKeyspace = "pandaflow_test"

const postgresOn = <E>(client: Layer.Layer<SqlClient, E>) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(client)
    return yield* Effect.gen(function*() {
      const sql = yield* SqlClient
      const sink = yield* PostgresSink.make({ table: pgTable })
      return { sink, reset: sql.unsafe(`TRUNCATE ${pgTable}`) }
    }).pipe(Effect.provide(context))
  })

sinkContract(
  "memory",
  Effect.map(MemorySink.make(), (sink) => ({ sink, reset: Effect.zipRight(sink.clearFaults, Ref.set(sink.store, new Map())) }))
)

sinkContract(
  "postgres (real server, PANDAFLOW_PG_URL)",
  Effect.zipRight(requireEnv("PANDAFLOW_PG_URL"), postgresOn(PostgresSink.layerClient))
)

sinkContract("postgres (embedded PGlite)", postgresOn(EmbeddedPostgres.layerWithClient()))

sinkContract(
  "cassandra (real server, PANDAFLOW_CASSANDRA_CONTACT_POINTS)",
  Effect.zipRight(
    requireEnv("PANDAFLOW_CASSANDRA_CONTACT_POINTS"),
    Effect.gen(function*() {
      const context = yield* Layer.build(CassandraClient.layerConfig)
      return yield* Effect.gen(function*() {
        const { client } = yield* CassandraClient.CassandraClient
        const sink = yield* CassandraSink.make({ keyspace: cassandraKeyspace })
        return {
          sink,
          reset: Effect.tryPromise(() => client.execute(`TRUNCATE ${cassandraKeyspace}.created_users`))
        }
      }).pipe(Effect.provide(context))
    })
  )
)
