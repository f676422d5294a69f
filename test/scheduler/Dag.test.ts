import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option, Schedule } from "effect"
import * as Dag from "../../src/scheduler/Dag.js"
import * as DagGraph from "../../src/scheduler/DagGraph.js"
import * as Job from "../../src/scheduler/Job.js"
import * as Scheduler from "../../src/scheduler/Scheduler.js"
import * as Timetable from "../../src/scheduler/Timetable.js"
import { advance, makeLog, withMemoryStore } from "./support.js"

const noop = (name: string, options: { readonly after?: ReadonlyArray<string> } = {}) =>
  Dag.task(name, { ...options, run: () => Effect.void })

const errorOf = <A>(result: Either.Either<A, Dag.DagError>) => Either.isLeft(result) ? result.left : undefined

describe("Dag validation", () => {
  it("rejects a cycle, showing it", () => {
    const a = noop("a", { after: ["c"] })
    const b = noop("b", { after: ["a"] })
    const c = noop("c", { after: ["b"] })
    const error = errorOf(Dag.make("cyclic", [a, b, c]))
    expect(error?._tag).toBe("DagError")
    expect(error?.reason).toBe("Cycle")
    expect(error?.message).toMatch(/DAG "cyclic": has a cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)/)
  })

  it("rejects a self-dependency as a cycle", () => {
    expect(errorOf(Dag.make("self", [noop("a", { after: ["a"] })]))?.reason).toBe("Cycle")
  })

  it("rejects an unknown dependency, naming it and the known tasks", () => {
    const error = errorOf(Dag.make("d", [noop("load", { after: ["extract"] }), noop("other")]))
    expect(error?.reason).toBe("UnknownDependency")
    expect(error?.message).toBe(
      `DAG "d": task "load" depends on "extract", which is not a task of this DAG (tasks: load, other)`
    )
  })

  it("rejects two different tasks with one name, and an empty DAG", () => {
    expect(errorOf(Dag.make("d", [noop("a"), noop("a")]))?.reason).toBe("DuplicateTask")
    expect(errorOf(Dag.make("d", []))?.reason).toBe("Empty")
  })

  it("orders tasks topologically and includes deps that were not listed", () => {
    const extract = Dag.task("extract", { run: () => Effect.succeed([1, 2, 3]) })
    const load = Dag.task("load", { deps: { rows: extract }, run: ({ inputs }) => Effect.succeed(inputs.rows.length) })
    const dag = Either.getOrThrow(Dag.make("etl", [load]))
    expect(dag.tasks.map((t) => t.name)).toEqual(["extract", "load"])
  })
})

