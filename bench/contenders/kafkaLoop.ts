/**
 * The frame of the plain-Node contenders: a kafkajs consumer that hands each batch to a
 * handler, commits the batch's offset after the handler's write, and measures the window
 * (`Window`). What a careful engineer writes without a framework.
 */
import { type KafkaMessage, Kafka, logLevel } from "kafkajs"
import { type ChildArgs, type ChildFigures, Window } from "../child.js"

/** Options of one loop. */
export interface LoopOptions {
  readonly name: string
  /** Batches in flight across partitions (kafkajs `partitionsConsumedConcurrently`). */
  readonly concurrency: number
  readonly handle: (messages: ReadonlyArray<KafkaMessage>) => Promise<void>
}

/** Runs the loop until every record is committed; leaves the group; returns the figures. */
export const run = async (args: ChildArgs, options: LoopOptions): Promise<ChildFigures> => {
  const window = new Window(options.name, args.records, args.latency)
  const kafka = new Kafka({ clientId: "bench-loop", brokers: [...args.brokers], logLevel: logLevel.ERROR })
  const consumer = kafka.consumer({ groupId: args.group, maxBytesPerPartition: 4 * 1024 * 1024, maxBytes: 64 * 1024 * 1024 })
  await consumer.connect()
  await consumer.subscribe({ topics: [args.topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: options.concurrency,
    eachBatch: async ({ batch, resolveOffset }) => {
      window.consumed()
      if (batch.messages.length === 0) return
      await options.handle(batch.messages)
      const records = batch.messages.map((m) => ({ key: m.key?.toString() ?? null, timestamp: Number(m.timestamp) }))
      window.visible(records)
      const last = batch.messages[batch.messages.length - 1]!.offset
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(BigInt(last) + 1n) }])
      resolveOffset(last)
      window.committed(records)
    }
  })
  const figures = await window.done
  await consumer.disconnect()
  return figures
}
