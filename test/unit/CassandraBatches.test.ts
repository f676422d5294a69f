/**
 * How the Cassandra sink cuts a write into unlogged batches: by replica set, by rows and
 * by bytes, and the routing key bytes it hashes. Expected values written by hand; that
 * the routing keys hash to the server's own tokens is checked on the real Cassandra in
 * test/integration/CassandraRouting.test.ts.
 */
import { describe, expect, it } from "vitest"
import * as CassandraBatches from "../../layers/CassandraBatches.js"

const row = (id: string, text = "") => [id, text]

describe("CassandraBatches.group", () => {
  it("keeps rows of different replica sets apart and cuts each at the row limit", () => {
    const rows = ["r0", "r1", "r2", "r3", "r4"].map((id) => row(id))
    const replicas = (r: CassandraBatches.Params) => (Number(String(r[0]).slice(1)) % 2 === 0 ? "a" : "b")
    const batches = CassandraBatches.group(rows, replicas, { rows: 2, bytes: 1_000 })
    expect(batches.map((b) => b.map((r) => r[0]))).toEqual([["r0", "r2"], ["r1", "r3"], ["r4"]])
  })

  it("cuts at the byte limit by UTF-8 bytes; a row over it alone is a batch of one", () => {
    // "é" is 2 bytes: the ids weigh 1 byte, the texts 10, 10, 30 and 4 bytes.
    const rows = [row("a", "0123456789"), row("b", "0123456789"), row("c", "x".repeat(30)), row("d", "éé")]
    const batches = CassandraBatches.group(rows, undefined, { rows: 100, bytes: 25 })
    expect(batches.map((b) => b.map((r) => r[0]))).toEqual([["a", "b"], ["c"], ["d"]])
  })

  it("one row a batch when the limit is 1, in order", () => {
    const batches = CassandraBatches.group([row("a"), row("b"), row("c")], () => "same", { rows: 1, bytes: 1_000 })
    expect(batches.map((b) => b.map((r) => r[0]))).toEqual([["a"], ["b"], ["c"]])
  })
})

describe("CassandraBatches routing keys", () => {
  it("serialises key components as Cassandra does", () => {
    expect(CassandraBatches.serialise("text", "ab")?.toString("hex")).toBe("6162")
    expect(CassandraBatches.serialise("bigint", 258)?.toString("hex")).toBe("0000000000000102")
    expect(CassandraBatches.serialise("bigint", -1)?.toString("hex")).toBe("ffffffffffffffff")
    expect(CassandraBatches.serialise("int", 258)?.toString("hex")).toBe("00000102")
    expect(CassandraBatches.serialise("uuid", "00112233-4455-6677-8899-aabbccddeeff")?.toString("hex")).toBe("00112233445566778899aabbccddeeff")
    expect(CassandraBatches.serialise("boolean", true)?.toString("hex")).toBe("01")
    expect(CassandraBatches.serialise("timestamp", new Date(258))?.toString("hex")).toBe("0000000000000102")
  })

  it("does not guess a type it does not handle, nor a value of the wrong type", () => {
    expect(CassandraBatches.serialise("frozen<map<text,text>>", {})).toBeUndefined()
    expect(CassandraBatches.serialise("bigint", "12")).toBeUndefined()
    expect(CassandraBatches.serialise("bigint", 1.5)).toBeUndefined()
    expect(CassandraBatches.routingKey([Buffer.from("a"), undefined])).toBeUndefined()
  })

  it("a composite key is each component as length, bytes, 0", () => {
    const key = CassandraBatches.routingKey([Buffer.from("ab"), Buffer.from("c")])
    expect(key?.toString("hex")).toBe("0002616200" + "00016300")
    expect(CassandraBatches.routingKey([Buffer.from("ab")])?.toString("hex")).toBe("6162")
  })
})
