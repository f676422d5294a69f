/**
 * Task outcomes and trigger rules: how a task ended, how a skip is signalled, and whether
 * a task runs given its upstream outcomes. `Dag` re-exports all of it.
 *
 * @since 0.1.0
 */
import { Cause, Data, Effect, Exit, Option } from "effect"

/** When a task runs, given its upstream outcomes (Airflow's trigger rules). */
export type TriggerRule =
  /** Every upstream succeeded (default). Otherwise the task is `upstream_failed` or `skipped`. */
  | "all_success"
  /** Every upstream finished, whatever its state. */
  | "all_done"
  /** No upstream failed (succeeded or skipped). */
  | "none_failed"
  /** Does not wait for upstream at all: runs as soon as the run starts. Takes no `deps`. */
  | "always"

/** Final state of one task within a run. */
export type TaskState = "success" | "failed" | "upstream_failed" | "skipped" | "cancelled"

/** An upstream task's outcome, as seen by a task whose rule lets it run after failures. */
export type Upstream<A> =
  | { readonly _tag: "Success"; readonly value: A }
  | { readonly _tag: "Failed"; readonly error: string }
  | { readonly _tag: "Skipped" }

/**
 * Fail a task with this to mark it `skipped` (like Airflow's skip exception): it is not
 * retried, and downstream `all_success` tasks are skipped too while `none_failed` and
 * `all_done` tasks run. Use it for "nothing to do for this interval".
 */
export class TaskSkipped extends Data.TaggedError("TaskSkipped")<{
  readonly reason: string
}> {
  override get message(): string {
    return `skipped: ${this.reason}`
  }
}

/** Skips the current task (see `TaskSkipped`). */
export const skip = (reason: string): Effect.Effect<never, TaskSkipped> => Effect.fail(new TaskSkipped({ reason }))

/**
 * Decides a task's fate from its upstream outcomes: run it, or give it a final state
 * without running.
 */
export const decide = (
  rule: TriggerRule,
  upstream: ReadonlyArray<Upstream<unknown>>
): "run" | "upstream_failed" | "skipped" => {
  const failed = upstream.some((u) => u._tag === "Failed")
  const skipped = upstream.some((u) => u._tag === "Skipped")
  switch (rule) {
    case "all_success":
      return failed ? "upstream_failed" : skipped ? "skipped" : "run"
    case "none_failed":
      return failed ? "upstream_failed" : "run"
    case "all_done":
    case "always":
      return "run"
  }
}

/** A short, single-line rendering of a failure for the run store. */
export const renderError = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (error instanceof Error) {
      const tag = (error as { readonly _tag?: unknown })._tag
      return typeof tag === "string" && !error.message.startsWith(tag) ? `${tag}: ${error.message}` : error.message
    }
    if (typeof error === "object" && error !== null && "_tag" in error) {
      return JSON.stringify(error)
    }
    return String(error)
  }
  if (Cause.isInterruptedOnly(cause)) return "interrupted"
  return Cause.pretty(cause).split("\n")[0] ?? "defect"
}

/** An `Upstream` from an exit: a `TaskSkipped` failure is `Skipped`, any other failure `Failed`. */
export const upstreamOf = (exit: Exit.Exit<unknown, unknown>): Upstream<unknown> => {
  if (Exit.isSuccess(exit)) return { _tag: "Success", value: exit.value }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure) && failure.value instanceof TaskSkipped) return { _tag: "Skipped" }
  return { _tag: "Failed", error: renderError(exit.cause) }
}

/** The attempt-record state of an exit (what `endAttempt` stores). */
export const attemptStateOf = (exit: Exit.Exit<unknown, unknown>): "success" | "failed" | "skipped" => {
  const outcome = upstreamOf(exit)
  return outcome._tag === "Success" ? "success" : outcome._tag === "Skipped" ? "skipped" : "failed"
}
