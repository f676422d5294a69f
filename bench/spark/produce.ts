/**
 * `pnpm bench:spark`'s input: a fresh 3-partition topic of N bench users (the same users
 * `pnpm bench` produces) and the Cassandra table the connector appends to. Prints the
 * topic name. Usage: tsx bench/spark/produce.ts <records> <cassandra-table>
 */
import cassandra from "cassandra-driver"
import { Kafka, logLevel, Partitioners } from "kafkajs"
import { ClassicRow } from "../../examples/randomuser/UserRow.js"
import * as TableCql from "../../layers/TableCql.js"
import * as TableSchema from "../../src/TableSchema.js"
import { usersPage } from "../shared.js"

const records = Number(process.argv[2])
const cassandraTable = process.argv[3]!
const kafka = new Kafka({ clientId: "bench-spark", brokers: process.env.PANDAFLOW_BROKERS!.split(","), logLevel: logLevel.ERROR })
const admin = kafka.admin()
await admin.connect()
const topic = `bench.spark.${Date.now().toString(36)}`
await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })
await admin.disconnect()
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
await producer.connect()
for (let p = 1; (p - 1) * 5000 < records; p++) {
  const users = usersPage(p, 5000).slice(0, records - (p - 1) * 5000)
  for (let i = 0; i < users.length; i += 1000) {
    await producer.send({ topic, acks: -1, messages: users.slice(i, i + 1000).map((u) => ({ key: u.login.uuid, value: JSON.stringify(u) })) })
  }
}
await producer.disconnect()
const client = new cassandra.Client({ contactPoints: process.env.PANDAFLOW_CASSANDRA_CONTACT_POINTS!.split(","), localDataCenter: "datacenter1" })
await client.connect()
await client.execute("CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
await client.execute(TableCql.createTableStatement("bench", TableSchema.make({ name: cassandraTable, schema: ClassicRow, key: "id" })))
await client.shutdown()
process.stdout.write(`${topic}\n`)
