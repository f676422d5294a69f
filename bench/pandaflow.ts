/**
 * The same work through pandaflow: KafkaBroker → decode (Schema) → PostgresSink → commit,
 * with the framework's Pipeline.processUntilDrained.
 *
 * Usage: tsx bench/pandaflow.ts <brokers> <pg-url> <topic> <table> <records>
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import * as KafkaBroker from "../layers/KafkaBroker.js"
import * as PostgresSink from "../layers/PostgresSink.js"
import * as Pipeline from "../src/Pipeline.js"
import * as Progress from "../src/Progress.js"
import * as Sink from "../src/Sink.js"
import { report } from "./shared.js"

const [brokers, pgUrl, topic, table, recordsArg] = process.argv.slice(2)
const records = Number(recordsArg)
const layer = Layer.mergeAll(
  KafkaBroker.layer({ brokers: brokers!.split(","), logLevel: "error" }),
  Sink.layer(PostgresSink.make({ table: table! })).pipe(
    Layer.provide(PgClient.layer({ url: Redacted.make(pgUrl!), maxConnections: 4 }))
  )
)
const startedAt = process.hrtime.bigint()
const program = Effect.gen(function*() {
  const progress = yield* Progress.make
  yield* Pipeline.processUntilDrained({ groupId: `${table}-group`, topic: topic! }, progress)
  const s = yield* progress.snapshot
  if (s.processed < records) throw new Error(`processed ${s.processed} of ${records}`)
  report("pandaflow (Pipeline.process)", s.processed, startedAt)
})
await Effect.runPromise(program.pipe(Effect.provide(layer)))
