/** What the benchmark's parent and its child runs share: the input and the table. */
import { UserRow } from "../examples/randomuser/UserRow.js"
import * as FakeUsers from "../layers/FakeUsers.js"
import * as TableSchema from "../src/TableSchema.js"

/** The benchmark input: users of one seed, as the ingest job would produce them. */
export const usersPage = (page: number, size: number) => FakeUsers.generatePage({ seed: "bench", page, results: size })

/** The table every run writes: the reference pipeline's Postgres table, under the run's name. */
export const userTable = (name: string): TableSchema.TableSchema<UserRow> => TableSchema.make({ name, schema: UserRow, key: "id" })

/** `UserRow`'s fields in schema order: the order of the table's columns. */
export const userColumns: ReadonlyArray<keyof UserRow> = Object.keys(UserRow.fields) as Array<keyof UserRow>
