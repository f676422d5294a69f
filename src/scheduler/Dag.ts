/**
 * Tasks and DAGs: what a job runs.
 *
 * A task's output is a typed value handed to the tasks that depend on it (no XCom, no
 * serialisation): `Dag.task("load", { deps: { rows: extract }, run: ({ inputs }) => … })`
 * sees `inputs.rows` with `extract`'s output type. Each task has its own retry
 * Schedule, per-attempt timeout, trigger rule and optional concurrency pool.
 *
 * Graph validation lives in `DagGraph`; outcomes and trigger rules in `TaskOutcome`
 * (re-exported here, so `Dag.decide`, `Dag.skip`, `Dag.DagError` … keep working).
 *
 * @since 0.1.0
 */
import { Data, Duration, Effect, Either, type Exit, Option, type Schedule } from "effect"
import * as DagGraph from "./DagGraph.js"
import type { DagError } from "./DagGraph.js"
import type { TriggerRule, Upstream } from "./TaskOutcome.js"
import { TaskSkipped } from "./TaskOutcome.js"
import type { DataInterval } from "./Timetable.js"

/** The DAG is not well formed (defined in `DagGraph`). */
export { DagError } from "./DagGraph.js"
/** Outcomes and trigger rules (defined in `TaskOutcome`). */
export {
  attemptStateOf,
  decide,
  renderError,
  skip,
  type TaskState,
  TaskSkipped,
  type TriggerRule,
  type Upstream,
  upstreamOf
} from "./TaskOutcome.js"

/** What a task attempt knows about its run. */
export interface TaskContext {
  /** The job (DAG) name. */
  readonly job: string
  /** The task name. */
  readonly task: string
  /** The run's id in the run store. */
  readonly runId: string
  /** The slot (epoch ms) the run is for. */
  readonly slot: number
  /** The data interval `[previous slot, slot)`, epoch ms. */
  readonly interval: DataInterval
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number
}

/** An attempt exceeded its task's timeout. */
export class TaskTimeout extends Data.TaggedError("TaskTimeout")<{
  readonly task: string
  readonly attempt: number
  readonly timeout: Duration.Duration
}> {
  override get message(): string {
    return `task "${this.task}" attempt ${this.attempt} timed out after ${Duration.format(this.timeout)}`
  }
}

