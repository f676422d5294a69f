import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as FakeUsers from "../../layers/FakeUsers.js"
import * as RandomUser from "../../layers/RandomUser.js"

const decodeUser = Schema.decodeUnknownSync(RandomUser.User)

describe("FakeUsers", () => {
  it("gives the same users for the same seed and page", () => {
    const a = FakeUsers.generatePage({ seed: "s1", page: 3, results: 20 })
    const b = FakeUsers.generatePage({ seed: "s1", page: 3, results: 20 })
    expect(a).toEqual(b)
    expect(a).toHaveLength(20)
  })

  it("gives other users for another seed or page", () => {
    const a = FakeUsers.generatePage({ seed: "s1", page: 1, results: 10 })
    const otherSeed = FakeUsers.generatePage({ seed: "s2", page: 1, results: 10 })
    const otherPage = FakeUsers.generatePage({ seed: "s1", page: 2, results: 10 })
    const uuids = (users: ReadonlyArray<RandomUser.UserJson>) => users.map((u) => u.login.uuid)
    expect(uuids(otherSeed)).not.toEqual(uuids(a))
    expect(uuids(otherPage)).not.toEqual(uuids(a))
  })

  it("numbers users contiguously across pages, as the API does", () => {
    const first100 = FakeUsers.generatePage({ seed: "contiguous", page: 1, results: 100 })
    const page2of50 = FakeUsers.generatePage({ seed: "contiguous", page: 2, results: 50 })
    expect(page2of50).toEqual(first100.slice(50, 100))
    expect(FakeUsers.userNumberOf(2, 50, 0)).toBe(50)
    expect(FakeUsers.generateUser({ seed: "contiguous", n: 73 })).toEqual(first100[73])
  })

  it("generates users that decode with the v1.4 schema, with unique v4 uuids", () => {
    const users = FakeUsers.generatePage({ seed: "schema", page: 1, results: 2000 })
    for (const user of users) decodeUser(user)
    const uuids = users.map((u) => u.login.uuid)
    expect(new Set(uuids).size).toBe(users.length)
    for (const uuid of uuids) {
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }
  })

  it("has numeric and string postcodes, null ids and every nationality", () => {
    const users = FakeUsers.generatePage({ seed: "shapes", page: 1, results: 1000 })
    const postcodeTypes = new Set(users.map((u) => typeof u.location.postcode))
    expect(postcodeTypes).toEqual(new Set(["number", "string"]))
    expect(users.some((u) => u.id.value === null)).toBe(true)
    expect(new Set(users.map((u) => u.nat))).toEqual(new Set(FakeUsers.supportedNationalities))
  })

  it("keeps derived fields consistent with the fixed reference date", () => {
    const users = FakeUsers.generatePage({ seed: "dates", page: 1, results: 500 })
    const ref = FakeUsers.referenceDate.getTime()
    for (const u of users) {
      const dob = Date.parse(u.dob.date)
      const registered = Date.parse(u.registered.date)
      expect(dob).toBeLessThan(registered)
      expect(registered).toBeLessThan(ref)
      const years = (ref - dob) / (365.25 * 86_400_000)
      expect(Math.abs(years - u.dob.age)).toBeLessThan(1.01)
      expect(u.email).toMatch(/^[a-z0-9]+\.[a-z0-9]+@example\.com$/)
      expect(u.picture.large).toMatch(/^https:\/\/randomuser\.me\/api\/portraits\/(men|women)\/\d+\.jpg$/)
      expect(u.location.coordinates.latitude).toMatch(/^-?\d+\.\d{4}$/)
    }
  })

  it("honours the nat filter, case-insensitively, as a comma list or an array", () => {
    const users = FakeUsers.generatePage({ seed: "nat", page: 1, results: 200, nat: "gb,fr" })
    expect(new Set(users.map((u) => u.nat))).toEqual(new Set(["GB", "FR"]))
    expect(FakeUsers.generatePage({ seed: "nat", page: 1, results: 200, nat: ["FR", "GB"] })).toEqual(users)
    const us = FakeUsers.generatePage({ seed: "nat", page: 1, results: 50, nat: ["US"] })
    expect(us.every((u) => u.nat === "US" && typeof u.location.postcode === "number")).toBe(true)
  })

  it("ignores unknown nationalities, as the API does", () => {
    expect(FakeUsers.generatePage({ seed: "x", page: 1, results: 5, nat: "ZZ" })).toEqual(
      FakeUsers.generatePage({ seed: "x", page: 1, results: 5 })
    )
  })
})
