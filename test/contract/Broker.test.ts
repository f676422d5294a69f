/** Runs the Broker contract against the in-memory double and the real broker. */
import * as KafkaBroker from "../../layers/KafkaBroker.js"
import * as MemoryBroker from "../../layers/MemoryBroker.js"
import { requireEnv } from "../support/env.js"
import { brokerContract } from "./Broker.contract.js"

brokerContract("MemoryBroker", () => MemoryBroker.layer())
brokerContract("KafkaBroker (real broker)", () =>
  KafkaBroker.layer({ brokers: requireEnv("PANDAFLOW_BROKERS").split(","), logLevel: "error" }))
