/**
 * The Cassandra ceiling: the records' rows (parsed and mapped before the window) written
 * with the raw cassandra-driver `executeConcurrent`, prepared, 64 in flight, into the
 * same table the Cassandra sink creates. No broker: the sink alone.
 */
import cassandra from "cassandra-driver"
import { ClassicRow, fromUser } from "../../examples/randomuser/UserRow.js"
import * as TableCql from "../../layers/TableCql.js"
import * as TableSchema from "../../src/TableSchema.js"
import { args, type ChildFigures } from "../child.js"
import { usersPage } from "../shared.js"

export const main = async (): Promise<ChildFigures> => {
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
  await cassandra.concurrent.executeConcurrent(client, TableCql.insertStatement(a.keyspace, table), params, {
    concurrencyLevel: 64,
    raiseOnFirstError: true,
    collectResults: false
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const used = process.cpuUsage(cpu)
  await client.execute(`DROP TABLE IF EXISTS ${a.keyspace}.${a.table}`)
  await client.shutdown()
  return {
    name: "raw cassandra-driver executeConcurrent (64)",
    records: params.length,
    seconds,
    recordsPerSecond: params.length / seconds,
    windowCpuSeconds: (used.user + used.system) / 1e6
  }
}
