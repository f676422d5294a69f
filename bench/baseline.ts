/**
 * The baseline: a plain kafkajs consumer loop with no framework. It parses JSON, maps
 * fields by hand (no Schema), writes with the same upsert SQL through `pg`, and commits
 * after each batch: what a careful engineer writes without pandaflow.
 *
 * Usage: tsx bench/baseline.ts <brokers> <pg-url> <topic> <table> <records>
 */
import { Kafka, logLevel } from "kafkajs"
// The same driver, pinned to the version @effect/sql-pg resolves.
import pg from "pg"
import { fromUser, type UserRow } from "../examples/randomuser/UserRow.js"
import * as PostgresSink from "../layers/PostgresSink.js"
import type { User } from "../layers/RandomUser.js"
import { report, userColumns, userTable } from "./shared.js"

const [brokers, pgUrl, topic, table, recordsArg] = process.argv.slice(2)
const records = Number(recordsArg)
const pool = new pg.Pool({ connectionString: pgUrl, max: 4 })
const users = userTable(table!)
await pool.query(PostgresSink.createTableStatement(users))
const upsert = PostgresSink.upsertStatement(users)

const kafka = new Kafka({ clientId: "bench-baseline", brokers: brokers!.split(","), logLevel: logLevel.ERROR })
const consumer = kafka.consumer({ groupId: `${table}-group`, maxBytesPerPartition: 4 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 })
const startedAt = process.hrtime.bigint()
let done = 0
const finished = new Promise<void>((resolve) => {
  void (async () => {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic!], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch, resolveOffset }) => {
        const byId = new Map<string, UserRow>()
        for (const m of batch.messages) {
          const row = fromUser(JSON.parse(m.value!.toString()) as User)
          byId.set(row.id, row)
        }
        const rows = [...byId.values()]
        await pool.query(upsert, userColumns.map((c) => rows.map((r) => r[c])))
        const last = batch.messages[batch.messages.length - 1]!.offset
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(BigInt(last) + 1n) }])
        resolveOffset(last)
        done += batch.messages.length
        if (done >= records) resolve()
      }
    })
  })()
})
await finished
// Leaving the group is part of a clean run, as it is in Pipeline.drain.
await consumer.disconnect()
report("baseline (kafkajs + pg loop)", done, startedAt)
await pool.end()
