/**
 * pandaflow: typed streaming pipelines on Redpanda, built on Effect.
 *
 * A pipeline is a `Topic`, an optional `Source`, a transform and `RowSink`s; `Pipeline`
 * runs its jobs, `IngestJob` schedules its ingest, and the scheduler modules run DAGs.
 * Implementations of the services live in "pandaflow/layers"; the test driver in
 * "pandaflow/testing".
 *
 * @since 0.1.0
 */
export * as Broker from "./Broker.js"
export * as CommitWatermark from "./CommitWatermark.js"
export * as DeadLetter from "./DeadLetter.js"
export * as Delivery from "./Delivery.js"
export * as IngestJob from "./IngestJob.js"
export * as Pipeline from "./Pipeline.js"
export * as Progress from "./Progress.js"
export * as RowSink from "./RowSink.js"
export * from "./scheduler/index.js"
export * as Source from "./Source.js"
export * as TableSchema from "./TableSchema.js"
export * as Topic from "./Topic.js"
export * as Cli from "./cli/Cli.js"
export * as Module from "./cli/Module.js"
