/**
 * Graph validation of a DAG: task names, unknown dependencies, cycles and a topological
 * order. Works on anything shaped like a task (`GraphNode`), so it knows nothing of how
 * tasks run.
 *
 * @since 0.1.0
 */
import { Data, Either } from "effect"

/** The DAG is not well formed. `reason` says how; `message` names the tasks involved. */
export class DagError extends Data.TaggedError("DagError")<{
  readonly dag: string
  readonly reason: "UnknownDependency" | "Cycle" | "DuplicateTask" | "Empty" | "InvalidTask"
  readonly message: string
}> {}

/** What validation needs to know of a task: its name and its edges. */
export interface GraphNode<N> {
  readonly name: string
  /** Tasks whose outputs this task receives (reached even when not listed). */
  readonly deps: ReadonlyArray<N>
  /** Names of tasks this task runs after, without receiving their output. */
  readonly after: ReadonlyArray<string>
  /** The trigger rule; `"always"` tasks must not declare dependencies. */
  readonly trigger: string
}

/** A validated graph: tasks in topological order, each with its upstream names. */
export interface Graph<N> {
  /** Every task comes after all its upstream tasks. */
  readonly order: ReadonlyArray<N>
  /** Upstream task names of each task (deps and `after`, deduplicated). */
  readonly upstream: ReadonlyMap<string, ReadonlyArray<string>>
}

type Failure = { readonly reason: DagError["reason"]; readonly message: string }

/** Every task reachable from `roots` through `deps`, by name; or why the names are unusable. */
const collect = <N extends GraphNode<N>>(roots: ReadonlyArray<N>): Either.Either<Map<string, N>, Failure> => {
  const byName = new Map<string, N>()
  const visit = (task: N): string | undefined => {
    const existing = byName.get(task.name)
    if (existing !== undefined) {
      return existing === task ? undefined : `two different tasks are named "${task.name}"`
    }
    if (task.name.length === 0) return "a task has an empty name"
    if (task.trigger === "always" && (task.deps.length > 0 || task.after.length > 0)) {
      return `task "${task.name}" has trigger rule "always", which does not wait for upstream, but declares dependencies`
    }
    byName.set(task.name, task)
    for (const dep of task.deps) {
      const problem = visit(dep)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  for (const task of roots) {
    const problem = visit(task)
    if (problem !== undefined) {
      return Either.left({ reason: problem.startsWith("two") ? "DuplicateTask" : "InvalidTask", message: problem })
    }
  }
  return Either.right(byName)
}

/** Upstream names of each task; fails on an `after` naming no task of the DAG. */
const resolveUpstream = <N extends GraphNode<N>>(
  byName: ReadonlyMap<string, N>
): Either.Either<Map<string, ReadonlyArray<string>>, Failure> => {
  const upstream = new Map<string, ReadonlyArray<string>>()
  for (const task of byName.values()) {
    for (const dep of task.after) {
      if (!byName.has(dep)) {
        return Either.left({
          reason: "UnknownDependency",
          message: `task "${task.name}" depends on "${dep}", which is not a task of this DAG (tasks: ${
            [...byName.keys()].join(", ")
          })`
        })
      }
    }
    upstream.set(task.name, [...new Set([...task.deps.map((d) => d.name), ...task.after])])
  }
  return Either.right(upstream)
}

/**
 * Depth-first topological sort of `names` (in their order) over `upstream` edges. Left
 * is a cycle, as the path `a -> b -> … -> a` (upstream first).
 */
export const topologicalOrder = (
  names: Iterable<string>,
  upstream: ReadonlyMap<string, ReadonlyArray<string>>
): Either.Either<ReadonlyArray<string>, ReadonlyArray<string>> => {
  const order: Array<string> = []
  const state = new Map<string, "visiting" | "done">()
  const stack: Array<string> = []
  const sort = (name: string): ReadonlyArray<string> | undefined => {
    const mark = state.get(name)
    if (mark === "done") return undefined
    if (mark === "visiting") return [...stack.slice(stack.indexOf(name)), name]
    state.set(name, "visiting")
    stack.push(name)
    for (const dep of upstream.get(name) ?? []) {
      const cycle = sort(dep)
      if (cycle !== undefined) return cycle
    }
    stack.pop()
    state.set(name, "done")
    order.push(name)
    return undefined
  }
  for (const name of names) {
    const cycle = sort(name)
    if (cycle !== undefined) return Either.left([...cycle].reverse())
  }
  return Either.right(order)
}

/**
 * Validates the DAG `dag` made of `roots` and everything they reach through `deps`.
 * Fails with `DagError` on no tasks, an empty name, two different tasks with one name,
 * an `"always"` task with dependencies, an `after` naming no task, or a cycle.
 */
export const validate = <N extends GraphNode<N>>(
  dag: string,
  roots: ReadonlyArray<N>
): Either.Either<Graph<N>, DagError> => {
  const fail = (failure: Failure) =>
    new DagError({ dag, reason: failure.reason, message: `DAG "${dag}": ${failure.message}` })
  if (roots.length === 0) return Either.left(fail({ reason: "Empty", message: "has no tasks" }))
  return Either.gen(function*() {
    const byName = yield* collect(roots)
    const upstream = yield* resolveUpstream(byName)
    const order = yield* topologicalOrder(byName.keys(), upstream).pipe(
      Either.mapLeft((cycle): Failure => ({ reason: "Cycle", message: `has a cycle: ${cycle.join(" -> ")}` }))
    )
    return { order: order.map((name) => byName.get(name)!), upstream }
  }).pipe(Either.mapLeft(fail))
}
