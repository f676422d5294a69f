/**
 * `pnpm bench`: the contenders of issue 11 raced on one topic, interleaved (A B C … A B C
 * …), each run in its own process with a fresh consumer group and table, under the same
 * window (first record consumed → last commit acknowledged; see bench/child.ts).
 *
 * Settings (env): PANDAFLOW_BENCH_RECORDS (default 200000), PANDAFLOW_BENCH_RUNS (3),
 * PANDAFLOW_BENCH_ONLY (comma list of contenders), PANDAFLOW_BENCH_RUNTIME (`js`, the
 * default: built JS; or `tsx`), PANDAFLOW_BENCH_LATENCY_SECONDS (10; 0 skips the latency
 * runs), PANDAFLOW_BENCH_LATENCY_RATE (5000 records/s), PANDAFLOW_BENCH_NODE_FLAGS
 * (flags for each child, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`), PANDAFLOW_BENCH_KAFKA,
 * _POSTGRES, _CASSANDRA, _CONSUME (JSON options of pandaflow's broker, sinks and consume
 * job; recorded in the results, and shown by `bench:readme`), PANDAFLOW_BENCH_CHILD_LOG
 * (a directory keeping each child's stdout). Figures go to bench/results/pipeline-<id>.json; `pnpm
 * bench:readme` puts the latest into README.md.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import cassandra from "cassandra-driver"
import { Kafka, logLevel, Partitioners, type Producer } from "kafkajs"
import pg from "pg"
import { type ChildArgs, warmUpKey } from "./child.js"
import * as Measure from "./measure.js"
import { usersPage } from "./shared.js"
import * as Summary from "./summary.js"

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const records = env("PANDAFLOW_BENCH_RECORDS", 200_000)
const runs = env("PANDAFLOW_BENCH_RUNS", 3)
const latencySeconds = env("PANDAFLOW_BENCH_LATENCY_SECONDS", 10)
const runtime = process.env.PANDAFLOW_BENCH_RUNTIME === "tsx" ? "tsx" : "js"
const brokers = process.env.PANDAFLOW_BROKERS ?? ""
const pgUrl = process.env.PANDAFLOW_PG_URL ?? ""
const cassandraPoints = (process.env.PANDAFLOW_CASSANDRA_CONTACT_POINTS ?? "").split(",").filter((s) => s.length > 0)
if (brokers === "" || pgUrl === "") throw new Error("PANDAFLOW_BROKERS and PANDAFLOW_PG_URL must be set: run through `pnpm bench`")
const kafkaVersion = process.env.PANDAFLOW_KAFKA_VERSION ?? "4.1.1"
const toolsLib = `${process.env.PANDAFLOW_CACHE ?? `${process.env.HOME}/.cache/pandaflow`}/kafka-tools-${kafkaVersion}/lib`

const all = [
  "pandaflow-pg", "copy-loop", "unnest-loop", "pandaflow-pg-cassandra", "cassandra-raw", "cassandra-raw-batches", "consume-only", "consumer-performance",
  "ingest", "ingest-source", "ingest-produce"
]
const only = process.env.PANDAFLOW_BENCH_ONLY?.split(",")
const contenders = all.filter((c) => only === undefined || only.includes(c))
const latencyContenders = ["pandaflow-pg", "copy-loop"].filter((c) => only === undefined || only.includes(c))

if (runtime === "js") execFileSync("./node_modules/.bin/tsc", ["-p", "bench/tsconfig.json"], { stdio: "inherit" })
if (contenders.includes("consumer-performance") && !existsSync(toolsLib)) {
  execFileSync("bash", ["-c", `source scripts/services/lib.sh && maven_fetch bench/pom-kafka-tools.xml "$(dirname "${toolsLib}")" -Dkafka.version=${kafkaVersion}`], { stdio: "inherit" })
}

const id = Date.now().toString(36)
const kafka = new Kafka({ clientId: "bench", brokers: brokers.split(","), logLevel: logLevel.ERROR })
const admin = kafka.admin()
await admin.connect()
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
await producer.connect()
const topics: Array<string> = []
const newTopic = async (name: string) => {
  await admin.createTopics({ topics: [{ topic: name, numPartitions: 3 }], waitForLeaders: true })
  topics.push(name)
  return name
}
const send = (p: Producer, topic: string, users: ReadonlyArray<{ login: { uuid: string } }>) =>
  p.send({ topic, acks: -1, messages: users.map((u) => ({ key: u.login.uuid, value: JSON.stringify(u), timestamp: String(Date.now()) })) })

const topic = await newTopic(`bench.raw.${id}`)
console.log(`bench: producing ${records.toLocaleString("en-US")} users to ${topic} (3 partitions); ${runs} runs each, ${runtime}`)
for (let p = 1; (p - 1) * 5000 < records; p++) {
  const users = usersPage(p, 5000).slice(0, records - (p - 1) * 5000)
  // One produce request carries ≤ 1 MiB a partition (message.max.bytes): 1,000 users.
  for (let i = 0; i < users.length; i += 1000) await send(producer, topic, users.slice(i, i + 1000))
}

const pool = new pg.Pool({ connectionString: pgUrl, max: 1 })
const cql = cassandraPoints.length > 0 ? new cassandra.Client({ contactPoints: cassandraPoints, localDataCenter: "datacenter1" }) : undefined
const keyspace = "bench"
const cleanUp = async (table: string, withCassandra: boolean) => {
  await pool.query(`DROP TABLE IF EXISTS ${table}`)
  if (withCassandra && cql) await cql.execute(`DROP TABLE IF EXISTS ${keyspace}.${table}`)
}
const childArgs = (table: string, topicName: string, n: number, latency: boolean): ChildArgs => ({
  brokers: brokers.split(","), pgUrl, cassandra: cassandraPoints, keyspace, topic: topicName, table, group: `${table}-group`, records: n, latency
})

const results: Record<string, Array<Measure.RunFigures>> = {}
let serial = 0
for (let run = 1; run <= runs; run++) {
  for (const contender of contenders) {
    const table = `bench_${contender.replace(/-/g, "_")}_${id}_${++serial}`
    // The ingest contenders produce: each run into a fresh topic (and its dead-letter topic).
    const input = contender.startsWith("ingest")
      ? await newTopic(`bench.ingest.${id}.${serial}`).then((t) => newTopic(`${t}.dlq`).then(() => t))
      : topic
    const running = contender === "consumer-performance"
      ? Measure.consumerPerformance(toolsLib, brokers, topic, `${table}-group`, records)
      : Measure.node(contender, childArgs(table, input, records, false), runtime)
    const figures = await running.figures
    await cleanUp(table, contender.includes("cassandra"))
    ;(results[contender] ??= []).push(figures)
    console.log(`  run ${run} ${contender.padEnd(24)} ${Math.round(figures.recordsPerSecond).toLocaleString("en-US").padStart(9)} rec/s ${figures.seconds.toFixed(2)} s, CPU ${figures.windowCpuSeconds.toFixed(1)} s, ${figures.peakRssMiB.toFixed(0)} MiB`)
  }
}

// Latency: a fresh topic a run, the child consuming before the paced producer starts.
const rate = env("PANDAFLOW_BENCH_LATENCY_RATE", 5000)
const latencyResults: Record<string, Array<Measure.RunFigures>> = {}
if (latencySeconds > 0) {
  const total = rate * latencySeconds
  const pageUsers = usersPage(1, 5000)
  for (let run = 1; run <= runs; run++) {
    for (const contender of latencyContenders) {
      const table = `bench_latency_${contender.replace(/-/g, "_")}_${id}_${++serial}`
      const t = await newTopic(`bench.latency.${id}.${serial}`)
      const running = Measure.node(contender, childArgs(table, t, total + 1, true), runtime)
      await producer.send({ topic: t, acks: -1, messages: [{ key: warmUpKey, value: JSON.stringify(pageUsers[0]) }] })
      await running.line("ready")
      const started = Date.now()
      for (let sent = 0; sent < total;) {
        const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate))
        if (due > sent) {
          const batch: Array<(typeof pageUsers)[number]> = []
          for (let i = sent; i < due; i++) batch.push({ ...pageUsers[i % 5000]!, login: { ...pageUsers[i % 5000]!.login, uuid: crypto.randomUUID() } })
          // ≤ 1,000 users a request (a produce request carries ≤ 1 MiB a partition).
          for (let i = 0; i < batch.length; i += 1000) await send(producer, t, batch.slice(i, i + 1000))
          sent = due
        }
        await new Promise((r) => setTimeout(r, 5))
      }
      const figures = await running.figures
      await cleanUp(table, false)
      ;(latencyResults[contender] ??= []).push(figures)
      console.log(`  latency run ${run} ${contender.padEnd(16)} row visible p50 ${figures.visible?.p50} ms, p99 ${figures.visible?.p99} ms; committed p50 ${figures.latency!.p50} ms, p99 ${figures.latency!.p99} ms`)
    }
  }
}

const services = {
  kafka: kafkaVersion,
  postgres: ((await pool.query("SHOW server_version")).rows[0] as { server_version: string }).server_version,
  cassandra: cql ? String((await cql.execute("SELECT release_version FROM system.local")).first().get("release_version")) : "not running"
}
await pool.end()
await cql?.shutdown()
await producer.disconnect()
await admin.deleteTopics({ topics })
await admin.disconnect()

const summaries = Object.fromEntries(Object.entries(results).map(([c, r]) => [c, Summary.summarise(c, r)]))
const latency = Object.fromEntries(Object.entries(latencyResults).map(([c, r]) => [c, Summary.summarise(c, r)]))
const ratio = (a: string, b: string, f: (s: Summary.Summary) => number) =>
  summaries[a] && summaries[b] ? f(summaries[a]!) / f(summaries[b]!) : undefined
const fasterCassandra = () =>
  (summaries["cassandra-raw-batches"]?.recordsPerSecond.median ?? 0) > (summaries["cassandra-raw"]?.recordsPerSecond.median ?? 0)
    ? "cassandra-raw-batches"
    : "cassandra-raw"
const ratios = {
  "pandaflow-pg / copy-loop records/s (goal ≥ 1.0)": ratio("pandaflow-pg", "copy-loop", (s) => s.recordsPerSecond.median),
  "pandaflow-pg / unnest-loop records/s": ratio("pandaflow-pg", "unnest-loop", (s) => s.recordsPerSecond.median),
  // The slower sink's ceiling is the faster way the raw driver writes Cassandra alone.
  "pandaflow-pg-cassandra / the faster raw Cassandra writer records/s (goal ≥ 0.9)": ratio("pandaflow-pg-cassandra", fasterCassandra(), (s) => s.recordsPerSecond.median),
  "pandaflow-pg-cassandra / cassandra-raw (single inserts) records/s": ratio("pandaflow-pg-cassandra", "cassandra-raw", (s) => s.recordsPerSecond.median),
  "pandaflow-pg / copy-loop CPU a record (goal ≤ 1.2)": ratio("pandaflow-pg", "copy-loop", (s) => s.cpuMicrosPerRecord.median),
  "ingest / its source alone records/s": ratio("ingest", "ingest-source", (s) => s.recordsPerSecond.median),
  "ingest / kafkajs produce alone records/s": ratio("ingest", "ingest-produce", (s) => s.recordsPerSecond.median)
}
// Issue 11's goals, each with its figure from this run and whether it is met.
const goal = (name: string, value: number | undefined, met: (v: number) => boolean, unit: string) =>
  value === undefined ? [] : [{ goal: name, value, unit, met: met(value) }]
const pgLatency = latency["pandaflow-pg"]
const goals = [
  ...goal("1. Kafka → Postgres records/s ≥ 1.0× the COPY-staging loop", ratios["pandaflow-pg / copy-loop records/s (goal ≥ 1.0)"], (v) => v >= 1, "×"),
  ...goal("2. Kafka → Postgres + Cassandra records/s ≥ 0.9× the faster raw Cassandra writer", ratios["pandaflow-pg-cassandra / the faster raw Cassandra writer records/s (goal ≥ 0.9)"], (v) => v >= 0.9, "×"),
  ...goal(`3. p99 send → row visible at ${rate.toLocaleString("en-US")} rec/s < 50 ms`, pgLatency?.visibleP99Ms?.median, (v) => v < 50, "ms"),
  ...goal("4a. CPU a record ≤ 1.2× the COPY-staging loop's", ratios["pandaflow-pg / copy-loop CPU a record (goal ≤ 1.2)"], (v) => v <= 1.2, "×"),
  ...goal(`4b. peak RSS of Kafka → Postgres (${records.toLocaleString("en-US")} records) ≤ 250 MiB`, summaries["pandaflow-pg"]?.peakRssMiB.median, (v) => v <= 250, "MiB")
]
console.log(`\nbench: ${records.toLocaleString("en-US")} records, median (min–max) of ${runs} interleaved runs; window = first record consumed → last commit acknowledged (ingest: first request → last produce acknowledged)`)
for (const s of Object.values(summaries)) console.log(Summary.line(s))
for (const s of Object.values(latency)) console.log(`latency at ${rate}/s: ${Summary.line(s)}`)
for (const [k, v] of Object.entries(ratios)) if (v !== undefined) console.log(`${k}: ${v.toFixed(2)}`)
for (const g of goals) console.log(`goal ${g.goal}: ${g.value.toFixed(g.unit === "×" ? 3 : 0)} ${g.unit} — ${g.met ? "met" : "NOT met"}`)

mkdirSync("bench/results", { recursive: true })
const file = `bench/results/pipeline-${id}.json`
writeFileSync(file, JSON.stringify({
  at: new Date().toISOString(),
  records, runs, runtime, latencyRate: rate, latencySeconds,
  window: "first record consumed → commit of the last record acknowledged (table creation, connecting, group join and leave outside)",
  machine: Summary.machine(services),
  summaries, latency, ratios, goals,
  // Options that tune pandaflow (or every child) away from its defaults: bench:readme shows them.
  settings: Object.fromEntries(
    ["PANDAFLOW_BENCH_KAFKA", "PANDAFLOW_BENCH_POSTGRES", "PANDAFLOW_BENCH_CASSANDRA", "PANDAFLOW_BENCH_CONSUME", "PANDAFLOW_BENCH_NODE_FLAGS"]
      .flatMap((k) => (process.env[k] ?? "") === "" ? [] : [[k, process.env[k]!]])
  ),
  raw: { throughput: results, latency: latencyResults }
}, null, 2))
console.log(`bench: figures written to ${file}`)
