/**
 * Runs the RunStore contract against the memory double, the real Postgres
 * (PANDAFLOW_PG_URL, which `scripts/services.sh up` writes to .pandaflow/env) and the
 * embedded PGlite Postgres. Without PANDAFLOW_PG_URL the live suite FAILS, never skips.
 */
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Redacted } from "effect"
import * as EmbeddedPostgres from "../../layers/EmbeddedPostgres.js"
import * as MemoryRunStore from "../../layers/MemoryRunStore.js"
import * as PostgresRunStore from "../../layers/PostgresRunStore.js"
import { RunStore } from "../../src/scheduler/RunStore.js"
import { runStoreContract } from "./RunStore.contract.js"

// A schema of its own: the suite never touches the scheduler's real history.
const schema = "pandaflow_scheduler_contract"

const pgUrl = Effect.suspend(() => {
  const url = process.env["PANDAFLOW_PG_URL"] ?? ""
  return url === ""
    ? Effect.dieMessage(
      "PANDAFLOW_PG_URL not set: the Postgres RunStore contract needs the real server. " +
        "Start it with `bash scripts/services.sh up`, then `source .pandaflow/env` (or run through scripts/with-services.sh)."
    )
    : Effect.succeed(url)
})

runStoreContract("memory", MemoryRunStore.make)

runStoreContract(
  "postgres (real server, PANDAFLOW_PG_URL)",
  Effect.flatMap(pgUrl, (url) =>
    Effect.map(
      Layer.build(PostgresRunStore.layer({ schema }).pipe(Layer.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 4 })))),
      (context) => Context.get(context, RunStore)
    ))
)

runStoreContract(
  "postgres (embedded PGlite)",
  Effect.map(
    Layer.build(PostgresRunStore.layer({ schema }).pipe(Layer.provide(EmbeddedPostgres.layerWithClient()))),
    (context) => Context.get(context, RunStore)
  )
)
