/**
 * Per-partition commit watermarks: the offset up to which every record is done.
 *
 * Batches of one partition may finish out of order (a retry, a slow sink, a caller that
 * processes batches concurrently). Committing the later batch's end would skip the
 * earlier one, which a crash would then lose. The watermark holds a completion back
 * until every offset before it is done, and only then moves.
 *
 * @since 0.1.0
 */

/** The state of one partition: where the watermark is, and completed ranges above it. */
interface PartitionState {
  /** Every offset below this is done: the offset to commit. */
  watermark: bigint
  /** Completed ranges [from, to) that start above the watermark, keyed by `from`. */
  readonly ahead: Map<bigint, bigint>
}

/** Mutable, single-owner tracker; wrap it in a Ref or use it from one fiber. */
export interface CommitWatermark {
  /**
   * Records that offsets [from, to) are done. Returns the new watermark when it moved
   * (the offset to commit), or `undefined` when the range is held back behind a gap.
   */
  readonly complete: (partition: number, from: bigint, to: bigint) => bigint | undefined
  /** The current watermark of a partition, if any range of it completed or was seeded. */
  readonly get: (partition: number) => bigint | undefined
  /** Ranges held back behind a gap, per partition: how far completions ran ahead. */
  readonly heldBack: (partition: number) => number
  /** Starts (or restarts, after a rebalance) a partition at its committed offset. */
  readonly reset: (partition: number, committed: bigint) => void
  /** Forgets every partition: after a rebalance each starts again at its next range. */
  readonly clear: () => void
}

/** A new tracker; a partition starts at the first range it sees unless `reset` seeded it. */
export const make = (): CommitWatermark => {
  const partitions = new Map<number, PartitionState>()
  const complete = (partition: number, from: bigint, to: bigint): bigint | undefined => {
    let state = partitions.get(partition)
    if (state === undefined) {
      state = { watermark: from, ahead: new Map() }
      partitions.set(partition, state)
    }
    if (to <= state.watermark) return undefined
    if (from > state.watermark) {
      const known = state.ahead.get(from)
      state.ahead.set(from, known !== undefined && known > to ? known : to)
      return undefined
    }
    const before = state.watermark
    state.watermark = to
    // Close the gap: absorb every completed range that now touches the watermark.
    let moved = true
    while (moved) {
      moved = false
      for (const [f, t] of state.ahead) {
        if (f <= state.watermark) {
          if (t > state.watermark) state.watermark = t
          state.ahead.delete(f)
          moved = true
        }
      }
    }
    return state.watermark > before ? state.watermark : undefined
  }
  return {
    complete,
    get: (partition) => partitions.get(partition)?.watermark,
    heldBack: (partition) => partitions.get(partition)?.ahead.size ?? 0,
    reset: (partition, committed) => partitions.set(partition, { watermark: committed, ahead: new Map() }),
    clear: () => partitions.clear()
  }
}
