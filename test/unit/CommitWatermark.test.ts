/** The watermark never passes an offset that is not done, whatever the completion order. */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as CommitWatermark from "../../src/CommitWatermark.js"

describe("CommitWatermark", () => {
  it("holds a later batch back until the gap before it closes", () => {
    const w = CommitWatermark.make()
    w.reset(0, 0n)
    expect(w.complete(0, 100n, 200n)).toBeUndefined()
    expect(w.heldBack(0)).toBe(1)
    expect(w.complete(0, 0n, 100n)).toBe(200n)
    expect(w.heldBack(0)).toBe(0)
    expect(w.complete(0, 0n, 100n)).toBeUndefined()
  })

  it("keeps partitions apart", () => {
    const w = CommitWatermark.make()
    w.reset(0, 0n)
    w.reset(1, 50n)
    expect(w.complete(1, 50n, 60n)).toBe(60n)
    expect(w.get(0)).toBe(0n)
  })

  it("for any completion order, commits exactly the longest done prefix (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 30 }).chain((sizes) =>
          fc.tuple(fc.constant(sizes), fc.shuffledSubarray(sizes.map((_, i) => i), { minLength: sizes.length }))
        ),
        ([sizes, order]) => {
          const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0))
          const w = CommitWatermark.make()
          w.reset(0, 0n)
          const done = new Set<number>()
          let committed = 0n
          for (const i of order) {
            done.add(i)
            const moved = w.complete(0, BigInt(starts[i]!), BigInt(starts[i]! + sizes[i]!))
            if (moved !== undefined) {
              expect(moved).toBeGreaterThan(committed)
              committed = moved
            }
            let prefix = 0
            while (done.has(prefix)) prefix++
            const expected = prefix === 0 ? 0 : starts[prefix - 1]! + sizes[prefix - 1]!
            expect(w.get(0)).toBe(BigInt(expected))
          }
          expect(committed).toBe(BigInt(sizes.reduce((a, b) => a + b, 0)))
        }
      )
    )
  })
})
