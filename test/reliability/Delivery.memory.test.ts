/**
 * Delivery edge cases of the generic core on the doubles (TestDriver, TestClock): a
 * refused update never loses the valid version it replaced, an effectful transform that
 * throws or dies dead-letters its record instead of stopping the job, and sink names must
 * be unique. Every expected row is written by hand.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as MemorySink from "../../layers/MemorySink.js"
import { TestDriver } from "../../layers/testing.js"
import * as Pipeline from "../../src/Pipeline.js"
import * as Topic from "../../src/Topic.js"

const Note = Schema.Struct({ id: Schema.String, text: Schema.String })
const notes = Topic.make({ name: "notes.raw.v1", schema: Note, key: (n) => n.id, partitions: 1 })
// The table refuses texts longer than 3 characters, as a varchar(3) column would.
const NoteRow = Schema.Struct({ id: Schema.String, text: Schema.String.pipe(Schema.maxLength(3)) })
const table = MemorySink.table({ name: "notes", schema: NoteRow, key: "id", sinkName: "notes" })

it.effect("a refused newer version of a key leaves the older valid one written, and dead-letters only itself", () =>
  Effect.gen(function*() {
    const driver = yield* TestDriver.make(Pipeline.make({ name: "notes", input: notes, transform: (n) => [n], sinks: [table] }))
    // One batch: a valid version, a refused update of it, and a key whose only version is refused.
    yield* driver.send([{ id: "a", text: "ok" }, { id: "a", text: "too long" }, { id: "b", text: "also too long" }, { id: "c", text: "yes" }])
    yield* driver.run
    expect(yield* driver.rows("notes")).toEqual([{ id: "a", text: "ok" }, { id: "c", text: "yes" }])
    const letters = yield* driver.deadLetters
    expect(letters.map((l) => [l.stage, l.source.offset, JSON.parse(l.value ?? "null")])).toEqual([
      ["sink", "1", { id: "a", text: "too long" }],
      ["sink", "2", { id: "b", text: "also too long" }]
    ])
  }))

it.effect("an effectful transform that fails, throws or dies dead-letters the record; the job goes on", () =>
  Effect.gen(function*() {
    const pipeline = Pipeline.make({
      name: "notes",
      input: notes,
      transform: (n) =>
        n.text === "fail"
          ? Effect.fail({ _tag: "Refused", message: "no thanks" })
          : n.text === "die"
          ? Effect.die(new Error("boom"))
          : n.text === "throw"
          ? Effect.sync(() => {
            throw new Error("thrown inside")
          })
          : Effect.succeed([n]),
      sinks: [table]
    })
    const driver = yield* TestDriver.make(pipeline)
    yield* driver.send([{ id: "a", text: "fail" }, { id: "b", text: "die" }, { id: "c", text: "thr" }, { id: "d", text: "throw" }])
    yield* driver.run
    expect(yield* driver.rows("notes")).toEqual([{ id: "c", text: "thr" }])
    const letters = yield* driver.deadLetters
    expect(letters.map((l) => [l.stage, l.source.offset, l.error])).toEqual([
      ["transform", "0", "Refused: no thanks"],
      ["transform", "1", "boom"],
      ["transform", "3", "thrown inside"]
    ])
  }))

it("two sinks with one name are refused when the pipeline is defined", () => {
  expect(() => Pipeline.make({ name: "notes", input: notes, transform: (n) => [n], sinks: [table, table] })).toThrow(
    /pipeline notes: two sinks are named notes/
  )
})

it.effect("a consumer the broker drops twice is restarted from the committed offsets; sends are never faulted", () =>
  Effect.gen(function*() {
    const driver = yield* TestDriver.make(Pipeline.make({ name: "notes", input: notes, transform: (n) => [n], sinks: [table] }))
    yield* driver.failNext("consume", 2)
    yield* driver.failNext("produce", 5)
    yield* driver.send([{ id: "a", text: "one" }, { id: "b", text: "two" }])
    const summary = yield* driver.run
    expect(summary.processed).toBe(2)
    expect(yield* driver.rows(table)).toEqual([{ id: "a", text: "one" }, { id: "b", text: "two" }])
  }))
