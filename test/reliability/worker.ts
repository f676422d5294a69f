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
 *   WORKER_ROW_DELAY_US      microseconds of sleep per row before every sink write: a sink
 *                            slower than the broker by a chosen factor (the memory soak)
 *   WORKER_STANDBY=1         connect, say `ready`, then join the group only when a line
 *                            arrives on stdin: the next life starts up while this one works
 *   WORKER_KILL_AT=N:phase   SIGKILL itself the moment its count of `phase` reaches N
 *                            (test/support/killPoints.ts): kill points chosen by record counts, not by
 *                            wall-clock timing, so a seed replays the same kill points
 *
 * The consume job restarts its consumer with backoff when the broker fails it
 * (`Pipeline.defaultBrokerRetry`, as under `pnpm start`): a broker restart breaks the
 * consumer's connections, its commit fails, and kafkajs gives up the group. A restart
 * rejoins and gets the uncommitted batches again; sinks upsert them.
 *
 * It prints one JSON line per event on stdout (`ready`, `received`, `written`, `committed`,
 * `kill`), which the parent reads to follow each life and to count redeliveries. Pipes are synchronous on
 * Linux, so a line written before a SIGKILL is never lost. SIGTERM interrupts the job
 * (NodeRuntime.runMain), finalizers release the consumer, and the exit code is 0.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer, Stream } from "effect"
import * as RandomUserPipeline from "../../examples/randomuser/pipeline.js"
import * as Live from "../../layers/Live.js"
import { type Batch, Broker, type BrokerError, type ProducerRecord } from "../../src/Broker.js"
import * as Pipeline from "../../src/Pipeline.js"
import * as RowSink from "../../src/RowSink.js"
import { formatKillPoint, type KillPhase, type KillPoint, parseKillPoint } from "../support/killPoints.js"

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
  rowDelayMicros: Config.integer("WORKER_ROW_DELAY_US").pipe(Config.withDefault(0)),
  standby: Config.boolean("WORKER_STANDBY").pipe(Config.withDefault(false)),
  killAt: Config.string("WORKER_KILL_AT").pipe(Config.withDefault(""))
})


export type WorkerEvent =
  | { readonly event: "ready"; readonly pid: number }
  | { readonly event: "received"; readonly partition: number; readonly records: number }
  | { readonly event: "written"; readonly sink: string; readonly rows: number }
  | { readonly event: "committed"; readonly partition: number; readonly records: number; readonly next: string }
  | { readonly event: "kill"; readonly at: string; readonly counts: Readonly<Record<string, number>> }

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

/**
 * This life's counts by phase. When the kill point's count is reached the process
 * SIGKILLs itself at once, synchronously, inside the step that reached it: nothing after
 * that step (the next sink, the commit) happens. The `kill` line is written first (pipes
 * are synchronous), so the parent knows where it died.
 */
const makeCounter = (killAt: KillPoint | undefined) => {
  const counts: Record<string, number> = {}
  return (phase: KillPhase, n: number) =>
    Effect.sync(() => {
      const before = counts[phase] ?? 0
      counts[phase] = before + n
      if (killAt !== undefined && killAt.phase === phase && before < killAt.count && before + n >= killAt.count) {
        process.stdout.write(`${JSON.stringify({ event: "kill", at: formatKillPoint(killAt), counts } satisfies WorkerEvent)}\n`)
        process.kill(process.pid, "SIGKILL")
      }
    })
}
type Count = ReturnType<typeof makeCounter>

/** `Batch.commitWith` (dead letters and offsets in one transaction), where the broker has it. */
type CommitWith = (topic: string, records: ReadonlyArray<ProducerRecord>) => Effect.Effect<void, BrokerError>

/**
 * Reports every batch handed out, every dead letter produced and every commit that
 * returned (plain or together with dead letters), and counts them for the kill point;
 * changes nothing else.
 */
