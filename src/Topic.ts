/**
 * A topic: its name, the Schema of its values (JSON on the wire), the key function that
 * picks the partition, its partition count and its dead-letter companion.
 *
 * A topic is a public interface other producers write to, so a consumer checks every
 * record against the schema again; a record that fails goes to the dead-letter topic with
 * the reason. A pipeline may read a topic with a narrower schema than the writer's (its
 * `reader`): it checks only the fields it uses, and producers may add fields.
 *
 * @since 0.2.0
 */
import { Data, Either, ParseResult, Schema, SchemaAST } from "effect"
import type { ConsumedRecord, ProducerRecord } from "./Broker.js"
import * as SchemaCheck from "./SchemaCheck.js"

/** A topic of values of type `A`, encoded as `I` (then JSON) on the wire. */
export interface Topic<A, I = unknown> {
  readonly name: string
  readonly schema: Schema.Schema<A, I>
  /** The record key: the same key always lands on the same partition, so its order holds. */
  readonly key: (value: A) => string
  /** Partitions when pandaflow creates the topic (default 3). */
  readonly partitions: number
  /** Where records that fail their schema, transform or sink go (default: the name without a trailing `.vN`, plus `.dlq`: `orders.raw.v1` → `orders.raw.dlq`). */
  readonly deadLetter: string
  /** Headers every produced record carries, e.g. the schema's name and version. */
  readonly headers: Readonly<Record<string, string>>
}

/** What `make` takes; everything but name, schema and key has a default. */
export interface Options<A, I> {
  readonly name: string
  readonly schema: Schema.Schema<A, I>
  readonly key: (value: A) => string
  readonly partitions?: number | undefined
  readonly deadLetter?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/** A topic definition that Kafka would refuse; the message names the topic. */
export class InvalidTopic extends Data.TaggedError("InvalidTopic")<{ readonly message: string }> {}

const topicName = /^[a-zA-Z0-9._-]{1,249}$/

/** Describes a topic. Names follow Kafka's rules (letters, digits, `.`, `_`, `-`). */
export const make = <A, I>(options: Options<A, I>): Topic<A, I> => {
  const deadLetter = options.deadLetter ?? `${options.name.replace(/\.v\d+$/, "")}.dlq`
  for (const name of [options.name, deadLetter]) {
    if (!topicName.test(name)) throw new InvalidTopic({ message: `topic name ${JSON.stringify(name)} is not a valid Kafka topic name` })
  }
  const partitions = options.partitions ?? 3
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new InvalidTopic({ message: `topic ${options.name}: partitions must be a positive integer, got ${partitions}` })
  }
  return { name: options.name, schema: options.schema, key: options.key, partitions, deadLetter, headers: options.headers ?? {} }
}

/** The record that carries `value` on the topic, keyed by the topic's key function. */
export const encoder = <A, I>(topic: Topic<A, I>): (value: A, headers?: Readonly<Record<string, string>>) => ProducerRecord => {
  const encode = Schema.encodeSync(topic.schema)
  return (value, headers) => ({
    key: topic.key(value),
    value: JSON.stringify(encode(value)),
    headers: headers === undefined ? topic.headers : { ...topic.headers, ...headers }
  })
}

/** Why a consumed record is not a valid value of its topic. */
export type DecodeResult<A> = Either.Either<A, string>

/**
 * The decoder of consumed records: JSON, then the schema. A schema without
 * transformations is only checked (no copy), which is the hot path, with `Schema.is`
 * compiled to plain checks (`SchemaCheck`) where it can be; the full decode runs to
 * explain a failure, or always when the schema transforms values.
 */
export const decoder = <A, I>(schema: Schema.Schema<A, I>): (record: ConsumedRecord) => DecodeResult<A> => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "first" })
  const explain = (e: ParseResult.ParseError) => ParseResult.TreeFormatter.formatErrorSync(e)
  const checkOnly = SchemaAST.typeAST(schema.ast) === schema.ast
  const compiled = checkOnly ? SchemaCheck.compile(schema.ast) : undefined
  const is: (u: unknown) => u is A = compiled === undefined ? Schema.is(schema) : (u): u is A => compiled(u)
  return (record) => {
    if (record.value === null) return Either.left("empty value (tombstone)")
    let json: unknown
    try {
      json = JSON.parse(record.value)
    } catch (e) {
      return Either.left(`invalid JSON: ${e instanceof Error ? e.message : String(e)}`)
    }
    if (checkOnly && is(json)) return Either.right(json)
    return Either.mapLeft(decode(json), explain)
  }
}
