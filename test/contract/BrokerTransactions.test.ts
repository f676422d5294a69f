/**
 * Runs the transactional-commit contract against the in-memory double and the real
 * broker, and aims a fault at the crash window of both: between a batch's dead-letter
 * send and its commit.
 */
import * as KafkaBroker from "../../layers/KafkaBroker.js"
import * as MemoryBroker from "../../layers/MemoryBroker.js"
import { requireEnv } from "../support/env.js"
import { brokerTransactionFaultContract, brokerTransactionsContract } from "./BrokerTransactions.contract.js"

const brokers = () => requireEnv("PANDAFLOW_BROKERS").split(",")

brokerTransactionsContract("MemoryBroker", () => MemoryBroker.layer())
brokerTransactionsContract("KafkaBroker (real broker)", () => KafkaBroker.layer({ brokers: brokers(), logLevel: "error" }))

brokerTransactionFaultContract("MemoryBroker", (fault) => MemoryBroker.layer({ afterTransactionSend: fault }), { abortedStayInLog: false })
brokerTransactionFaultContract(
  "KafkaBroker (real broker)",
  (fault) => KafkaBroker.layer({ brokers: brokers(), logLevel: "nothing", afterTransactionSend: fault }),
  { abortedStayInLog: true }
)