const reportingBroker = (count: Count, deadLetterTopic: string) => Layer.effect(
  Broker,
  Effect.map(Broker, (broker) => ({
    ...broker,
    produce: (topic, records) =>
      Effect.tap(broker.produce(topic, records), () => topic === deadLetterTopic ? count("deadletter", records.length) : Effect.void),
    consume: (options) =>
      broker.consume(options).pipe(
        Stream.tap((batch) =>
          Effect.zipRight(emit({ event: "received", partition: batch.partition, records: batch.records.length }), count("received", batch.records.length))),
        Stream.map((batch) => {
          const committed = Effect.zipRight(
            emit({
              event: "committed",
              partition: batch.partition,
              records: batch.records.length,
              next: String(BigInt(batch.records[batch.records.length - 1]!.offset) + 1n)
            }),
            count("committed", batch.records.length)
          )
          const { commitWith } = batch as Batch & { readonly commitWith?: CommitWith }
          const withDeadLetters: { readonly commitWith?: CommitWith } = commitWith === undefined ? {} : {
            commitWith: (topic, records) =>
              Effect.tap(commitWith(topic, records), () =>
                Effect.zipRight(topic === deadLetterTopic ? count("deadletter", records.length) : Effect.void, committed))
          }
          return { ...batch, commit: Effect.tap(batch.commit, () => committed), ...withDeadLetters }
        })
      )
  }))
)

/**
 * Wraps a sink: sleeps before each write (`millis` a write plus `microsPerRow` a row: a
 * SIGTERM then lands while a batch is being written, or the sink is slower than the broker
 * by a known factor), and after each write that returned reports and counts its rows.
 */
const instrumented = <A, E, R>(
  definition: RowSink.Definition<A, E, R>,
  delay: { readonly millis: number; readonly microsPerRow: number },
  count: Count
): RowSink.Definition<A, E, R> => ({
  ...definition,
  build: Effect.map(definition.build, (sink) => {
    if (RowSink.isOff(sink)) return sink
    const phase = definition.name === "postgres" || definition.name === "cassandra" ? definition.name : undefined
    const pause = (rows: number) => delay.millis + (delay.microsPerRow * rows) / 1000
    return {
      ...sink,
      write: (rows) =>
        Effect.zipRight(
          pause(rows.length) > 0 ? Effect.sleep(pause(rows.length)) : Effect.void,
          Effect.tap(sink.write(rows), () =>
            Effect.zipRight(emit({ event: "written", sink: sink.name, rows: rows.length }), phase === undefined ? Effect.void : count(phase, rows.length)))
        )
    }
  })
})

const program = Effect.gen(function*() {
  const s = yield* settings
  const mode = yield* Live.Mode
  const live: Live.LiveOptions = {
    // 6 s is the broker's minimum session: after a SIGKILL the group waits this long for
    // the dead member before the next worker gets its partitions.
    broker: { sessionTimeout: "6 seconds", heartbeatInterval: "1 second", maxBytesPerPartition: s.fetchBytes, logLevel: "error" }
  }
  const reference = RandomUserPipeline.make({ postgres: s.postgresTable, cassandraKeyspace: s.cassandraKeyspace, cassandra: s.cassandraTable })
  const count = makeCounter(parseKillPoint(s.killAt))
  const delay = { millis: s.throttleMillis, microsPerRow: s.rowDelayMicros }
  const pipeline = Pipeline.withSinks(reference, reference.sinks.map((d) => instrumented(d, delay, count)))
  const options: Pipeline.ConsumeOptions = {
    topic: s.topic,
    groupId: s.groupId,
    deadLetterTopic: s.deadLetterTopic
  }
  const job = s.untilDrained ? Pipeline.drain(pipeline, options) : Pipeline.consume(pipeline, options)
  // The services as `Live.layer` wires them, with the broker reporting; no source (this
  // job only consumes).
  const layers = Layer.mergeAll(
    Layer.provide(reportingBroker(count, s.deadLetterTopic), Live.brokerLayer(mode, live)),
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
