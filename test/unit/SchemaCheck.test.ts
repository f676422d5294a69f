/**
 * SchemaCheck's compiled checks against Effect's own `Schema.is`, the oracle: the topic
 * decoder and every sink decide with them, so they must refuse exactly what the schema
 * refuses. Random values (fast-check) over nested structs, filters, unions and arrays.
 */
import { Schema, SchemaAST } from "effect"
import fc from "fast-check"
import { expect, it } from "vitest"
import { UserFields } from "../../examples/randomuser/UserRow.js"
import * as SchemaCheck from "../../src/SchemaCheck.js"

const Inner = Schema.Struct({ n: Schema.Number, s: Schema.String.pipe(Schema.minLength(2)) })
const S = Schema.Struct({
  id: Schema.UUID,
  i: Schema.Int,
  u: Schema.Union(Schema.Number, Schema.String),
  inner: Inner,
  list: Schema.Array(Schema.Literal("a", "b")),
  o: Schema.optional(Schema.NullOr(Schema.Boolean)),
  d: Schema.DateFromSelf
}).pipe(Schema.filter((r) => r.i >= 0))

const check = (schema: Schema.Schema.Any) => {
  const c = SchemaCheck.compile(SchemaAST.typeAST(schema.ast))
  if (c === undefined) throw new Error("expected a compiled check")
  return c
}

const leaf = fc.oneof(fc.string(), fc.uuid(), fc.integer({ min: -3, max: 3 }), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.constantFrom("a", "b", "ab"), fc.date())
const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("any"), { maxLength: 3 }), fc.dictionary(fc.constantFrom("n", "s", "x"), tie("any"), { maxKeys: 3 }))
})).any

it("agrees with Schema.is on nested structs, filters, unions and arrays", () => {
  const row = fc.record({
    id: fc.uuid(), i: fc.integer({ min: -2, max: 5 }), u: fc.oneof(fc.double(), fc.string()),
    inner: fc.record({ n: fc.double(), s: fc.string({ maxLength: 3 }) }),
    list: fc.array(fc.constantFrom("a", "b"), { maxLength: 3 }), o: fc.option(fc.option(fc.boolean(), { nil: null }), { nil: undefined }),
    d: fc.date()
  })
  const keys = ["id", "i", "u", "inner", "list", "o", "d", "z"] as const
  const mutated = fc.tuple(row, fc.constantFrom(...keys), value, fc.boolean()).map(([r, k, v, drop]) => {
    const copy: Record<string, unknown> = { ...r }
    if (drop) delete copy[k]
    else copy[k] = v
    return copy
  })
  const compiled = check(S)
  const oracle = Schema.is(S)
  fc.assert(fc.property(fc.oneof(row, mutated, value), (u) => compiled(u) === oracle(u)), { numRuns: 20000 })
  const good = { id: "0b7e3c52-5a1d-4c1e-9f00-000000000001", i: 1, u: 2, inner: { n: 1, s: "ab" }, list: ["a"], d: new Date() }
  expect(compiled(good)).toBe(true)
  expect(compiled({ ...good, i: -1 })).toBe(false) // the struct's own filter
  expect(compiled({ ...good, inner: { n: 1, s: "a" } })).toBe(false) // a nested minLength
})

it("compiles the reference pipeline's reader schema, with its date filter", () => {
  const compiled = check(UserFields)
  const user = {
    gender: "female", name: { first: "A", last: "B" },
    location: { street: { number: 1, name: "X" }, city: "c", state: "s", country: "k", postcode: 12 },
    email: "a@b.c", login: { uuid: "0b7e3c52-5a1d-4c1e-9f00-000000000001", username: "u" },
    registered: { date: "2020-01-01T00:00:00.000Z" }, phone: "1", picture: { medium: "m" }
  }
  expect(compiled(user)).toBe(true)
  expect(compiled({ ...user, registered: { date: "not a date" } })).toBe(false)
  expect(compiled({ ...user, location: { ...user.location, postcode: true } })).toBe(false)
})

it("leaves what it does not compile to Schema.is", () => {
  expect(SchemaCheck.compile(Schema.NumberFromString.ast)).toBeUndefined()
  expect(SchemaCheck.compile(Schema.Record({ key: Schema.String, value: Schema.Number }).ast)).toBeUndefined()
})
