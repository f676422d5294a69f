/**
 * TableSchema's compiled row check against Effect's own `Schema.is`, the oracle: every
 * sink checks every row with it, so it must refuse exactly what the schema refuses.
 * Random rows (fast-check) over every kind it compiles, keys missing or extra.
 */
import { expect, it } from "vitest"
import { Schema } from "effect"
import fc from "fast-check"
import * as TableSchema from "../../src/TableSchema.js"
const S = Schema.Struct({ id: Schema.UUID, n: Schema.Int, x: Schema.Number, b: Schema.Boolean, s: Schema.String, o: Schema.optional(Schema.String), nn: Schema.NullOr(Schema.Number), l: Schema.Literal("a", "b"), d: Schema.DateFromSelf })
it("the compiled check agrees with Schema.is on 20,000 random rows", () => {
  const t = TableSchema.make({ name: "t", schema: S, key: "id" })
  const ref = Schema.is(S)
  const val = fc.oneof(fc.string(), fc.uuid(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.constantFrom("a", "b"), fc.date())
  // A valid row with one field replaced by any value, deleted, or an extra key added: a
  // difference in one field's check shows.
  const validRow = fc.record({
    id: fc.uuid(), n: fc.integer(), x: fc.double(), b: fc.boolean(), s: fc.string(), o: fc.option(fc.string(), { nil: undefined }),
    nn: fc.option(fc.double(), { nil: null }), l: fc.constantFrom("a", "b"), d: fc.date()
  })
  const keys = ["id", "n", "x", "b", "s", "o", "nn", "l", "d", "z"] as const
  const mutated = fc.tuple(validRow, fc.constantFrom(...keys), val, fc.boolean()).map(([row, k, v, drop]) => {
    const copy: Record<string, unknown> = { ...row }
    if (drop) delete copy[k]
    else copy[k] = v
    return copy
  })
  fc.assert(fc.property(fc.oneof(mutated, fc.dictionary(fc.constantFrom(...keys), val)), (row) => t.is(row) === ref(row)), { numRuns: 20000 })
  const good = { id: "0b7e3c52-5a1d-4c1e-9f00-000000000001", n: 1, x: 1.5, b: true, s: "", nn: null, l: "a", d: new Date() }
  expect(t.is(good)).toBe(true); expect(ref(good)).toBe(true)
})
