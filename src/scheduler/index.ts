/**
 * The scheduler: typed, in-process scheduled DAGs with run history (the Airflow stand-in).
 *
 * @since 0.1.0
 */
export * as Control from "./Control.js"
export * as Dag from "./Dag.js"
export * as DagGraph from "./DagGraph.js"
export * as DagRunner from "./DagRunner.js"
export * as Job from "./Job.js"
export * as Lease from "./Lease.js"
export * as RunLoop from "./RunLoop.js"
export * as RunStore from "./RunStore.js"
export * as Scheduler from "./Scheduler.js"
export * as Supervisor from "./Supervisor.js"
export * as TaskOutcome from "./TaskOutcome.js"
export * as Timetable from "./Timetable.js"
