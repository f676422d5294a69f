/**
 * How the Cassandra sink groups a write's inserts into unlogged batches: rows whose
 * partitions live on the same replicas, at most `rows` a batch and about `bytes` of
 * values. An unlogged batch of partitions one replica set owns costs that coordinator
 * one request instead of one a row, and no forwarding (measured on the local node,
 * 50,000 rows: 32-row batches, 16 in flight, ~25,500 rows/s and 23 µs of Node CPU a row;
 * single prepared inserts, 64 in flight, ~16,000 rows/s and 35 µs). Rows of different
 * replica sets are never batched together: that batch would make its coordinator forward
 * each mutation, the reason Cassandra warns about multi-partition batches.
 *
 * The routing key is the partition key serialised as Cassandra hashes it (one component:
 * its bytes; several: each as a 2-byte length, the bytes and a 0 byte), so
 * `metadata.getReplicas` finds the row's replicas without a round trip.
 *
 * @since 0.4.0
 */
import cassandra from "cassandra-driver"

/** One statement's bound values, in the table's column order. */
export type Params = ReadonlyArray<unknown>

/** Limits of one batch. */
export interface Limits {
  /** Rows a batch at most (1: one insert a statement). */
  readonly rows: number
  /**
   * Bytes of values a batch at most; a row larger alone is a batch of one. Cassandra
   * refuses a multi-row batch past `batch_size_fail_threshold` (50 KiB by default).
   */
  readonly bytes: number
}

/** The bytes of one value as sent (close enough to weigh a batch against the server's threshold). */
export const sizeOf = (value: unknown): number => {
  if (value === null || value === undefined) return 0
  if (typeof value === "string") return Buffer.byteLength(value, "utf8")
  if (typeof value === "boolean") return 1
  return 8
}

/**
 * Splits rows into batches: grouped by `replicasOf` (rows with the same answer may share
 * a batch; `undefined` groups everything together), then cut at `limits`. Rows keep
 * their order within a group; the groups come in the order their first row appears.
 */
export const group = (
  params: ReadonlyArray<Params>,
  replicasOf: ((row: Params) => string) | undefined,
  limits: Limits
): ReadonlyArray<ReadonlyArray<Params>> => {
  const open = new Map<string, { rows: Array<Params>; bytes: number }>()
  const out: Array<Array<Params>> = []
  for (const row of params) {
    const replicas = replicasOf === undefined ? "" : replicasOf(row)
    let bytes = 0
    for (const value of row) bytes += sizeOf(value)
    let batch = open.get(replicas)
    if (batch !== undefined && (batch.rows.length >= limits.rows || batch.bytes + bytes > limits.bytes)) batch = undefined
    if (batch === undefined) {
      batch = { rows: [], bytes: 0 }
      out.push(batch.rows)
      open.set(replicas, batch)
    }
    batch.rows.push(row)
    batch.bytes += bytes
  }
  return out
}

/** A partition key component's bytes for a CQL type, or `undefined` for a type not handled here. */
export const serialise = (cqlType: string, value: unknown): Buffer | undefined => {
  switch (cqlType) {
    case "text":
    case "varchar":
    case "ascii":
      return typeof value === "string" ? Buffer.from(value, "utf8") : undefined
    case "uuid":
      return typeof value === "string" ? cassandra.types.Uuid.fromString(value).getBuffer() : undefined
    case "bigint":
    case "timestamp": {
      const n = value instanceof Date ? value.getTime() : value
      if (typeof n !== "number" || !Number.isInteger(n)) return undefined
      const b = Buffer.alloc(8)
      b.writeBigInt64BE(BigInt(n))
      return b
    }
    case "int": {
      if (typeof value !== "number" || !Number.isInteger(value)) return undefined
      const b = Buffer.alloc(4)
      b.writeInt32BE(value)
      return b
    }
    case "double": {
      if (typeof value !== "number") return undefined
      const b = Buffer.alloc(8)
      b.writeDoubleBE(value)
      return b
    }
    case "boolean":
      return typeof value === "boolean" ? Buffer.from([value ? 1 : 0]) : undefined
    default:
      return undefined
  }
}

/** The routing key of a partition key's components, as Cassandra hashes it; `undefined` if a component cannot be serialised. */
export const routingKey = (components: ReadonlyArray<Buffer | undefined>): Buffer | undefined => {
  if (components.length === 1) return components[0]
  const parts: Array<Buffer> = []
  for (const c of components) {
    if (c === undefined) return undefined
    const length = Buffer.alloc(2)
    length.writeUInt16BE(c.length)
    parts.push(length, c, Buffer.from([0]))
  }
  return Buffer.concat(parts)
}
