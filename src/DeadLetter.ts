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

/** Where a record was refused: at the source (before the topic), its schema, the transform, or a sink. */
export type Stage = "source" | "decode" | "transform" | "sink"

/** A dead letter as read back from the topic. */
export interface DeadLetter {
  readonly error: string
  readonly stage: Stage
  /** The consumed record's coordinates (stages decode, transform, sink). */
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string }
  /** Where a record refused at the source came from (stage source), e.g. `{ url, page, index }`. */
  readonly origin?: Readonly<Record<string, string>> | undefined
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

/**
 * The dead-letter record of a record a source received but could not use: it never
 * reached `topic`, so its coordinates are the source's (`origin`), with `pandaflow-origin-*`
 * headers; the value is what was received, JSON-encoded.
 */
export const fromSource = (
  topic: string,
  rejected: { readonly reason: string; readonly value: unknown; readonly key?: string | undefined; readonly origin: Readonly<Record<string, string>> }
): ProducerRecord => {
  const value = rejected.value === undefined ? null : JSON.stringify(rejected.value) ?? null
  const headers: Record<string, string> = { "pandaflow-error": rejected.reason.slice(0, 512), "pandaflow-stage": "source", "pandaflow-source-topic": topic }
  for (const [k, v] of Object.entries(rejected.origin)) headers[`pandaflow-origin-${k}`] = v
  return {
    key: rejected.key ?? "",
    value: JSON.stringify({
      error: rejected.reason,
      stage: "source",
      source: { topic, partition: -1, offset: "-1" },
      origin: rejected.origin,
      attempt: 1,
      value
    } satisfies DeadLetter),
    headers
  }
}

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
