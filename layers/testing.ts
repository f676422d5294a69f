/**
 * `pandaflow/testing`: run a pipeline on the in-memory doubles under TestClock, feed it
 * records, read its sinks and dead letters, inject sink and broker faults.
 *
 * @since 0.2.0
 */
export * as MemoryBroker from "./MemoryBroker.js"
export * as MemorySink from "./MemorySink.js"
export * as TestDriver from "./TestDriver.js"
