/**
 * The consume job as a separate OS process, so the reliability tests can SIGKILL and
 * SIGTERM it: `Pipeline.consume` of the reference pipeline (examples/randomuser) on the
 * real broker with its Postgres and Cassandra sinks, the services wired by
 * `layers/Live.ts` exactly as `pnpm start` wires them.
 *
 * Everything it needs comes from the environment (the parent sets it per scenario, so
 * scenarios never share a topic, group, table or keyspace):
 *   PANDAFLOW_BROKERS, PANDAFLOW_PG_URL, PANDAFLOW_CASSANDRA_CONTACT_POINTS  the services
 *   WORKER_TOPIC, WORKER_GROUP, WORKER_DLQ          what to consume, as whom, where bad records go
 *   WORKER_PG_TABLE, WORKER_CASSANDRA_KEYSPACE, WORKER_CASSANDRA_TABLE
 *   WORKER_UNTIL_DRAINED=1   stop (exit 0) once the group has committed the whole topic
 *   WORKER_THROTTLE_MS       sleep before every sink write: makes batches slow to write
 *   WORKER_FETCH_BYTES       kafkajs maxBytesPerPartition: the batch size (default 256 KiB)
 *   WORKER_STANDBY=1         connect, say `ready`, then join the group only when a line
 *                            arrives on stdin: the next life starts up while this one works
 *
 * The consume job restarts its consumer with backoff when the broker fails it
 * (`Pipeline.defaultBrokerRetry`, as under `pnpm start`): a broker restart breaks the
 * consumer's connections, its commit fails, and kafkajs gives up the group. A restart
 * rejoins and gets the uncommitted batches again; sinks upsert them.
 *
 * It prints one JSON line per event on stdout (`ready`, `received`, `committed`, `restart`), which
 * the parent reads to time its kills and to count redeliveries. Pipes are synchronous on
 * Linux, so a line written before a SIGKILL is never lost. SIGTERM interrupts the job
 * (NodeRuntime.runMain), finalizers release the consumer, and the exit code is 0.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer, Predicate, Schedule, Stream } from "effect"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import * as Live from "../../layers/Live.js"
import { Broker } from "../../src/Broker.js"
import * as Pipeline from "../../src/Pipeline.js"
import * as RowSink from "../../src/RowSink.js"

const settings = Config.all({
  topic: Config.string("WORKER_TOPIC"),
  groupId: Config.string("WORKER_GROUP"),
  deadLetterTopic: Config.string("WORKER_DLQ"),
  postgresTable: Config.string("WORKER_PG_TABLE"),
  cassandraKeyspace: Config.string("WORKER_CASSANDRA_KEYSPACE"),
  cassandraTable: Config.string("WORKER_CASSANDRA_TABLE"),
  untilDrained: Config.boolean("WORKER_UNTIL_DRAINED").pipe(Config.withDefault(false)),
  throttleMillis: Config.integer("WORKER_THROTTLE_MS").pipe(Config.withDefault(0)),
  fetchBytes: Config.integer("WORKER_FETCH_BYTES").pipe(Config.withDefault(256 * 1024)),
  standby: Config.boolean("WORKER_STANDBY").pipe(Config.withDefault(false))
})

export type WorkerEvent =
  | { readonly event: "ready"; readonly pid: number }
  | { readonly event: "received"; readonly partition: number; readonly records: number }
  | { readonly event: "committed"; readonly partition: number; readonly records: number; readonly next: string }
  | { readonly event: "restart"; readonly reason: string }

/**
 * Resolves at the first line (or end) of stdin. Stdin is destroyed afterwards: a readable
 * stdin keeps the event loop alive, and the process would not exit when the job ends.
 */
const goSignal = Effect.async<void>((resume) => {
  const done = () => {
    process.stdin.off("data", done).off("end", done).destroy()
    resume(Effect.void)
  }
  process.stdin.once("data", done).once("end", done)
  return Effect.sync(() => process.stdin.off("data", done).off("end", done).destroy())
})

const emit = (e: WorkerEvent) => Effect.sync(() => process.stdout.write(`${JSON.stringify(e)}\n`))

/** Reports every batch handed out and every commit that returned; changes nothing else. */
const reportingBroker = Layer.effect(
  Broker,
  Effect.map(Broker, (broker) => ({
    ...broker,
    consume: (options) =>
      broker.consume(options).pipe(
        Stream.tap((batch) => emit({ event: "received", partition: batch.partition, records: batch.records.length })),
        Stream.map((batch) => ({
          ...batch,
          commit: Effect.tap(batch.commit, () =>
            emit({
              event: "committed",
              partition: batch.partition,
              records: batch.records.length,
              next: String(BigInt(batch.records[batch.records.length - 1]!.offset) + 1n)
            }))
        }))
      )
  }))
)

/** Sleeps before each write, so a SIGTERM reliably lands while a batch is being written. */
const throttled = <A, E, R>(millis: number, definition: RowSink.Definition<A, E, R>): RowSink.Definition<A, E, R> =>
  millis <= 0 ? definition : {
    ...definition,
    build: Effect.map(definition.build, (sink) =>
      RowSink.isOff(sink) ? sink : { ...sink, write: (rows) => Effect.zipRight(Effect.sleep(millis), sink.write(rows)) })
  }

/** A broker failure, which the job restarts its consumer after. */
const isBrokerError = (e: unknown) => Predicate.isTagged(e, "BrokerError")

const program = Effect.gen(function*() {
  const s = yield* settings
  const mode = yield* Live.Mode
  const live: Live.LiveOptions = {
    // 6 s is the broker's minimum session: after a SIGKILL the group waits this long for
    // the dead member before the next worker gets its partitions.
    broker: { sessionTimeout: "6 seconds", heartbeatInterval: "1 second", maxBytesPerPartition: s.fetchBytes, logLevel: "error" }
  }
  const reference = RandomUserPipeline.make({ postgres: s.postgresTable, cassandraKeyspace: s.cassandraKeyspace, cassandra: s.cassandraTable })
  const pipeline = Pipeline.withSinks(reference, reference.sinks.map((d) => throttled(s.throttleMillis, d)))
  const options: Pipeline.ConsumeOptions = {
    topic: s.topic,
    groupId: s.groupId,
    deadLetterTopic: s.deadLetterTopic,
    // The job's own restart policy, reporting each restart; a sink that stays unavailable
    // past the error policy's budget, or a poison record, still ends the job.
    brokerRetry: Schedule.tapInput(Pipeline.defaultBrokerRetry, (e: unknown) =>
      isBrokerError(e) ? emit({ event: "restart", reason: Predicate.hasProperty(e, "message") ? String(e.message) : "" }) : Effect.void)
  }
  const job = s.untilDrained ? Pipeline.drain(pipeline, options) : Pipeline.consume(pipeline, options)
  // The services as `Live.layer` wires them, with the broker reporting; no source (this
  // job only consumes).
  const layers = Layer.mergeAll(
    Layer.provide(reportingBroker, Live.brokerLayer(mode, live)),
    Live.postgresLayer(mode),
    Live.cassandraLayer(mode)
  )
  yield* emit({ event: "ready", pid: process.pid }).pipe(
    Effect.zipRight(s.standby ? goSignal : Effect.void),
    Effect.zipRight(job),
    Effect.provide(layers)
  )
})

program.pipe(
  Effect.tapErrorCause((cause) => Effect.logError("worker failed", cause)),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
