/**
 * A pipeline is a value: a topic, an optional source that feeds it, a typed transform and
 * the sinks every batch is written to before its commit. It runs only when given its
 * Layers, so the same value runs under `pandaflow run`, inside a host's Effect program
 * and in the test driver (`pandaflow/testing`).
 *
 *   ingest:  Source ──(keyed by the topic's key)──▶ topic               (Ingest.ts)
 *   consume: topic ──decode──▶ transform ──▶ every sink ──▶ commit      (Consume.ts, Delivery.ts)
 *                      └─ bad record, failed transform, refused row ──▶ dead-letter topic
 *
 * @since 0.2.0
 */
import { Data, Effect, Either, Predicate, type Schema, type Scope } from "effect"
import { Broker, type BrokerError, type ConsumedRecord, type ProducerRecord } from "./Broker.js"
import * as Delivery from "./Delivery.js"
import type * as RowSink from "./RowSink.js"
import type * as Source from "./Source.js"
import * as Topic from "./Topic.js"

/** Marks pipeline values, so `pandaflow run` can tell a pipeline from other exports. */
export const TypeId: unique symbol = Symbol.for("pandaflow/Pipeline")

/**
 * A pipeline from values `W` on its topic to rows `B` in its sinks. The other parameters
 * say what its parts need: the source's errors and services (`ESource`, `RSource`, for the
 * ingest job), the transform's services (`RTransform`; its failures are dead letters, not
 * errors) and the sinks' set-up errors and services (`ESink`, `RSink`), so swapping the
 * sinks (`withSinks`, the test driver) swaps what the consume job needs.
 */
export interface Pipeline<
  in out W,
  in out B,
  out ESource = never,
  out RSource = never,
  out RTransform = never,
  out ESink = never,
  out RSink = never
> {
  readonly [TypeId]: typeof TypeId
  readonly name: string
  /** The consumer group the consume job joins unless told otherwise (default `<name>-process`). */
  readonly group: string
  /** The input topic: name, partitions, dead-letter companion. */
  readonly topic: { readonly name: string; readonly partitions: number; readonly deadLetter: string }
  /** How a value becomes a record of the topic. */
  readonly encode: (value: W, headers?: Readonly<Record<string, string>>) => ProducerRecord
  readonly source: Source.Source<W, ESource, RSource> | undefined
  /** Decode and transform of one record (see `Delivery.Handled`). */
  readonly handle: (record: ConsumedRecord) => Delivery.Handled<B, unknown, RTransform>
  readonly sinks: ReadonlyArray<RowSink.Definition<B, ESink, RSink>>
}

/**
 * The rows every sink of a list accepts: the intersection of their row types (a row with
 * the columns of every table). It is what the transform must produce.
 */
export type RowsOf<Sinks extends ReadonlyArray<unknown>> = Sinks extends readonly [] ? unknown
  : (Sinks[number] extends infer D ? D extends RowSink.Definition<infer A, infer _E, infer _R> ? (row: A) => void : never : never) extends
    (row: infer I) => void ? I
  : never

/** Errors of a sink definition. */
type SinkErrorOf<D> = D extends RowSink.Definition<infer _A, infer E, infer _R> ? E : never
/** Services a sink definition needs. */
type SinkContextOf<D> = D extends RowSink.Definition<infer _A, infer _E, infer R> ? Exclude<R, Scope.Scope> : never

/** What `make` takes. */
export interface Options<W, WI, A, AI, ET, RT, EIn, RIn, Sinks extends ReadonlyArray<unknown>> {
  /** Names the pipeline in logs, progress lines and the scheduler. */
  readonly name: string
  /** The consume job's consumer group (default `<name>-process`): two pipelines never share one by accident. */
  readonly group?: string | undefined
  readonly input: Topic.Topic<W, WI>
  /** Reads the topic with this schema instead of the topic's (the fields the transform needs). */
  readonly reader?: Schema.Schema<A, AI> | undefined
  /** Where the ingest job reads values from; a pipeline may consume a topic others feed. */
  readonly source?: Source.Source<W, EIn, RIn> | undefined
  /**
   * Rows for one value: none (a filter), one, or several (fan-out); an Effect for work that
   * needs services. A failure or a throw dead-letters the record with its message.
   */
  readonly transform: (
    value: A,
    record: ConsumedRecord
  ) => ReadonlyArray<RowsOf<Sinks>> | Effect.Effect<ReadonlyArray<RowsOf<Sinks>>, ET, RT>
  /** Every sink a batch is written to before its commit; the transform's rows must suit each. */
  readonly sinks: Sinks
}

