/**
 * The source's checks without HTTP (issue 9, "The API source"): short per-user reasons,
 * keys of rejected users, redacted URLs, the page-size rule, and the stream's handling of
 * short and repeated pages over a scripted `UserSource`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Schema, Stream } from "effect"
import * as FakeUsers from "../../layers/FakeUsers.js"
import * as MemoryUserSource from "../../layers/MemoryUserSource.js"
import * as RandomUser from "../../layers/RandomUser.js"
import * as RandomUserSource from "../../layers/RandomUserSource.js"
import * as UserSource from "../../layers/UserSource.js"
import * as Source from "../../src/Source.js"

const [base] = FakeUsers.generatePage({ seed: "checks", page: 1, results: 1 })
const valid: RandomUser.UserJson = base!

describe("RandomUser.checkUser", () => {
  it("accepts a valid user as it is", () => {
    expect(RandomUser.checkUser(valid)).toEqual(Either.right(valid))
  })

  it("names each issue by its path, in a few words, never the type", () => {
    const { uuid: _, ...login } = valid.login
    const bad = { ...valid, login, location: { ...valid.location, street: "12 Main St" } }
    expect(RandomUser.checkUser(bad)).toEqual(
      Either.left("location.street: expected an object, got \"12 Main St\"; login.uuid: is missing")
    )
  })

  it("says what a union, a refinement and a filter expect", () => {
    const bad = {
      ...valid,
      location: { ...valid.location, postcode: null },
      login: { ...valid.login, uuid: "not-a-uuid" },
      dob: { ...valid.dob, date: "yesterday" }
    }
    expect(RandomUser.checkUser(bad)).toEqual(Either.left(
      "location.postcode: expected a number or a string, got null; login.uuid: expected a UUID, got \"not-a-uuid\"; " +
        "dob.date: expected an ISO-8601 date, got \"yesterday\""
    ))
  })

  it("stops at three issues and says how many more", () => {
    const reason = RandomUser.checkUser({ ...valid, gender: 1, phone: [], cell: {}, nat: null })
    expect(reason).toEqual(Either.left(
      "gender: expected a string, got 1; phone: expected a string, got an array of 0; cell: expected a string, got an object (and 1 more)"
    ))
    expect(RandomUser.checkUser("x".repeat(100))).toEqual(Either.left(`expected an object, got "${"x".repeat(40)}…"`))
  })

  it("formats any schema's issues the same way", () => {
    const error = Schema.decodeUnknownEither(Schema.Struct({ a: Schema.Array(Schema.Number) }))({ a: [1, "2"] })
    if (Either.isRight(error)) throw new Error("expected a failure")
    expect(RandomUser.formatIssues(error.left.issue)).toBe("a[1]: expected a number, got \"2\"")
  })
})

describe("RandomUser.keyOf", () => {
  it("reads login.uuid when it is a non-empty string, of any value", () => {
    expect(RandomUser.keyOf(valid)).toBe(valid.login.uuid)
    expect(RandomUser.keyOf({ login: { uuid: "not-a-uuid" } })).toBe("not-a-uuid")
    expect(RandomUser.keyOf({ login: { uuid: "" } })).toBe(undefined)
    expect(RandomUser.keyOf({ login: { uuid: 7 } })).toBe(undefined)
    expect(RandomUser.keyOf({ login: null })).toBe(undefined)
    expect(RandomUser.keyOf("x")).toBe(undefined)
  })
})

describe("UserSource.checkUsers", () => {
  it("keeps valid users and turns each invalid one into a Rejected with its origin", () => {
    const { uuid: _, ...login } = valid.login
    const items = UserSource.checkUsers([valid, { ...valid, login }, 42], { url: "http://api/?page=2", page: 2 })
    expect(items).toEqual([
      valid,
      new Source.Rejected({ reason: "login.uuid: is missing", value: { ...valid, login }, key: undefined, origin: { url: "http://api/?page=2", page: "2", index: "1" } }),
      new Source.Rejected({ reason: "expected an object, got 42", value: 42, key: undefined, origin: { url: "http://api/?page=2", page: "2", index: "2" } })
    ])
  })
})

describe("RandomUserSource.redactUrl", () => {
  it("hides passwords, lone tokens and credential-like query values; leaves other URLs byte for byte", () => {
    expect(RandomUserSource.redactUrl("https://me:pa%40ss@api.example/api/1.4/?results=1")).toBe("https://me:***@api.example/api/1.4/?results=1")
    expect(RandomUserSource.redactUrl("https://t0ken@api.example/api/")).toBe("https://***@api.example/api/")
    expect(RandomUserSource.redactUrl("https://api.example/api/?api_key=k&results=1&token=t")).toBe(
      "https://api.example/api/?api_key=***&results=1&token=***"
    )
    expect(RandomUserSource.redactUrl("https://randomuser.me/api/1.4/?results=1&seed=a&nat=FR,GB")).toBe(
      "https://randomuser.me/api/1.4/?results=1&seed=a&nat=FR,GB"
    )
  })
})

describe("UserSource.pageSizeFor", () => {
  it("is min(pageSize, records) within 1…5000", () => {
    expect(UserSource.pageSizeFor(1)).toBe(1)
    expect(UserSource.pageSizeFor(999)).toBe(999)
    expect(UserSource.pageSizeFor(5000)).toBe(1000)
    expect(UserSource.pageSizeFor(7, 3)).toBe(3)
    expect(UserSource.pageSizeFor(50_000, 9999)).toBe(5000)
  })
})

/** A scripted UserSource: `answer(request)` gives the raw users of a page; every request is recorded. */
const scripted = (answer: (request: RandomUser.PageRequest) => ReadonlyArray<unknown>) => {
  const requests: Array<RandomUser.PageRequest> = []
  const service: UserSource.UserSourceService = {
    fetchPage: (request) =>
      Effect.sync(() => {
        requests.push(request)
        const url = `http://api/?page=${request.page}`
        const results = answer(request)
        return {
          url,
          items: UserSource.checkUsers(results, { url, page: request.page }),
          info: { seed: request.seed, results: results.length, page: request.page, version: "1.4" }
        }
      })
  }
  return { requests, service }
}

