/**
 * Kafka's default partitioner hash (murmur2, as in the Java client and kafkajs), so the
 * in-memory broker puts every key on the same partition a real broker would.
 *
 * @since 0.1.0
 */
const M = 0x5bd1e995

/** murmur2 of the UTF-8 bytes of `key`, as a signed 32-bit integer. */
export const murmur2 = (key: string): number => {
  const data = Buffer.from(key, "utf8")
  const length = data.length
  let h = 0x9747b28c ^ length
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  const tail = length & ~3
  const rest = length % 4
  if (rest === 3) h ^= (data[tail + 2]! & 0xff) << 16
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8
  if (rest >= 1) {
    h ^= data[tail]! & 0xff
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** The partition Kafka's default partitioner picks for a key. */
export const partitionFor = (key: string, partitions: number): number => (murmur2(key) & 0x7fffffff) % partitions
