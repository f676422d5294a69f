/**
 * The `RowSink<UserRow>` contract: one suite every sink implementation passes, the
 * in-memory double included, so a double cannot drift from the real thing.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Either, Exit, Scope } from "effect"
import type { RowSink } from "../../src/Sink.js"
import type { UserRow } from "../../src/UserRow.js"
import { byId, changed, makeRows } from "../support/rows.js"

/** A sink to test, and how to empty its storage between tests. */
export interface SinkUnderTest {
  readonly sink: RowSink<UserRow>
  readonly reset: Effect.Effect<void, unknown>
}

/** Options of the suite. */
export interface ContractOptions {
  /** Rows of the large-batch test: enough to span the sink's chunking. Default 12,000. */
  readonly largeBatch?: number
}

/**
 * Registers the contract suite for one implementation. `acquire` runs once for the
 * suite (its scope closes after the last test); `reset` runs before every test. If
 * `acquire` fails, every test of the suite fails with its error: never skipped.
 */
export const sinkContract = (
  name: string,
  acquire: Effect.Effect<SinkUnderTest, unknown, Scope.Scope>,
  options: ContractOptions = {}
): void => {
  describe(`RowSink contract: ${name}`, () => {
    // Acquired by the first test and shared by the rest; a failed set-up fails every
    // test with its cause (a failing `beforeAll` would only mark them skipped).
    const scope = Effect.runSync(Scope.make())
    let setUp: Promise<Exit.Exit<SinkUnderTest, unknown>> | undefined
    const underTest = Effect.flatMap(
      Effect.promise(() => (setUp ??= Effect.runPromiseExit(Scope.extend(acquire, scope)))),
      (exit) =>
        Exit.isSuccess(exit)
          ? Effect.succeed(exit.value)
          : Effect.dieMessage(`${name}: could not set up the sink under test:\n${Cause.pretty(exit.cause)}`)
    )

    afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

    const contract = (title: string, body: (sink: RowSink<UserRow>) => Effect.Effect<void, unknown>) =>
      it.live(title, () => Effect.flatMap(underTest, ({ reset, sink }) => Effect.zipRight(reset, body(sink))))

    contract("write then scan returns the rows, ordered by id", (sink) =>
      Effect.gen(function*() {
        const rows = makeRows(50, 11)
        yield* sink.write(rows)
        expect(yield* sink.scan).toEqual(byId(rows))
      }))

    contract("writing the same ids again updates the values and adds no row", (sink) =>
      Effect.gen(function*() {
        const rows = makeRows(50, 12)
        yield* sink.write(rows)
        const updated = rows.slice(0, 20).map(changed)
        yield* sink.write(updated)
        const expected = byId([...updated, ...rows.slice(20)])
        const back = yield* sink.scan
        expect(back).toHaveLength(50)
        expect(back).toEqual(expected)
      }))

    contract("writing a batch twice leaves no duplicate", (sink) =>
      Effect.gen(function*() {
        const rows = makeRows(40, 13)
        yield* sink.write(rows)
        yield* sink.write(rows)
        expect(yield* sink.scan).toEqual(byId(rows))
      }))

    contract("a key twice in one batch keeps the last row", (sink) =>
      Effect.gen(function*() {
        const rows = makeRows(10, 14)
        const again = changed(rows[3]!)
        yield* sink.write([...rows, again])
        const expected = byId(rows.map((r) => (r.id === again.id ? again : r)))
        expect(yield* sink.scan).toEqual(expected)
      }))

    contract("an empty batch is a no-op", (sink) =>
      Effect.gen(function*() {
        yield* sink.write([])
        expect(yield* sink.scan).toEqual([])
        const rows = makeRows(5, 15)
        yield* sink.write(rows)
        yield* sink.write([])
        expect(yield* sink.scan).toEqual(byId(rows))
      }))

    const large = options.largeBatch ?? 12_000
    contract(`a batch of ${large} rows lands whole`, (sink) =>
      Effect.gen(function*() {
        const rows = makeRows(large, 16)
        const started = Date.now()
        yield* sink.write(rows)
        const ms = Date.now() - started
        // Printed for the record; not asserted, machines differ.
        console.log(`[${name}] wrote ${large} rows in ${ms} ms (${Math.round((large * 1000) / Math.max(ms, 1))} rows/s)`)
        const back = yield* sink.scan
        expect(back.length).toBe(large)
        expect(back).toEqual(byId(rows))
      }))

    contract("post codes stay strings, numeric-looking or not", (sink) =>
      Effect.gen(function*() {
        const [a, b, c] = makeRows(3, 17)
        const rows = [
          { ...a!, post_code: "01234" },
          { ...b!, post_code: "SW1A 1AA" },
          { ...c!, post_code: "0" }
        ]
        yield* sink.write(rows)
        const back = new Map((yield* sink.scan).map((r) => [r.id, r.post_code]))
        expect(back.get(a!.id)).toBe("01234")
        expect(back.get(b!.id)).toBe("SW1A 1AA")
        expect(back.get(c!.id)).toBe("0")
      }))

    contract("unicode text round-trips", (sink) =>
      Effect.gen(function*() {
        const [a] = makeRows(1, 18)
        const row = { ...a!, first_name: "Zoë 美咲 😀", last_name: "Ελένη-Łukasiewicz", address: "Straße 1, Αθήνα, 東京" }
        yield* sink.write([row])
        expect(yield* sink.scan).toEqual([row])
      }))

    contract("a row the table cannot hold is Rejected and its batch writes nothing", (sink) =>
      Effect.gen(function*() {
        const rows = makeRows(5, 19)
        // Bypasses the type on purpose: what a bug upstream could hand the sink.
        const bad = { ...rows[2]!, id: "not-a-uuid" }
        const result = yield* Effect.either(sink.write([...rows.slice(0, 2), bad, ...rows.slice(3)]))
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) {
          expect(result.left._tag).toBe("SinkError")
          expect(result.left.reason).toBe("Rejected")
          expect(result.left.sink).toBe(sink.name)
        }
        expect(yield* sink.scan).toEqual([])
      }))
  })
}
