#!/usr/bin/env node
/**
 * The composition root: the one place that chooses implementations. Every service whose
 * address is configured runs live; the rest fall back to the embedded default, so a
 * fresh clone runs with nothing installed. Implementations load lazily, so `--help`
 * starts without loading kafkajs, cassandra-driver or PGlite.
 *
 * @since 0.2.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Cli from "../src/cli/Cli.js"

const live = Effect.promise(() => import("../layers/Live.js"))
// Every setting is read and checked once, before any client connects (Live.load).
const mode = Effect.flatMap(live, (Live) => Effect.map(Live.load, (m) => ({ Live, m })))

const environment: Cli.Environment = {
  describe: (module) => Effect.map(mode, ({ Live, m }) => Live.describeMode(m, module.pipeline.source?.name)),
  layer: Layer.unwrapEffect(Effect.map(mode, ({ Live, m }) => Live.layer(m))),
  layerWithRunStore: Layer.unwrapEffect(Effect.map(mode, ({ Live, m }) => Live.layerWithRunStore(m))),
  reference: Effect.flatMap(
    Effect.promise(() => Promise.all([import("../src/cli/Module.js"), import("../examples/randomuser/pipeline.js")])),
    ([Module, exports]) => Module.fromExports("examples/randomuser/pipeline", { ...exports })
  ),
  // `pandaflow dags list/runs/run` with no pandaflow running: the Postgres run store, read directly.
  runStore: Effect.suspend(() =>
    process.env["PANDAFLOW_PG_URL"] === undefined
      ? Effect.succeed(Option.none())
      : Effect.map(Effect.promise(() => import("../layers/PostgresRunStore.js")), (Store) => Option.some(Store.layerConfig))
  )
}

Cli.run(environment, process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
