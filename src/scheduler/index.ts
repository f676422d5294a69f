/**
 * The scheduler: typed, in-process scheduled DAGs with run history (the Airflow stand-in).
 *
 * @since 0.1.0
 */
/** HTTP control API on 127.0.0.1 and its typed client. */
export * as Control from "./Control.js"
/** Typed tasks and DAGs (`task`, `make`, `makeEffect`). */
export * as Dag from "./Dag.js"
/** DAG graph validation: names, unknown dependencies, cycles, topological order. */
export * as DagGraph from "./DagGraph.js"
/** Running a held run's DAG: trigger rules, pools, attempt records, finish. */
export * as DagRunner from "./DagRunner.js"
/** Jobs: a DAG plus timetable, catchup and overlap policies. */
export * as Job from "./Job.js"
/** Claims, leases, heartbeats, fencing and the reaper. */
export * as Lease from "./Lease.js"
/** The per-job loop: timetable ticking, catch-up, overlap. */
export * as RunLoop from "./RunLoop.js"
/** The run-history port (jobs, runs, attempts) and its error. */
export * as RunStore from "./RunStore.js"
/** The scheduler service: tag, `make`, `layer`, `layerConfig`. */
export * as Scheduler from "./Scheduler.js"
/** Supervision of long-running services, recorded as runs. */
export * as Supervisor from "./Supervisor.js"
/** Task outcomes and trigger rules (re-exported by `Dag`). */
export * as TaskOutcome from "./TaskOutcome.js"
/** When runs fall: cron with an explicit zone, interval, manual. */
export * as Timetable from "./Timetable.js"
