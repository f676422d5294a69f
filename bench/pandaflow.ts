/**
 * The same work through pandaflow: the reference pipeline (examples/randomuser) on
 * KafkaBroker → decode (its reader schema) → transform → PostgresSink → commit, with the
 * framework's `Pipeline.drain`. Cassandra is off, as the baseline writes Postgres only.
 *
 * Usage: tsx bench/pandaflow.ts <brokers> <pg-url> <topic> <table> <records>
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import * as RandomUserPipeline from "../examples/randomuser/pipeline.js"
import * as CassandraClient from "../layers/CassandraClient.js"
import * as KafkaBroker from "../layers/KafkaBroker.js"
import * as Pipeline from "../src/Pipeline.js"
import * as Progress from "../src/Progress.js"
import { report } from "./shared.js"

const [brokers, pgUrl, topic, table, recordsArg] = process.argv.slice(2)
const records = Number(recordsArg)
const pipeline = RandomUserPipeline.make({ postgres: table! })
const layer = Layer.mergeAll(
  KafkaBroker.layer({ brokers: brokers!.split(","), logLevel: "error" }),
  PgClient.layer({ url: Redacted.make(pgUrl!), maxConnections: 4 }),
  CassandraClient.layerOff("the benchmark compares Postgres writes only")
)
const startedAt = process.hrtime.bigint()
const program = Effect.gen(function*() {
  const progress = yield* Progress.make
  yield* Pipeline.drain(pipeline, { groupId: `${table}-group`, topic: topic! }, progress)
  const s = yield* progress.snapshot
  if (s.processed < records) throw new Error(`processed ${s.processed} of ${records}`)
  report("pandaflow (Pipeline.drain)", s.processed, startedAt)
})
await Effect.runPromise(program.pipe(Effect.provide(layer)))
