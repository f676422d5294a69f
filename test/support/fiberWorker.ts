/**
 * A consume job inside the test's own process, as a fiber, for scenarios that need what
 * the worker process (test/reliability/worker.ts) does not take: broker options such as the
 * rebalance timeout, an error policy, and a sink that fails on demand for this worker
 * alone. Wired as worker.ts wires it (`Live.brokerLayer`, `Live.postgresLayer` of the
 * environment's mode), running the reference pipeline's Postgres sink only.
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import { Clock, Effect, Exit, Fiber, Layer } from "effect"
import type * as KafkaBroker from "../../layers/KafkaBroker.js"
import * as Live from "../../layers/Live.js"
import type * as Delivery from "../../src/Delivery.js"
import * as Pipeline from "../../src/Pipeline.js"
import * as RowSink from "../../src/RowSink.js"
import { SinkError } from "../../src/RowSink.js"
import { pipelineFor, type Scenario } from "../reliability/harness.js"

/** One write the switchable sink was asked for. */
export interface WriteAttempt {
  readonly ok: boolean
  /** The keys of the rows it carried. */
  readonly keys: ReadonlyArray<string>
  /** Epoch ms (Clock; live in these tests) when it ended. */
  readonly at: number
}

/** A sink whose outage the test switches on and off; it records every write attempt. */
export interface SwitchableSink<A, E, R> {
  readonly definition: RowSink.Definition<A, E, R>
  /** From now on every write fails `Unavailable`, as a sink whose server is gone. */
  readonly down: () => void
  readonly up: () => void
  readonly attempts: () => ReadonlyArray<WriteAttempt>
}

/** Wraps a sink definition with an outage switch (off at first) and a log of write attempts. */
export const switchable = <A, E, R>(definition: RowSink.Definition<A, E, R>): SwitchableSink<A, E, R> => {
  let isDown = false
  const attempts: Array<WriteAttempt> = []
  const wrapped: RowSink.Definition<A, E, R> = {
    ...definition,
    build: Effect.map(definition.build, (sink) => {
      if (RowSink.isOff(sink)) return sink
      const write = (rows: ReadonlyArray<A>) =>
        Effect.suspend(() =>
          isDown ? Effect.fail(new SinkError({ sink: sink.name, reason: "Unavailable", message: "outage (test switch)" })) : sink.write(rows)
        ).pipe(
          Effect.exit,
          Effect.flatMap((exit) =>
            Effect.zipRight(
              Effect.flatMap(Clock.currentTimeMillis, (at) =>
                Effect.sync(() => attempts.push({ ok: Exit.isSuccess(exit), keys: rows.map(sink.key), at }))),
              exit
            ))
        )
      return { ...sink, write }
    })
  }
  return { definition: wrapped, down: () => void (isDown = true), up: () => void (isDown = false), attempts: () => attempts }
}

/** What a fiber worker runs with. */
export interface FiberWorkerOptions {
  readonly errorPolicy: Delivery.ErrorPolicy
  /** Overrides of the live broker's options (rebalance and session timeouts, fetch size, …). */
  readonly broker: Partial<KafkaBroker.KafkaBrokerOptions>
}

/** A consume job running in this process. */
export interface FiberWorker {
  readonly sink: SwitchableSink<unknown, unknown, unknown>
  /** Whether the job has ended (failed, or stopped). */
  readonly done: () => boolean
  /** The job's end: how it ended. */
  readonly exit: Promise<Exit.Exit<void, unknown>>
  /** Interrupts the job (finalizers release its consumer) and waits for it. */
  readonly stop: () => Promise<void>
}

/**
 * The Postgres sink's definition as what it needs: its type says the union of what the
 * pipeline's sinks need (Cassandra's client too), its build asks for the SqlClient only.
 */
const onlySql = <A, E, R>(definition: RowSink.Definition<A, E, R>) => definition as RowSink.Definition<A, E, Extract<R, SqlClient>>

/** Starts `Pipeline.consume` of the reference pipeline's Postgres sink, wrapped by `switchable`, on the scenario. */
export const startFiberWorker = (scenario: Scenario, options: FiberWorkerOptions): FiberWorker => {
  const reference = pipelineFor(scenario.table)
  const postgres = reference.sinks.find((d) => d.name === "postgres")
  if (postgres === undefined) throw new Error("the reference pipeline has no postgres sink")
  const sink = switchable(onlySql(postgres))
  const pipeline = Pipeline.withSinks(reference, [sink.definition])
  const job = Effect.gen(function*() {
    const mode = yield* Live.Mode
    yield* Pipeline.consume(pipeline, {
      topic: scenario.topic,
      groupId: scenario.group,
      deadLetterTopic: scenario.dlq,
      errorPolicy: options.errorPolicy
    }).pipe(Effect.provide(Layer.mergeAll(Live.brokerLayer(mode, { broker: options.broker }), Live.postgresLayer(mode))))
  })
  const fiber = Effect.runFork(job)
  return {
    sink: sink as unknown as SwitchableSink<unknown, unknown, unknown>,
    done: () => fiber.unsafePoll() !== null,
    exit: Effect.runPromise(Fiber.await(fiber)),
    stop: () => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined)
  }
}
