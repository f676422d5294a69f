/**
 * The plain COPY-staging loop, what issue 11 raced pandaflow against: kafkajs `eachBatch`
 * → JSON.parse + hand checks → COPY (text) into a temporary staging table → `INSERT …
 * SELECT … ON CONFLICT` in one transaction, commit after the write. One batch at a time,
 * as the loop (one connection, one staging table).
 */
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import pg from "pg"
import { from as copyFrom } from "pg-copy-streams"
import { fromUser, type UserFields, type UserRow } from "../../examples/randomuser/UserRow.js"
import * as TableSql from "../../layers/TableSql.js"
import { args, type ChildFigures } from "../child.js"
import { userColumns, userTable } from "../shared.js"
import * as Loop from "./kafkaLoop.js"

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null
const str = (u: unknown): u is string => typeof u === "string"

/** The hand checks: the fields a row is made of, with their types. */
const check = (u: unknown): UserFields | undefined => {
  if (!isObject(u) || !str(u.gender) || !str(u.email) || !str(u.phone)) return undefined
  const { name, location: l, login, registered, picture } = u
  if (!isObject(name) || !str(name.first) || !str(name.last)) return undefined
  if (!isObject(l) || !str(l.city) || !str(l.state) || !str(l.country)) return undefined
  if (!(str(l.postcode) || typeof l.postcode === "number")) return undefined
  if (!isObject(l.street) || typeof l.street.number !== "number" || !str(l.street.name)) return undefined
  if (!isObject(login) || !str(login.uuid) || !uuid.test(login.uuid) || !str(login.username)) return undefined
  if (!isObject(registered) || !str(registered.date) || !isObject(picture) || !str(picture.medium)) return undefined
  return u as unknown as UserFields
}

const special = /[\\\t\n\r]/
const escape = (s: string) => special.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r") : s

export const main = async (): Promise<ChildFigures> => {
  const a = args()
  const client = new pg.Client({ connectionString: a.pgUrl })
  await client.connect()
  const users = userTable(a.table)
  await client.query(TableSql.createTableStatement(users))
  await client.query(`CREATE TEMP TABLE staging (LIKE ${a.table}) ON COMMIT DELETE ROWS`)
  const rest = userColumns.filter((c) => c !== "id")
  const merge = `INSERT INTO ${a.table} AS t SELECT * FROM staging ON CONFLICT (id) DO UPDATE SET ` +
    rest.map((c) => `${c} = EXCLUDED.${c}`).join(", ") + " WHERE (t.*) IS DISTINCT FROM (EXCLUDED.*)"
  const figures = await Loop.run(a, {
    name: "plain loop: kafkajs + COPY staging upsert",
    concurrency: 1,
    handle: async (messages) => {
      const byId = new Map<string, UserRow>()
      for (const m of messages) {
        const user = check(JSON.parse(m.value!.toString()))
        if (user === undefined) continue
        const row = fromUser(user)
        byId.set(row.id, row)
      }
      let text = ""
      for (const row of byId.values()) {
        text += userColumns.map((c) => escape(String(row[c]))).join("\t") + "\n"
      }
      await client.query("BEGIN")
      await pipeline(Readable.from([text]), client.query(copyFrom("COPY staging FROM STDIN")))
      await client.query(merge)
      await client.query("COMMIT")
    }
  })
  await client.end()
  return figures
}
