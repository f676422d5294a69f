/**
 * Sinks under faults: an unreachable or vanished server is `Unavailable` (worth a
 * retry), and a row the database refuses is `Rejected` (not worth one), in bounded time.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql/SqlClient"
import { Cause, Duration, Effect, Either, Exit, Layer, Redacted, Scope } from "effect"
import * as CassandraClient from "../../layers/CassandraClient.js"
import * as CassandraSink from "../../layers/CassandraSink.js"
import * as EmbeddedPostgres from "../../layers/EmbeddedPostgres.js"
import * as PostgresClient from "../../layers/PostgresClient.js"
import * as PostgresSink from "../../layers/PostgresSink.js"
import { UserRow } from "../../examples/randomuser/UserRow.js"
import * as RowSink from "../../src/RowSink.js"
import type { SinkError } from "../../src/RowSink.js"
import * as TableSchema from "../../src/TableSchema.js"
import { makeRows } from "../support/rows.js"

const users = (name: string) => TableSchema.make({ name, schema: UserRow, key: "id" })

interface Failure {
  readonly _tag: string
  readonly reason?: string | undefined
  readonly message: string
}

const expectReason = <A>(result: Either.Either<A, Failure>, reason: string, tag = "SinkError") => {
  expect(Either.isLeft(result), `expected a ${tag}`).toBe(true)
  if (Either.isLeft(result)) {
    expect(result.left._tag).toBe(tag)
    expect(result.left.reason, result.left.message).toBe(reason)
  }
}

describe("PostgresSink faults", () => {
  it.live("a closed port is Unavailable within the connect timeout", () =>
    Effect.gen(function*() {
      const client = PostgresClient.layer({
        url: Redacted.make("postgres://postgres@127.0.0.1:1/pandaflow"),
        connectTimeout: Duration.seconds(2)
      })
      const [elapsed, result] = yield* Effect.timed(
        Effect.either(Effect.scoped(Effect.provide(PostgresSink.make(users("users_faults_port")), client)))
      )
      expectReason(result, "Unavailable", "PostgresClientError")
      expect(Duration.toMillis(elapsed)).toBeLessThan(10_000)
    }))

  it.live("a server that goes away mid-life is Unavailable", () =>
    Effect.gen(function*() {
      // The server lives in its own scope so the test can stop it under a live client.
      const serverScope = yield* Scope.make()
      const server = yield* Layer.buildWithScope(EmbeddedPostgres.layer(), serverScope)
      const client = yield* Layer.build(Layer.provide(EmbeddedPostgres.layerClient(), Layer.succeedContext(server)))
      const sink = yield* Effect.provide(PostgresSink.make(users("users_faults_gone")), client)
      yield* sink.write(makeRows(10, 31))
      yield* Scope.close(serverScope, Exit.void)
      const [elapsed, result] = yield* Effect.timed(Effect.either(sink.write(makeRows(10, 32))))
      expectReason(result, "Unavailable")
      expect(Duration.toMillis(elapsed)).toBeLessThan(10_000)
    }).pipe(Effect.scoped))

  const rejects = <E>(label: string, client: Layer.Layer<SqlClient, E>) =>
    it.live(`a constraint violation is Rejected (${label})`, () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient
        // The sink's CREATE TABLE IF NOT EXISTS keeps this table and its extra CHECK; the
        // start-up check accepts its `integer` for the schema's bigint.
        yield* sql.unsafe("DROP TABLE IF EXISTS users_faults_check")
        yield* sql.unsafe(
          "CREATE TABLE users_faults_check (id uuid PRIMARY KEY, first_name text NOT NULL, " +
            "last_name text NOT NULL, gender text NOT NULL, address text NOT NULL, " +
            "post_code text NOT NULL CHECK (post_code <> 'REJECT'), email text NOT NULL, " +
            "username text NOT NULL, registered_date text NOT NULL, phone text NOT NULL, " +
            "picture text NOT NULL, email_domain text NOT NULL, registered_year integer NOT NULL)"
        )
        const sink = yield* PostgresSink.make(users("users_faults_check"))
        const rows = makeRows(3, 33)
        expectReason(yield* Effect.either(sink.write([...rows, { ...makeRows(1, 34)[0]!, post_code: "REJECT" }])), "Rejected")
        // Nothing of the refused batch was written.
        expect(yield* sink.scan).toEqual([])
        yield* sql.unsafe("DROP TABLE users_faults_check")
      }).pipe(Effect.provide(client)))

  rejects("embedded PGlite", EmbeddedPostgres.layerWithClient())
  rejects(
    "real server, PANDAFLOW_PG_URL",
    Layer.unwrapEffect(Effect.sync(() => {
      if ((process.env.PANDAFLOW_PG_URL ?? "") === "") {
        throw new Error("PANDAFLOW_PG_URL not set: start the services with `bash scripts/services.sh up` and `source .pandaflow/env`")
      }
      return PostgresClient.layerConfig
    }))
  )
})

describe("CassandraClient faults", () => {
  it.live("a closed port is Unavailable within the connect timeout", () =>
    Effect.gen(function*() {
      const client = CassandraClient.layer({
        contactPoints: ["127.0.0.1:1"],
        localDataCenter: "datacenter1",
        keyspace: "pandaflow_test",
        connectTimeout: Duration.seconds(2)
      })
      const [elapsed, result] = yield* Effect.timed(Effect.either(Effect.scoped(Layer.build(client))))
      expectReason(result, "Unavailable", "CassandraClientError")
      expect(Duration.toMillis(elapsed)).toBeLessThan(10_000)
    }))

  it.live("a client switched off builds Cassandra sinks as off, and `connected` fails Off with the reason", () =>
    Effect.gen(function*() {
      const off = CassandraClient.layerOff("embedded mode: set PANDAFLOW_CASSANDRA_CONTACT_POINTS to use Cassandra")
      const definition = CassandraSink.table({ name: "users_off", schema: UserRow, key: "id", sinkName: "classic" })
      const built = yield* Effect.scoped(Effect.provide(definition.build, off))
      expect(built).toEqual(RowSink.off("classic", "embedded mode: set PANDAFLOW_CASSANDRA_CONTACT_POINTS to use Cassandra"))
      expect(RowSink.isOff(built)).toBe(true)
      const result = yield* Effect.either(Effect.provide(CassandraClient.connected, off))
      expect(Either.isLeft(result) && result.left._tag === "CassandraClientError" && result.left.reason).toBe("Off")
      if (Either.isLeft(result)) {
        expect(result.left.message).toBe("Cassandra is off: embedded mode: set PANDAFLOW_CASSANDRA_CONTACT_POINTS to use Cassandra")
      }
    }))

  it.live("CassandraSink.make on a client switched off fails with a SinkError naming the reason (not a defect)", () =>
    Effect.gen(function*() {
      const off = CassandraClient.layerOff("embedded mode: no Cassandra here")
      const exit = yield* Effect.exit(
        Effect.scoped(Effect.provide(CassandraSink.make(users("users_off_direct"), { sinkName: "classic" }), off))
      )
      // A defect (a ReferenceError, say) would not be a failure: check the cause first.
      expect(Exit.isFailure(exit) && Cause.isFailType(exit.cause), String(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "")).toBe(true)
      const result = yield* Effect.either(exit)
      expectReason(result, "Rejected")
      if (Either.isLeft(result) && result.left._tag === "SinkError") {
        expect(result.left.sink).toBe("classic")
        expect(result.left.message).toBe("Cassandra is off: embedded mode: no Cassandra here")
      }
    }))
})
