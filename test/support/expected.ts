/** The rows the reference pipeline must store for a seed: derived from the generator. */
import { Schema } from "effect"
import { fromUser, type UserRow } from "../../examples/randomuser/UserRow.js"
import * as FakeUsers from "../../layers/FakeUsers.js"
import * as RandomUser from "../../layers/RandomUser.js"

const decode = Schema.decodeUnknownSync(RandomUser.User)

/** The first `total` users of `seed`, as rows sorted by id (how sinks scan them). */
export const expectedRows = (seed: string, total: number): ReadonlyArray<UserRow> =>
  FakeUsers.generatePage({ seed, page: 1, results: total })
    .map((u) => fromUser(decode(u)))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
