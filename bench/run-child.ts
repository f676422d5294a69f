/**
 * One contender in its own process: `node bench/run-child.js <contender>` with the
 * arguments as JSON in `BENCH_CHILD`. Prints the figures as its last stdout line.
 */
import { type ChildFigures, report } from "./child.js"

const contenders: Record<string, () => Promise<ChildFigures>> = {
  "pandaflow-pg": async () => (await import("./contenders/pandaflow.js")).main(false),
  "pandaflow-pg-cassandra": async () => (await import("./contenders/pandaflow.js")).main(true),
  "copy-loop": async () => (await import("./contenders/copyLoop.js")).main(),
  "unnest-loop": async () => (await import("./contenders/unnestLoop.js")).main(),
  "consume-only": async () => (await import("./contenders/consumeOnly.js")).main(),
  "cassandra-raw": async () => (await import("./contenders/cassandraRaw.js")).main("single"),
  "cassandra-raw-batches": async () => (await import("./contenders/cassandraRaw.js")).main("batches"),
  "ingest": async () => (await import("./contenders/ingest.js")).pandaflow(),
  "ingest-source": async () => (await import("./contenders/ingest.js")).source(),
  "ingest-produce": async () => (await import("./contenders/ingest.js")).produce()
}
const name = process.argv[2] ?? ""
const contender = contenders[name]
if (contender === undefined) throw new Error(`unknown contender ${name}; one of ${Object.keys(contenders).join(", ")}`)
report(await contender())
// kafkajs and the drivers may leave timers behind: the figures are out, end the process.
process.exit(0)