/** Hooks the runtime passes in so every attempt is recorded; they cannot fail. */
export interface AttemptHooks {
  readonly onStart: (attempt: number) => Effect.Effect<void>
  readonly onEnd: (attempt: number, exit: Exit.Exit<unknown, unknown>) => Effect.Effect<void>
  /** Wraps one attempt, e.g. to hold a pool permit only while it runs (not while backing off). */
  readonly around: <A, E, R>(attempt: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/** Type-erased upstream results handed to `execute`. */
export type UpstreamResults = ReadonlyMap<string, Upstream<unknown>>

const TaskTypeId: unique symbol = Symbol.for("pandaflow/scheduler/Task")

/** A task producing `A`, failing with `E`, needing `R`. */
export interface Task<out A, out E = never, out R = never> {
  readonly [TaskTypeId]: {
    readonly _A: (_: never) => A
    readonly _E: (_: never) => E
    readonly _R: (_: never) => R
  }
  readonly name: string
  /** Tasks whose outputs this task receives. */
  readonly deps: ReadonlyArray<AnyTask>
  /** Names of tasks this task runs after, without receiving their output. */
  readonly after: ReadonlyArray<string>
  readonly trigger: TriggerRule
  readonly timeout: Option.Option<Duration.Duration>
  readonly pool: Option.Option<string>
  /**
   * Runs every attempt (retries and timeouts included) and returns the output.
   * Type-erased so a DAG can hold tasks of different types; built by `task`.
   */
  readonly execute: (
    upstream: UpstreamResults,
    base: Omit<TaskContext, "attempt" | "task">,
    hooks: AttemptHooks
  ) => Effect.Effect<unknown, unknown, R>
}

/** Any task, whatever its types (the runtime's erased view). */
export interface AnyTask extends Task<unknown, unknown, unknown> {}

/**
 * What `make` and `deps` accept. Deliberately says nothing about the type parameters:
 * a constraint of `AnyTask` would flow into an inline `task(…)` call as its contextual
 * return type and widen its requirements to `unknown`.
 */
export interface TaskLike {
  readonly [TaskTypeId]: unknown
  readonly name: string
}

/** The output type of a task. */
export type OutputOf<T> = T extends Task<infer A, infer _E, infer _R> ? A : never
/** The requirements of a task. */
export type ContextOf<T> = T extends Task<infer _A, infer _E, infer R> ? R : never

/** What a task's `run` receives as inputs, by trigger rule. */
export type Inputs<Deps extends Record<string, TaskLike>, Rule extends TriggerRule> = Rule extends "all_success" ?
  { readonly [K in keyof Deps]: OutputOf<Deps[K]> }
  : Rule extends "none_failed" ?
    { readonly [K in keyof Deps]: Exclude<Upstream<OutputOf<Deps[K]>>, { readonly _tag: "Failed" }> }
  : { readonly [K in keyof Deps]: Upstream<OutputOf<Deps[K]>> }

/** Options of `task`. */
export interface TaskOptions<
  Deps extends Record<string, TaskLike>,
  Rule extends TriggerRule,
  A,
  E,
  R,
  RR
> {
  /** Upstream tasks, by the key under which their outputs appear in `inputs`. */
  readonly deps?: Rule extends "always" ? never : Deps
  /** Upstream task names to wait for without taking their output. */
  readonly after?: Rule extends "always" ? never : ReadonlyArray<string>
  readonly trigger?: Rule
  /** Retry policy on failure (including timeouts); fed the error. Default: no retry. */
  readonly retry?: Schedule.Schedule<unknown, E | TaskTimeout, RR>
  /** Per-attempt timeout. */
  readonly timeout?: Duration.DurationInput
  /** Concurrency pool this task's attempts take a permit from. */
  readonly pool?: string
  readonly run: (
    context: TaskContext & { readonly inputs: Inputs<Deps, Rule> }
  ) => Effect.Effect<A, E, R>
}

/**
 * Defines a task. `run` gets the run context (slot, data interval, run id, attempt) and
 * the typed outputs of `deps`.
 */
export const task = <
  A,
  E = never,
  R = never,
  RR = never,
  const Deps extends Record<string, TaskLike> = {},
  Rule extends TriggerRule = "all_success"
>(
  name: string,
  options: TaskOptions<Deps, Rule, A, E, R, RR>
): Task<A, E | TaskTimeout, R | RR | ContextOf<Deps[keyof Deps]>> => {
  const deps = (options.deps ?? {}) as Record<string, AnyTask>
  const depKeys = Object.keys(deps)
  const trigger: TriggerRule = options.trigger ?? "all_success"
  const timeout = options.timeout === undefined ? Option.none() : Option.some(Duration.decode(options.timeout))

  const execute = (
    upstream: UpstreamResults,
    base: Omit<TaskContext, "attempt" | "task">,
    hooks: AttemptHooks
  ): Effect.Effect<unknown, unknown, R | RR> => {
    const inputs: Record<string, unknown> = {}
    for (const key of depKeys) {
      const result = upstream.get(deps[key]!.name) ?? { _tag: "Skipped" }
      // all_success only runs when every upstream succeeded: hand over plain values.
      inputs[key] = trigger === "all_success" && result._tag === "Success" ? result.value : result
    }
    let attempt = 0
    const once = Effect.suspend(() => {
      attempt += 1
      const n = attempt
      const body = options.run({ ...base, task: name, attempt: n, inputs: inputs as Inputs<Deps, Rule> })
      const timed: Effect.Effect<A, E | TaskTimeout, R> = Option.match(timeout, {
        onNone: () => body,
        onSome: (limit) =>
          Effect.timeoutFail(body, {
            duration: limit,
            onTimeout: () => new TaskTimeout({ task: name, attempt: n, timeout: limit })
          })
      })
      // The attempt starts (and its timeout runs) once it holds its pool permit.
      return hooks.around(
        hooks.onStart(n).pipe(
          Effect.zipRight(timed),
          Effect.onExit((exit) => hooks.onEnd(n, exit))
        )
      )
    })
    return options.retry === undefined
      ? once
      : Effect.retry(once, {
        schedule: options.retry,
        // A skip is a decision, not a failure: never retried.
        while: (error: E | TaskTimeout) => !(error instanceof TaskSkipped)
      })
  }

  return {
    [TaskTypeId]: { _A: (_) => _, _E: (_) => _, _R: (_) => _ },
    name,
    deps: Object.values(deps),
    after: options.after ?? [],
    trigger,
    timeout,
    pool: Option.fromNullable(options.pool),
    execute
  } as Task<A, E | TaskTimeout, R | RR | ContextOf<Deps[keyof Deps]>>
}

const DagTypeId: unique symbol = Symbol.for("pandaflow/scheduler/Dag")

/** A validated DAG: tasks in a topological order, each with its upstream names. */
export interface Dag<out R = never> {
  readonly [DagTypeId]: { readonly _R: (_: never) => R }
  readonly name: string
  /** Topological order: every task comes after all its upstream tasks. */
  readonly tasks: ReadonlyArray<AnyTask>
  /** Upstream task names of each task (deps and `after`). */
  readonly upstream: ReadonlyMap<string, ReadonlyArray<string>>
}

/**
 * Builds a DAG from its tasks, validating it (see `DagGraph.validate`). Tasks reached
 * through `deps` are included even when not listed. Fails with `DagError` on an empty
 * DAG, two different tasks with one name, an `after` naming no task, or a cycle (the
 * message shows the cycle).
 */
export const make = <const Tasks extends ReadonlyArray<TaskLike>>(
  name: string,
  taskList: Tasks
): Either.Either<Dag<ContextOf<Tasks[number]>>, DagError> =>
  Either.map(DagGraph.validate(name, taskList as unknown as ReadonlyArray<AnyTask>), (graph) => ({
    [DagTypeId]: { _R: (_: never) => _ },
    name,
    tasks: graph.order,
    upstream: graph.upstream
  } as Dag<ContextOf<Tasks[number]>>))

/** `make` as an Effect, for start-up code. */
export const makeEffect = <const Tasks extends ReadonlyArray<TaskLike>>(
  name: string,
  tasks: Tasks
): Effect.Effect<Dag<ContextOf<Tasks[number]>>, DagError> => Either.match(make(name, tasks), {
  onLeft: Effect.fail,
  onRight: Effect.succeed
})
