/**
 * The plain `unnest` loop (pandaflow 0.1's bench baseline): kafkajs `eachBatch`, JSON.parse
 * and the row mapping by hand (no Schema), one `INSERT … SELECT FROM unnest(…) ON
 * CONFLICT` a batch through `pg`, commit after the write, three partitions in flight.
 */
import pg from "pg"
import { fromUser, type UserFields, type UserRow } from "../../examples/randomuser/UserRow.js"
import * as TableSql from "../../layers/TableSql.js"
import { args, type ChildFigures } from "../child.js"
import { userColumns, userTable } from "../shared.js"
import * as Loop from "./kafkaLoop.js"

export const main = async (): Promise<ChildFigures> => {
  const a = args()
  const pool = new pg.Pool({ connectionString: a.pgUrl, max: 4 })
  const users = userTable(a.table)
  await pool.query(TableSql.createTableStatement(users))
  const upsert = TableSql.upsertStatement(users)
  const figures = await Loop.run(a, {
    name: "plain loop: kafkajs + pg unnest upsert",
    concurrency: 3,
    handle: async (messages) => {
      const byId = new Map<string, UserRow>()
      for (const m of messages) {
        const row = fromUser(JSON.parse(m.value!.toString()) as UserFields)
        byId.set(row.id, row)
      }
      const rows = [...byId.values()]
      await pool.query(upsert, userColumns.map((c) => rows.map((r) => r[c])))
    }
  })
  await pool.end()
  return figures
}
