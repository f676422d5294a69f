/**
 * The Cassandra ceilings: the records' rows (parsed and mapped before the window) written
 * with the raw cassandra-driver into the same table the Cassandra sink creates, no broker:
 * `executeConcurrent` of prepared inserts, 64 in flight (`single`), or unlogged batches of
 * 32 rows, 16 in flight, as the sink sends them on one node (`batches`).
 */
import cassandra from "cassandra-driver"
import { ClassicRow, fromUser } from "../../examples/randomuser/UserRow.js"
import * as TableCql from "../../layers/TableCql.js"
import * as TableSchema from "../../src/TableSchema.js"
import { args, type ChildFigures } from "../child.js"
import { usersPage } from "../shared.js"

export const main = async (mode: "single" | "batches"): Promise<ChildFigures> => {
  const a = args()
  const table = TableSchema.make({ name: a.table, schema: ClassicRow, key: "id" })
  const client = new cassandra.Client({ contactPoints: [...a.cassandra], localDataCenter: "datacenter1" })
  await client.connect()
  await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${a.keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
  await client.execute(TableCql.createTableStatement(a.keyspace, table))
  const names = table.columns.map((c) => c.name) as Array<keyof ClassicRow>
  const params: Array<Array<unknown>> = []
  for (let p = 1; params.length < a.records; p++) {
    for (const u of usersPage(p, 5000)) {
      if (params.length >= a.records) break
      const row = fromUser(JSON.parse(JSON.stringify(u)))
      params.push(names.map((n) => row[n]))
    }
  }
  const started = process.hrtime.bigint()
  const cpu = process.cpuUsage()
  const insert = TableCql.insertStatement(a.keyspace, table)
  if (mode === "single") {
    await cassandra.concurrent.executeConcurrent(client, insert, params, { concurrencyLevel: 64, raiseOnFirstError: true, collectResults: false })
  } else {
    let next = 0
    const writer = async () => {
      for (let at = next; at < params.length; at = next) {
        next += 32
        await client.batch(params.slice(at, at + 32).map((p) => ({ query: insert, params: p })), { prepare: true, logged: false })
      }
    }
    await Promise.all(Array.from({ length: 16 }, writer))
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const used = process.cpuUsage(cpu)
  await client.execute(`DROP TABLE IF EXISTS ${a.keyspace}.${a.table}`)
  await client.shutdown()
  return {
    name: mode === "single" ? "raw cassandra-driver executeConcurrent (64)" : "raw cassandra-driver batches (32 rows, 16)",
    records: params.length,
    seconds,
    recordsPerSecond: params.length / seconds,
    windowCpuSeconds: (used.user + used.system) / 1e6
  }
}