describe("Dag execution (TestClock)", () => {
  const runOnce = <R>(dag: Dag.Dag<R>) =>
    Effect.gen(function*() {
      const job = Job.make(dag, { timetable: Timetable.manual })
      const scheduler = yield* Scheduler.make({ jobs: [job], instanceId: "a" })
      const run = yield* scheduler.trigger(dag.name)
      yield* advance("1 minute")
      return yield* scheduler.run(run.id)
    })

  it.scoped("passes typed outputs downstream (no XCom)", () =>
    withMemoryStore(() =>
      Effect.gen(function*() {
        const log = yield* makeLog
        const extract = Dag.task("extract", { run: () => Effect.succeed({ users: ["ada", "alan"] }) })
        const count = Dag.task("count", { deps: { e: extract }, run: ({ inputs }) => Effect.succeed(inputs.e.users.length) })
        const report = Dag.task("report", {
          deps: { n: count, e: extract },
          run: ({ inputs }) => log.add(`${inputs.n}:${inputs.e.users.join(",")}`)
        })
        const detail = yield* runOnce(Either.getOrThrow(Dag.make("typed", [report])))
        expect(detail.run.state).toBe("success")
        expect(yield* log.get).toEqual(["2:ada,alan"])
      })
    ))

  it.scoped("trigger rules: all_success, all_done, none_failed, always", () =>
    withMemoryStore(() =>
      Effect.gen(function*() {
        const log = yield* makeLog
        const boom = Dag.task("boom", { run: () => Effect.fail("bad input") })
        const ok = Dag.task("ok", { run: () => Effect.succeed(42) })
        // all_success after a failure: not run, upstream_failed.
        const strict = Dag.task("strict", { deps: { b: boom }, run: () => log.add("strict ran") })
        // Downstream of upstream_failed with all_success: not run either.
        const strict2 = Dag.task("strict2", { deps: { s: strict }, run: () => log.add("strict2 ran") })
        // all_done: runs after failures and sees each outcome, typed.
        const cleanup = Dag.task("cleanup", {
          deps: { b: boom, o: ok },
          trigger: "all_done",
          run: ({ inputs }) =>
            log.add(`cleanup saw ${inputs.b._tag}${inputs.b._tag === "Failed" ? `(${inputs.b.error})` : ""} and ${
              inputs.o._tag === "Success" ? inputs.o.value : "?"
            }`)
        })
        // none_failed: upstream failed → not run.
        const careful = Dag.task("careful", { deps: { b: boom }, trigger: "none_failed", run: () => log.add("careful ran") })
        // always: does not wait for upstream at all.
        const ping = Dag.task("ping", { trigger: "always", run: () => log.add("ping ran") })
        const detail = yield* runOnce(Either.getOrThrow(Dag.make("rules", [strict2, cleanup, careful, ping])))
        expect([...(yield* log.get)].sort()).toEqual(["cleanup saw Failed(bad input) and 42", "ping ran"])
        expect(detail.run.state).toBe("failed")
        expect(Option.getOrThrow(detail.run.error)).toContain(`task "boom" failed: bad input`)
        expect(Option.getOrThrow(detail.run.error)).toContain(`task "strict" not run: upstream failed`)
        // Attempts are recorded for the tasks that ran.
        expect(detail.attempts.map((a) => `${a.task}:${a.state}`).sort()).toEqual([
          "boom:failed",
          "cleanup:success",
          "ok:success",
          "ping:success"
        ])
      })
    ))

  it.scoped("a task can skip itself: all_success downstream is skipped, none_failed runs; skips are not retried", () =>
    withMemoryStore(() =>
      Effect.gen(function*() {
        const log = yield* makeLog
        const check = Dag.task("check", {
          retry: Schedule.recurs(5),
          run: () => Effect.zipRight(log.add("check"), Dag.skip("no new data for this interval"))
        })
        const strict = Dag.task("strict", { deps: { c: check }, run: () => log.add("strict ran") })
        const nf = Dag.task("nf", {
          deps: { c: check },
          trigger: "none_failed",
          run: ({ inputs }) => log.add(`nf saw ${inputs.c._tag}`)
        })
        const detail = yield* runOnce(Either.getOrThrow(Dag.make("skips", [strict, nf])))
        expect(yield* log.get).toEqual(["check", "nf saw Skipped"])
        // Nothing failed: a skipped branch is a success for the run.
        expect(detail.run.state).toBe("success")
        expect(detail.attempts.map((a) => `${a.task}:${a.attempt}:${a.state}`).sort()).toEqual([
          "check:1:skipped",
          "nf:1:success"
        ])
        expect(Dag.decide("none_failed", [{ _tag: "Skipped" }, { _tag: "Success", value: 1 }])).toBe("run")
        expect(Dag.decide("all_success", [{ _tag: "Skipped" }, { _tag: "Success", value: 1 }])).toBe("skipped")
        expect(Dag.decide("all_success", [{ _tag: "Failed", error: "e" }])).toBe("upstream_failed")
        expect(Dag.decide("none_failed", [{ _tag: "Failed", error: "e" }])).toBe("upstream_failed")
        expect(Dag.decide("all_done", [{ _tag: "Failed", error: "e" }])).toBe("run")
      })
    ))
})

describe("DagGraph", () => {
  it("orders names upstream first and reports a cycle as a path", () => {
    const upstream = new Map([["load", ["extract"]], ["extract", []], ["report", ["load", "extract"]]])
    expect(DagGraph.topologicalOrder(["report", "load", "extract"], upstream)).toEqual(
      Either.right(["extract", "load", "report"])
    )
    const cyclic = new Map([["a", ["b"]], ["b", ["a"]]])
    expect(DagGraph.topologicalOrder(["a", "b"], cyclic)).toEqual(Either.left(["a", "b", "a"]))
  })

  it("validates any task-shaped nodes: deps are followed, `after` must name a node", () => {
    interface N { readonly name: string; readonly deps: ReadonlyArray<N>; readonly after: ReadonlyArray<string>; readonly trigger: string }
    const node = (name: string, deps: ReadonlyArray<N> = [], after: ReadonlyArray<string> = []): N => ({ name, deps, after, trigger: "all_success" })
    const extract = node("extract")
    const graph = DagGraph.validate("g", [node("load", [extract], ["check"]), node("check")])
    expect(Either.map(graph, (g) => g.order.map((n) => n.name))).toEqual(Either.right(["extract", "check", "load"]))
    expect(Either.map(graph, (g) => g.upstream.get("load"))).toEqual(Either.right(["extract", "check"]))
    const unknown = DagGraph.validate("g", [node("load", [], ["nope"])])
    expect(Either.isLeft(unknown) && unknown.left.reason).toBe("UnknownDependency")
  })
})
