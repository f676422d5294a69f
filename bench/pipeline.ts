/**
 * `pnpm bench`: N records (default 200,000; `--records N`) through broker → transform →
 * Postgres on the real services, through pandaflow and through a plain kafkajs loop (the
 * baseline) in the same invocation, each in its own process so peak RSS is its own.
 * Prints records/s, peak RSS and the ratio, and writes the figures to bench/results/.
 */
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { Kafka, logLevel, Partitioners } from "kafkajs"
import pg from "pg"
import { type RunFigures, usersPage } from "./shared.js"

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : undefined
}
const records = Number(arg("records") ?? process.env.BENCH_RECORDS ?? 200_000)
const brokers = process.env.PANDAFLOW_BROKERS
const pgUrl = process.env.PANDAFLOW_PG_URL
if (!brokers || !pgUrl) throw new Error("PANDAFLOW_BROKERS and PANDAFLOW_PG_URL must be set: run through `pnpm bench`")

const id = `${Date.now().toString(36)}`
const topic = `bench.raw.${id}`
console.log(`bench: producing ${records.toLocaleString("en-US")} users to ${topic} (3 partitions)`)
const kafka = new Kafka({ clientId: "bench", brokers: brokers.split(","), logLevel: logLevel.ERROR })
const admin = kafka.admin()
await admin.connect()
await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
await producer.connect()
const page = 5000
for (let p = 1; (p - 1) * page < records; p++) {
  const users = usersPage(p, page).slice(0, records - (p - 1) * page)
  // A produce request carries one record batch a partition, capped by the broker's
  // message.max.bytes (1 MiB): ~1.2 kB users, 3 partitions → 1,000 users a request.
  for (let i = 0; i < users.length; i += 1000) {
    const messages = users.slice(i, i + 1000).map((u) => ({ key: u.login.uuid, value: JSON.stringify(u) }))
    await producer.send({ topic, acks: -1, messages })
  }
}
await producer.disconnect()
await admin.disconnect()

const run = (script: string, table: string): RunFigures => {
  console.log(`bench: running ${script} → table ${table}`)
  const out = execFileSync("npx", ["tsx", `bench/${script}.ts`, brokers, pgUrl, topic, table, String(records)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"]
  })
  return JSON.parse(out.trim().split("\n").pop()!) as RunFigures
}
// Baseline first, then pandaflow: each reads the whole topic from the broker with its own
// group, into its own empty table.
const baseline = run("baseline", `bench_baseline_${id}`)
const pandaflow = run("pandaflow", `bench_pandaflow_${id}`)
const ratio = pandaflow.recordsPerSecond / baseline.recordsPerSecond

// Leave nothing behind: the two tables and the topic hold 400,000 rows and 200,000 records.
const pool = new pg.Pool({ connectionString: pgUrl, max: 1 })
await pool.query(`DROP TABLE IF EXISTS bench_baseline_${id}, bench_pandaflow_${id}`)
await pool.end()
await admin.connect()
await admin.deleteTopics({ topics: [topic] })
await admin.disconnect()

const row = (f: RunFigures) =>
  `${f.name.padEnd(32)} ${Math.round(f.recordsPerSecond).toLocaleString("en-US").padStart(10)} rec/s ${f.seconds.toFixed(2).padStart(8)} s ${f.peakRssMiB.toFixed(0).padStart(6)} MiB peak RSS`
console.log(`\nbench: ${records.toLocaleString("en-US")} records, broker → transform → Postgres upsert`)
console.log(row(baseline))
console.log(row(pandaflow))
console.log(`ratio pandaflow / baseline: ${ratio.toFixed(2)}`)
mkdirSync("bench/results", { recursive: true })
const file = `bench/results/pipeline-${id}.json`
writeFileSync(file, JSON.stringify({ records, topic, baseline, pandaflow, ratio, at: new Date().toISOString() }, null, 2))
console.log(`bench: figures written to ${file}`)
