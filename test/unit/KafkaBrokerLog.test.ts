/**
 * kafkajs's own log entries go through Effect's logger: rebalance warnings stay warnings,
 * the connection noise a BrokerError reports anyway is debug, info is debug. Failures are
 * reduced to their innermost message.
 */
import { LogLevel } from "effect"
import { logLevel } from "kafkajs"
import { describe, expect, it } from "vitest"
import * as KafkaBroker from "../../layers/KafkaBroker.js"

describe("KafkaBroker logging", () => {
  it("maps kafkajs levels: warnings that explain a rebalance stay, connection noise is debug", () => {
    expect(KafkaBroker.effectLevel(logLevel.ERROR, "kafkajs [Runner] The group is rebalancing, re-joining")).toBe(LogLevel.Warning)
    expect(KafkaBroker.effectLevel(logLevel.WARN, "kafkajs [ConsumerGroup] Consumer group member left")).toBe(LogLevel.Warning)
    expect(KafkaBroker.effectLevel(logLevel.ERROR, "kafkajs [Connection] Connection error: connect ECONNREFUSED 127.0.0.1:1")).toBe(LogLevel.Debug)
    expect(KafkaBroker.effectLevel(logLevel.ERROR, "kafkajs [BrokerPool] Failed to connect to seed broker, trying another broker from the list")).toBe(LogLevel.Debug)
    expect(KafkaBroker.effectLevel(logLevel.ERROR, "kafkajs [Consumer] Crash: KafkaJSNumberOfRetriesExceeded")).toBe(LogLevel.Debug)
    expect(KafkaBroker.effectLevel(logLevel.INFO, "kafkajs [Consumer] Starting")).toBe(LogLevel.Debug)
  })

  it("rootMessage looks through kafkajs's retry wrappers", () => {
    const inner = Object.assign(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:1"), { name: "KafkaJSConnectionError" })
    const outer = Object.assign(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:1"), { name: "KafkaJSNumberOfRetriesExceeded", originalError: inner })
    expect(KafkaBroker.rootMessage(outer)).toBe("connect ECONNREFUSED 127.0.0.1:1")
    expect(KafkaBroker.rootMessage("plain")).toBe("plain")
  })
})
