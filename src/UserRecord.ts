/**
 * The record on the raw topic (`users.raw.v1`): key = `login.uuid`, value = the API user
 * as JSON. Decoding checks it again, because a topic is a public interface that other
 * producers can write to.
 *
 * @since 0.1.0
 */
import { Data, Either, ParseResult, Schema } from "effect"
import type { ConsumedRecord, ProducerRecord } from "./Broker.js"
import { User } from "./RandomUser.js"
import { fromUser, UserFields, type UserRow } from "./UserRow.js"

/** The topic names of the reference pipeline. */
export const Topics = {
  raw: "users.raw.v1",
  deadLetter: "users.dlq.v1"
} as const

const encodeUser = Schema.encodeSync(User)
// `is` checks without building a copy; the full decode runs only to explain a failure.
const isUserFields = Schema.is(UserFields)
const explainUserFields = Schema.decodeUnknownEither(UserFields)

/** A raw-topic record for one user, keyed deterministically by `login.uuid`. */
export const toProducerRecord = (user: User, source: string): ProducerRecord => ({
  key: user.login.uuid,
  value: JSON.stringify(encodeUser(user)),
  headers: { "pandaflow-source": source, "pandaflow-schema": "randomuser/1.4" }
})

/** A consumed record that is not a valid user; it goes to the dead-letter topic. */
export class DecodeFailure extends Data.TaggedError("DecodeFailure")<{
  readonly record: ConsumedRecord
  readonly message: string
}> {}

/** Decodes one consumed record into a row, or says precisely why it cannot. */
export const decode = (record: ConsumedRecord): Either.Either<UserRow, DecodeFailure> => {
  if (record.value === null) {
    return Either.left(new DecodeFailure({ record, message: "empty value (tombstone)" }))
  }
  let json: unknown
  try {
    json = JSON.parse(record.value)
  } catch (e) {
    return Either.left(new DecodeFailure({ record, message: `invalid JSON: ${(e as Error).message}` }))
  }
  if (isUserFields(json)) return Either.right(fromUser(json))
  return Either.match(explainUserFields(json), {
    onLeft: (error) =>
      Either.left(new DecodeFailure({ record, message: ParseResult.TreeFormatter.formatErrorSync(error) })),
    onRight: (user) => Either.right(fromUser(user))
  })
}

/** The dead-letter record for a failure: same key, the original value, and why. */
export const toDeadLetter = (failure: DecodeFailure, attempt = 1): ProducerRecord => ({
  key: failure.record.key ?? "",
  value: JSON.stringify({
    error: failure.message,
    source: { topic: failure.record.topic, partition: failure.record.partition, offset: failure.record.offset },
    attempt,
    value: failure.record.value
  }),
  headers: {
    "pandaflow-error": failure.message.slice(0, 512),
    "pandaflow-source-topic": failure.record.topic,
    "pandaflow-source-partition": String(failure.record.partition),
    "pandaflow-source-offset": failure.record.offset
  }
})
