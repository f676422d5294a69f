/**
 * Dead letters: a record the pipeline could not use goes to the dead-letter topic with
 * the reason, the stage that refused it and the coordinates of the original, so nothing
 * accepted is lost and a fixed pipeline can replay it.
 *
 * Value: `{ error, stage, source: { topic, partition, offset }, attempt, value }` (the
 * original value as a string). Headers repeat the reason and the coordinates
 * (`pandaflow-error`, `pandaflow-stage`, `pandaflow-source-topic|partition|offset`), so a
 * consumer can deduplicate on the coordinates without parsing the value.
 *
 * @since 0.2.0
 */
import type { ConsumedRecord, ProducerRecord } from "./Broker.js"

/** Where a record was refused: its schema, the transform, or a sink. */
export type Stage = "decode" | "transform" | "sink"

/** A dead letter as read back from the topic. */
export interface DeadLetter {
  readonly error: string
  readonly stage: Stage
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string }
  readonly attempt: number
  readonly value: string | null
}

/** The dead-letter record for `record`: same key, the original value, and why. */
export const make = (record: ConsumedRecord, stage: Stage, error: string, attempt = 1): ProducerRecord => ({
  key: record.key ?? "",
  value: JSON.stringify({
    error,
    stage,
    source: { topic: record.topic, partition: record.partition, offset: record.offset },
    attempt,
    value: record.value
  } satisfies DeadLetter),
  headers: {
    "pandaflow-error": error.slice(0, 512),
    "pandaflow-stage": stage,
    "pandaflow-source-topic": record.topic,
    "pandaflow-source-partition": String(record.partition),
    "pandaflow-source-offset": record.offset
  }
})

/** Parses a dead-letter record's value; `undefined` when it is not one. */
export const parse = (value: string | null): DeadLetter | undefined => {
  if (value === null) return undefined
  try {
    const parsed: unknown = JSON.parse(value)
    return typeof parsed === "object" && parsed !== null && "error" in parsed && "source" in parsed ? parsed as DeadLetter : undefined
  } catch {
    return undefined
  }
}