/** A pipeline definition that cannot run; the message names the pipeline and the problem. */
export class InvalidPipeline extends Data.TaggedError("InvalidPipeline")<{ readonly message: string }> {}

/**
 * Defines a pipeline. Nothing runs until one of its jobs is given its Layers. Throws
 * `InvalidPipeline` when two sinks share a name (progress, dead-letter reasons and the
 * test driver tell sinks apart by name: give one a `sinkName`).
 */
export const make = <
  W,
  WI,
  const Sinks extends ReadonlyArray<RowSink.Definition<never, unknown, unknown>>,
  A = W,
  AI = WI,
  ET = never,
  RT = never,
  EIn = never,
  RIn = never
>(
  options: Options<W, WI, A, AI, ET, RT, EIn, RIn, Sinks>
): Pipeline<W, RowsOf<Sinks>, EIn, RIn, RT, SinkErrorOf<Sinks[number]>, SinkContextOf<Sinks[number]>> => {
  type B = RowsOf<Sinks>
  const names = (options.sinks as ReadonlyArray<{ readonly name: string }>).map((d) => d.name)
  const twice = names.find((n, i) => names.indexOf(n) !== i)
  if (twice !== undefined) {
    throw new InvalidPipeline({ message: `pipeline ${options.name}: two sinks are named ${twice}; give one a sinkName` })
  }
  const decode = Topic.decoder((options.reader ?? options.input.schema) as Schema.Schema<A, unknown>)
  const transform = options.transform
  const handle = (record: ConsumedRecord): Delivery.Handled<B, ET, RT> => {
    const value = decode(record)
    return Either.isLeft(value) ? new Delivery.Refusal({ stage: "decode", message: value.left }) : transform(value.right, record)
  }
  return {
    [TypeId]: TypeId,
    name: options.name,
    group: options.group ?? `${options.name}-process`,
    topic: { name: options.input.name, partitions: options.input.partitions, deadLetter: options.input.deadLetter },
    encode: Topic.encoder(options.input),
    source: options.source,
    handle,
    sinks: options.sinks as unknown as ReadonlyArray<RowSink.Definition<B, SinkErrorOf<Sinks[number]>, SinkContextOf<Sinks[number]>>>
  }
}

/** The same pipeline writing to other sinks: test doubles, or an embedding program's own. */
export const withSinks = <W, B, ESource, RSource, RTransform, ESink, RSink, E2 = never, R2 = never>(
  pipeline: Pipeline<W, B, ESource, RSource, RTransform, ESink, RSink>,
  sinks: ReadonlyArray<RowSink.Definition<B, E2, R2>>
): Pipeline<W, B, ESource, RSource, RTransform, E2, Exclude<R2, Scope.Scope>> => ({
  ...pipeline,
  sinks: sinks as ReadonlyArray<RowSink.Definition<B, E2, Exclude<R2, Scope.Scope>>>
})

/** A pipeline of unknown types: what `pandaflow run` loads from a user's module. */
export type Any = Pipeline<unknown, unknown, unknown, unknown, unknown, unknown, unknown>

/** Whether a value (a module's export) is a pipeline. */
export const isPipeline = (u: unknown): u is Any => Predicate.hasProperty(u, TypeId)

/** Options of `setup`. */
export interface SetupOptions {
  /** Partitions of the topics (default: the topic's). */
  readonly partitions?: number | undefined
  /** Creates these instead of the pipeline's topics (tests give each run its own). */
  readonly topic?: string | undefined
  readonly deadLetterTopic?: string | undefined
}

/** Creates the input and dead-letter topics if they are missing. */
export const setup = (
  pipeline: { readonly topic: Pipeline<never, never>["topic"] },
  options: SetupOptions = {}
): Effect.Effect<void, BrokerError, Broker> =>
  Effect.flatMap(Broker, (broker) => {
    const partitions = options.partitions ?? pipeline.topic.partitions
    return Effect.all([
      broker.createTopic({ name: options.topic ?? pipeline.topic.name, partitions }),
      broker.createTopic({ name: options.deadLetterTopic ?? pipeline.topic.deadLetter, partitions })
    ], { discard: true })
  })

// The ingest job (source → topic, every record accounted for) is its own module.
export { ingest, type IngestOptions, type IngestSummary } from "./Ingest.js"

// The consume job (topic → decode → transform → every sink → commit) and its drain are
// their own module, as the ingest job is.
export {
  consume,
  type ConsumeError,
  type ConsumeOptions,
  defaultBrokerRetry,
  drain,
  drainAfter,
  type DrainOptions
} from "./Consume.js"
