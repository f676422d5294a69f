/**
 * Deterministic `UserRow`s for sink tests: the same arguments give the same rows on every
 * run, ids are valid lower-case UUIDs, derived fields agree with the classic ones (as
 * `fromUser` makes them), and the data covers the awkward cases: unicode names, post
 * codes that look numeric (with a leading zero) and ones that are text, quotes, commas
 * and braces (array-literal syntax) in addresses.
 */
import type { UserRow } from "../../examples/randomuser/UserRow.js"

import { prng } from "./prng.js"

const hex = (next: () => number, n: number) =>
  Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join("")

/** A version-4 UUID drawn from `next`. */
const uuid = (next: () => number) =>
  `${hex(next, 8)}-${hex(next, 4)}-4${hex(next, 3)}-${"89ab"[Math.floor(next() * 4)]}${hex(next, 3)}-${hex(next, 12)}`

const firstNames = ["Zoë", "Øyvind", "Ελένη", "Дмитрий", "美咲", "José", "Siobhán", "Aarav", "Nguyễn", "Emma"]
const lastNames = ["O'Brien", "Müller", "山田", "Παπαδόπουλος", "Łukasiewicz", "Smith", "Ólafsdóttir", "Kovač"]
const postCodes = ["01234", "90210", "SW1A 1AA", "H0H 0H0", "75008", "100-0001", "0", "D02 X285"]
const domains = ["example.com", "example.org", "exämple.de", "mail.example.co.uk"]

const derive = (row: Omit<UserRow, "email_domain" | "registered_year">): UserRow => {
  const at = row.email.lastIndexOf("@")
  return {
    ...row,
    email_domain: at >= 0 ? row.email.slice(at + 1) : "",
    registered_year: new Date(row.registered_date).getUTCFullYear()
  }
}

/** `count` rows; a different `seed` gives different ids. */
export const makeRows = (count: number, seed = 1): Array<UserRow> => {
  const next = prng(seed)
  return Array.from({ length: count }, (_, i) => {
    const first = firstNames[i % firstNames.length]!
    const last = lastNames[i % lastNames.length]!
    const username = `user${seed}_${i}`
    const registered = new Date(Date.UTC(2002, 0, 1) + Math.floor(next() * 20 * 365 * 86_400_000))
    return derive({
      id: uuid(next),
      first_name: first,
      last_name: last,
      gender: i % 2 === 0 ? "female" : "male",
      address: `${i} "Quoted" Street, {Brace}, Town\\${i % 7}, Country`,
      post_code: postCodes[i % postCodes.length]!,
      email: `${username}@${domains[i % domains.length]}`,
      username,
      registered_date: registered.toISOString(),
      phone: `(0${i % 10}) 555-${String(i).padStart(4, "0")}`,
      picture: `https://randomuser.me/api/portraits/med/${i % 2 === 0 ? "women" : "men"}/${i % 100}.jpg`
    })
  })
}

/** The same row with every non-key value changed, derived fields kept consistent. */
export const changed = (row: UserRow): UserRow =>
  derive({
    ...row,
    first_name: `${row.first_name} ✓`,
    last_name: `${row.last_name}-Updated`,
    address: `moved: ${row.address}`,
    post_code: row.post_code === "01234" ? "SW1A 1AA" : "01234",
    email: `changed.${row.username}@changed.example`,
    registered_date: new Date(Date.parse(row.registered_date) - 400 * 86_400_000).toISOString(),
    phone: `${row.phone} ext 1`,
    picture: `${row.picture}?v=2`
  })

/** Sorts rows by id, as `scan` returns them. */
export const byId = (rows: ReadonlyArray<UserRow>): Array<UserRow> =>
  [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
