/**
 * Keys with several versions, for per-key order: every key of a seed is produced
 * `versions` times, version 1 of every key first, then version 2, … (so on its partition
 * each key's versions are at increasing offsets). The version is carried in the user's
 * phone number (`… v3`), which the pipeline stores as `phone` in both tables; a Postgres
 * trigger records every row write into a history table, so the order in which versions
 * landed is observable.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Schema } from "effect"
import { fromUser, type UserRow } from "../../examples/randomuser/UserRow.js"
import * as FakeUsers from "../../layers/FakeUsers.js"
import * as RandomUser from "../../layers/RandomUser.js"
import { Broker, type ConsumedRecord } from "../../src/Broker.js"
import { badValue, type Injected, type Scenario, sleep, userRecords } from "../reliability/harness.js"

const decode = Schema.decodeUnknownSync(RandomUser.User)

/** The user with its version in the phone number. */
export const versioned = (user: RandomUser.UserJson, version: number): RandomUser.UserJson => ({ ...user, phone: `${user.phone} v${version}` })

/** The version a stored phone number carries. */
export const versionOf = (phone: string): number => Number(/ v([0-9]+)$/.exec(phone)?.[1] ?? NaN)

/** What must be stored: the last version of each of the first `keys` users of `seed`, sorted by id. */
export const expectedLatest = (seed: string, keys: number, versions: number): ReadonlyArray<UserRow> =>
  FakeUsers.generatePage({ seed, page: 1, results: keys })
    .map((u) => fromUser(decode(versioned(u, versions))))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))

/** A stream's shape and pace. */
export interface VersionedStream {
  readonly keys: number
  readonly versions: number
  /** Records a produce request, and the pause after each. */
  readonly chunk: number
  readonly pauseMillis: number
  /** One bad record after every `badEvery` good ones, to partition `n % partitions`. */
  readonly badEvery: number
  readonly partitions: number
}

/**
 * Produces the stream while the workers run. Resolves, once everything is sent, with the
 * injected bad records' coordinates.
 */
export const produceVersions = async (s: Scenario, o: VersionedStream): Promise<ReadonlyArray<Injected>> => {
  const users = FakeUsers.generatePage({ seed: s.seed, page: 1, results: o.keys })
  const producer = s.kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const injected: Array<Injected> = []
  let sent = 0
  try {
    for (let v = 1; v <= o.versions; v++) {
      const records = userRecords(s, users.map((u) => versioned(u, v)))
      for (let i = 0; i < records.length; i += o.chunk) {
        const part = records.slice(i, i + o.chunk)
        await s.runtime.runPromise(Effect.flatMap(Broker, (b) => b.produce(s.topic, part)))
        const before = sent
        sent += part.length
        if (Math.floor(sent / o.badEvery) > Math.floor(before / o.badEvery)) {
          const n = injected.length
          const key = `bad-${n}`
          const [meta] = await producer.send({ topic: s.topic, acks: -1, messages: [{ key, value: badValue(n, users[n]!), partition: n % o.partitions }] })
          injected.push({ key, partition: meta!.partition, offset: meta!.baseOffset! })
        }
        await sleep(o.pauseMillis)
      }
    }
  } finally {
    await producer.disconnect()
  }
  return injected
}

/** The history table of a scenario's Postgres table. */
const historyOf = (s: Scenario) => `${s.table}_history`

/** Creates the history table and the trigger that fills it (every insert and update of a row). */
export const recordHistory = (s: Scenario) =>
  s.runtime.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient
    const h = historyOf(s)
    yield* sql.unsafe(`CREATE TABLE ${h} (seq bigserial PRIMARY KEY, id text NOT NULL, version int, at timestamptz NOT NULL)`)
    yield* sql.unsafe(`CREATE FUNCTION ${h}_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      INSERT INTO ${h} (id, version, at) VALUES (NEW.id::text, substring(NEW.phone from ' v([0-9]+)$')::int, clock_timestamp());
      RETURN NULL; END $$`)
    yield* sql.unsafe(`CREATE TRIGGER ${h}_tr AFTER INSERT OR UPDATE ON ${s.table} FOR EACH ROW EXECUTE FUNCTION ${h}_fn()`)
  }))

/** Drops the history table and its function (the trigger goes with the scenario's table). */
export const dropHistory = (s: Scenario) =>
  s.runtime.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient
    yield* sql.unsafe(`DROP TABLE IF EXISTS ${historyOf(s)}`)
    yield* sql.unsafe(`DROP FUNCTION IF EXISTS ${historyOf(s)}_fn() CASCADE`)
  })).catch((e) => console.warn(`reliability: ${s.name}: dropping the history failed: ${String(e)}`))

/** One row write as the trigger saw it. */
export interface Write {
  readonly id: string
  readonly version: number
  /** Epoch ms (the Postgres server's clock: this machine's). */
  readonly at: number
}

/** Every row write, in the order they landed. */
export const readHistory = (s: Scenario): Promise<ReadonlyArray<Write>> =>
  s.runtime.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient
    const rows = yield* sql.unsafe<{ id: string; version: number; at: string }>(
      `SELECT id, version, (extract(epoch from at) * 1000)::float8::text AS at FROM ${historyOf(s)} ORDER BY seq`
    )
    return rows.map((r) => ({ id: r.id, version: Number(r.version), at: Number(r.at) }))
  }))

/** Where each (key, version) sits in the topic: `id/version` → partition and offset. */
export const coordinatesOf = (records: ReadonlyArray<ConsumedRecord>) => {
  const at = new Map<string, { readonly partition: number; readonly offset: bigint }>()
  for (const r of records) {
    if (r.key === null || r.key.startsWith("bad-") || r.value === null) continue
    const user = JSON.parse(r.value) as { readonly phone: string }
    at.set(`${r.key.toLowerCase()}/${versionOf(user.phone)}`, { partition: r.partition, offset: BigInt(r.offset) })
  }
  return at
}

/** A key's version written after a newer one of the same key. */
export interface BackwardStep {
  readonly id: string
  readonly from: number
  readonly to: number
  readonly at: number
  readonly partition: number
  readonly offset: bigint
}

/** Every write that went back to an older version of its key. */
export const backwardSteps = (history: ReadonlyArray<Write>, coordinates: ReturnType<typeof coordinatesOf>): ReadonlyArray<BackwardStep> => {
  const last = new Map<string, number>()
  const steps: Array<BackwardStep> = []
  for (const w of history) {
    const before = last.get(w.id)
    if (before !== undefined && w.version < before) {
      const c = coordinates.get(`${w.id}/${w.version}`)
      steps.push({ id: w.id, from: before, to: w.version, at: w.at, partition: c?.partition ?? -1, offset: c?.offset ?? -1n })
    }
    last.set(w.id, w.version)
  }
  return steps
}
