/**
 * The implementations of pandaflow's services: live ones and in-memory doubles.
 * Import the framework from "pandaflow" and these from "pandaflow/layers".
 *
 * @since 0.1.0
 */
export * as CassandraClient from "./CassandraClient.js"
export * as CassandraSink from "./CassandraSink.js"
export * as EmbeddedPostgres from "./EmbeddedPostgres.js"
export * as FakeUsers from "./FakeUsers.js"
export * as KafkaBroker from "./KafkaBroker.js"
export * as Live from "./Live.js"
export * as MemoryBroker from "./MemoryBroker.js"
export * as MemoryRunStore from "./MemoryRunStore.js"
export * as MemorySink from "./MemorySink.js"
export * as MemoryUserSource from "./MemoryUserSource.js"
export * as Murmur2 from "./Murmur2.js"
export * as PostgresClient from "./PostgresClient.js"
export * as PostgresRunStore from "./PostgresRunStore.js"
export * as PostgresSink from "./PostgresSink.js"
export * as RandomUser from "./RandomUser.js"
export * as Redact from "./Redact.js"
export * as RandomUserEmulator from "./RandomUserEmulator.js"
export * as RandomUserSource from "./RandomUserSource.js"
export * as Settings from "./Settings.js"
export * as UserSource from "./UserSource.js"
