/**
 * Ingest (issue 11, goal 5): the API → broker half, each run into a fresh topic.
 * - `ingest`: pandaflow's ingest job of the reference pipeline — the built-in randomuser
 *   emulator over HTTP on 127.0.0.1, every user checked on its own, encoded, de-duplicated
 *   and produced through KafkaBroker, 1,000 users a page;
 * - its ceilings, each the job with one half taken away: `ingest-source`, the same HTTP
 *   pages fetched, parsed and checked by the same source, nothing produced; and
 *   `ingest-produce`, the same users already encoded, sent with kafkajs 1,000 a request.
 * The window: from the first request (page or send) to the last acknowledgement.
 */
import { Effect, Layer, Stream } from "effect"
import { Kafka, logLevel, Partitioners } from "kafkajs"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import * as KafkaBroker from "../../layers/KafkaBroker.js"
import * as RandomUserEmulator from "../../layers/RandomUserEmulator.js"
import * as RandomUserSource from "../../layers/RandomUserSource.js"
import * as UserSource from "../../layers/UserSource.js"
import * as Pipeline from "../../src/Pipeline.js"
import { args, type ChildFigures } from "../child.js"
import { usersPage } from "../shared.js"

const pageSize = 1000

/** Times `work` (which returns how many records it handled) as a window. */
const windowed = async (name: string, work: () => Promise<number>): Promise<ChildFigures> => {
  const cpu = process.cpuUsage()
  const started = process.hrtime.bigint()
  const records = await work()
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const used = process.cpuUsage(cpu)
  return { name, records, seconds, recordsPerSecond: records / seconds, windowCpuSeconds: (used.user + used.system) / 1e6 }
}

/** The emulator and the source the CLI's embedded mode uses (Live.sourceLayer), built before the window. */
const sourceLayer = Layer.unwrapEffect(
  Effect.map(RandomUserEmulator.RandomUserEmulator, ({ url }) => RandomUserSource.layerNode({ baseUrl: url }))
).pipe(Layer.provide(RandomUserEmulator.layer()))

export const pandaflow = async (): Promise<ChildFigures> => {
  const a = args()
  const pipeline = RandomUserPipeline.make()
  const layer = Layer.mergeAll(sourceLayer, KafkaBroker.layer({ brokers: [...a.brokers], logLevel: "error" }))
  return Effect.runPromise(Effect.gen(function*() {
    const context = yield* Layer.build(layer)
    return yield* Effect.promise(() =>
      windowed("pandaflow ingest: emulator (HTTP) → check → Kafka", () =>
        Effect.runPromise(
          Pipeline.ingest(pipeline, { records: a.records, seed: "bench", pageSize, topic: a.topic, deadLetterTopic: `${a.topic}.dlq` }).pipe(
            Effect.map((summary) => summary.produced),
            Effect.provide(context)
          )
        ))
    )
  }).pipe(Effect.scoped))
}

export const source = async (): Promise<ChildFigures> => {
  const a = args()
  return Effect.runPromise(Effect.gen(function*() {
    const context = yield* Layer.build(sourceLayer)
    return yield* Effect.promise(() =>
      windowed("ceiling: the same source alone (HTTP pages fetched and checked)", () =>
        Effect.runPromise(
          UserSource.source.stream({ records: a.records, seed: "bench", pageSize }).pipe(
            Stream.runCount,
            Effect.provide(context)
          )
        ))
    )
  }).pipe(Effect.scoped))
}

export const produce = async (): Promise<ChildFigures> => {
  const a = args()
  const kafka = new Kafka({ clientId: "bench-produce", brokers: [...a.brokers], logLevel: logLevel.ERROR })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  const pages = Array.from({ length: Math.ceil(a.records / pageSize) }, (_, p) =>
    usersPage(p + 1, pageSize).slice(0, a.records - p * pageSize).map((u) => ({ key: u.login.uuid, value: JSON.stringify(u) })))
  const figures = await windowed("ceiling: kafkajs produce alone (encoded users, 1,000 a request)", async () => {
    let sent = 0
    for (const messages of pages) {
      await producer.send({ topic: a.topic, acks: -1, messages })
      sent += messages.length
    }
    return sent
  })
  await producer.disconnect()
  return figures
}
