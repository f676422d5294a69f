/**
 * The reference pipeline — what `pnpm start` runs — built only from the public API:
 *
 *   randomuser API ──ingest──▶ users.raw.v1 ──consume──▶ UserRow ──▶ Postgres  users
 *     (keyed by login.uuid, never a random id)                 ──▶ Cassandra spark_streams.created_users
 *                                        bad record ──▶ users.dlq.v1 (with the reason)
 *
 * @since 0.2.0
 */
import { Effect } from "effect"
// One module each (`pandaflow/layers/PostgresSink`, `pandaflow/Pipeline`, …) rather than
// the barrels: importing all of "pandaflow/layers" also loads PGlite, the HTTP server and
// the emulator, ~50 MiB of resident memory a consumer process does not need.
import * as CassandraSink from "../../layers/CassandraSink.js"
import * as PostgresSink from "../../layers/PostgresSink.js"
import * as RandomUser from "../../layers/RandomUser.js"
import * as UserSource from "../../layers/UserSource.js"
import type * as Module from "../../src/cli/Module.js"
import * as IngestJob from "../../src/IngestJob.js"
import * as Pipeline from "../../src/Pipeline.js"
import * as Topic from "../../src/Topic.js"
import { ClassicRow, fromUser, UserFields, UserRow } from "./UserRow.js"

/** The raw topic: API users as JSON, keyed by `login.uuid`. */
export const users = Topic.make({
  name: "users.raw.v1",
  schema: RandomUser.User,
  key: (user) => user.login.uuid,
  deadLetter: "users.dlq.v1",
  headers: { "pandaflow-schema": "randomuser/1.4" }
})

/** Where the rows land; tests and benchmarks give each run its own tables. */
export interface Tables {
  readonly postgres?: string | undefined
  readonly cassandraKeyspace?: string | undefined
  readonly cassandra?: string | undefined
}

/** The pipeline writing to the given tables (`users`, `spark_streams.created_users` by default). */
export const make = (tables: Tables = {}) =>
  Pipeline.make({
    name: "randomuser",
    // The group pandaflow 0.1 used: an upgraded deployment resumes where it stopped.
    group: "pandaflow-process",
    input: users,
    // Checks only the fields a row is made of: half the cost of the full user on the hot
    // path, and a record lacking any of them still goes to the dead-letter topic.
    reader: UserFields,
    source: UserSource.source,
    transform: (user) => [fromUser(user)],
    sinks: [
      PostgresSink.table({ name: tables.postgres ?? "users", schema: UserRow, key: "id" }),
      CassandraSink.table({ keyspace: tables.cassandraKeyspace, name: tables.cassandra ?? "created_users", schema: ClassicRow, key: "id" })
    ]
  })

export default make()

/**
 * `user_automation`, the classic Airflow DAG: ingest `--records` users on `--cron` (daily
 * at midnight by default), a seed per slot, the latest missed slot at once.
 */
export const jobs: Module.Jobs = ({ options, pipeline, progress }) =>
  Effect.map(IngestJob.make(pipeline, { ...options, name: "user_automation" }, progress), (job) => [job])
