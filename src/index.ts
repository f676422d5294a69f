/**
 * pandaflow: typed streaming pipelines on Redpanda, built on Effect.
 *
 * @since 0.1.0
 */
export * as Broker from "./Broker.js"
export * as Pipeline from "./Pipeline.js"
export * as Progress from "./Progress.js"
export * as RandomUser from "./RandomUser.js"
export * as Sink from "./Sink.js"
export * as UserRecord from "./UserRecord.js"
export * as UserRow from "./UserRow.js"
export * as UserSource from "./UserSource.js"
