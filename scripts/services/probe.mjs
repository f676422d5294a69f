// Readiness probe for the local service rig: one real protocol round trip per call.
//   node probe.mjs broker    <host:port[,host:port]>
//   node probe.mjs postgres  <postgres://url>
//   node probe.mjs cassandra <host:port[,host:port]> <local-dc>
// Exit codes: 0 = answered, 1 = did not answer (yet), 2 = cannot probe (client
// library missing), so services.sh can fall back to a cruder check.
// Uses the repo's own client libraries, so "ready" means "our code can talk to it".
import { createRequire } from "node:module"
import { realpathSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const requireFromRepo = createRequire(path.join(repoRoot, "package.json"))

const load = (name) => {
  try {
    return requireFromRepo(name)
  } catch {
    // pg is only a transitive dependency (of @effect/sql-pg); with pnpm's strict
    // layout it is resolvable only from that package's real location.
    if (name === "pg") {
      const sqlPg = realpathSync(path.join(repoRoot, "node_modules/@effect/sql-pg"))
      return createRequire(path.join(sqlPg, "package.json"))("pg")
    }
    throw new Error(`cannot load ${name}`)
  }
}

const withTimeout = (ms, promise) =>
  Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms).unref())
  ])

const probes = {
  async broker(brokers) {
    const { Kafka, logLevel } = load("kafkajs")
    const kafka = new Kafka({
      clientId: "pandaflow-probe",
      brokers: brokers.split(","),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2000,
      requestTimeout: 4000,
      retry: { retries: 0 }
    })
    const admin = kafka.admin()
    try {
      await admin.connect()
      await admin.listTopics() // a metadata request: the broker really serves the protocol
    } finally {
      await admin.disconnect().catch(() => {})
    }
  },
  async postgres(url) {
    const { Client } = load("pg")
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 })
    try {
      await client.connect()
      await client.query("select 1")
    } finally {
      await client.end().catch(() => {})
    }
  },
  async cassandra(contactPoints, localDataCenter = "datacenter1") {
    const cassandra = load("cassandra-driver")
    const client = new cassandra.Client({
      contactPoints: contactPoints.split(","),
      localDataCenter,
      socketOptions: { connectTimeout: 3000, readTimeout: 4000 }
    })
    try {
      await client.connect()
      await client.execute("select release_version from system.local")
    } finally {
      await client.shutdown().catch(() => {})
    }
  }
}

const [kind, ...args] = process.argv.slice(2)
const probe = probes[kind]
if (!probe || args.length === 0) {
  console.error("usage: probe.mjs broker|postgres|cassandra <address> [local-dc]")
  process.exit(2)
}
try {
  await withTimeout(8000, probe(...args))
  process.exit(0)
} catch (e) {
  if (process.env.PANDAFLOW_PROBE_DEBUG) console.error(`${kind}: ${e?.message ?? e}`)
  process.exit(/cannot load/.test(String(e?.message)) ? 2 : 1)
}