const collect = (service: UserSource.UserSourceService, options: UserSource.StreamOptions) =>
  UserSource.stream(options).pipe(
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray),
    Effect.provideService(UserSource.UserSource, service)
  )

const generated = (request: RandomUser.PageRequest) => FakeUsers.generatePage(request)

describe("UserSource.stream", () => {
  it.effect("asks for nothing when no records are wanted", () =>
    Effect.gen(function*() {
      const { requests, service } = scripted(generated)
      expect(yield* collect(service, { records: 0, seed: "s" })).toEqual([])
      expect(yield* collect(service, { records: -5, seed: "s" })).toEqual([])
      expect(requests).toEqual([])
    }))

  it.effect("asks every page for the same min(pageSize, records) users and cuts the last", () =>
    Effect.gen(function*() {
      const { requests, service } = scripted(generated)
      const users = yield* collect(service, { records: 5, seed: "s", pageSize: 2 })
      expect(requests.map((r) => [r.results, r.page])).toEqual([[2, 1], [2, 2], [2, 3]])
      expect(users).toEqual(FakeUsers.generatePage({ seed: "s", page: 1, results: 5 }))
    }))

  it.effect("emits invalid users as Rejected in place", () =>
    Effect.gen(function*() {
      const { service } = scripted((r) => generated(r).map((u, i) => (i === 1 ? { ...u, nat: 7 } : u)))
      const items = yield* collect(service, { records: 3, seed: "s" })
      expect(items.map((i) => (Source.isRejected(i) ? i.reason : "ok"))).toEqual(["ok", "nat: expected a string, got 7", "ok"])
    }))

  it.effect("ends at a short page, with a warning; the remaining pages are not asked for", () =>
    Effect.gen(function*() {
      const { requests, service } = scripted((r) => (r.page === 2 ? generated(r).slice(0, 1) : generated(r)))
      const users = yield* collect(service, { records: 9, seed: "s", pageSize: 3 })
      expect(users).toHaveLength(4)
      expect(requests.map((r) => r.page)).toEqual([1, 2])
    }))

  it.effect("ends after a page that repeats an earlier one", () =>
    Effect.gen(function*() {
      const { requests, service } = scripted((r) => generated({ ...r, page: 1 }))
      const users = yield* collect(service, { records: 9, seed: "s", pageSize: 3 })
      expect(users).toHaveLength(6)
      expect(requests.map((r) => r.page)).toEqual([1, 2])
    }))
})

describe("MemoryUserSource", () => {
  it.effect("serves the generator's pages, checked like the HTTP source's, with a URL as origin", () =>
    Effect.gen(function*() {
      const page = yield* MemoryUserSource.make.fetchPage({ results: 3, seed: "m", page: 2 })
      expect(page.url).toBe("memory://randomuser/api/1.4/?results=3&seed=m&page=2")
      expect(page.info).toEqual({ seed: "m", results: 3, page: 2, version: "1.4" })
      expect(page.items).toEqual(FakeUsers.generatePage({ seed: "m", page: 2, results: 3 }))
    }))
})
