/**
 * What `pandaflow run <file>` loads: a module whose default export (or `pipeline`
 * export) is a pipeline, with optional `jobs` (its schedules), `pools` (concurrency pools
 * of those jobs) and `layer` (services of its own that the pipeline needs, on top of the
 * broker, Postgres and Cassandra the CLI provides).
 *
 * ```ts
 * export default Pipeline.make({ ... })
 * export const jobs: Module.Jobs = ({ pipeline, options, progress }) =>
 *   Effect.map(IngestJob.make(pipeline, { ...options, name: "orders_hourly", cron: "0 * * * *" }, progress), (j) => [j])
 * ```
 *
 * @since 0.2.0
 */
import { Data, Effect, type Layer } from "effect"
import { pathToFileURL } from "node:url"
import * as Pipeline from "../Pipeline.js"
import type * as Progress from "../Progress.js"
import type * as Job from "../scheduler/Job.js"

/** The CLI settings a module's jobs may use. */
export interface JobOptions {
  readonly records: number
  readonly seed: string
  readonly pageSize: number
  readonly cron: string
  readonly zone: string
}

/** What a module's `jobs` function receives. */
export interface JobContext {
  readonly pipeline: Pipeline.Any
  readonly options: JobOptions
  readonly progress: Progress.Progress
}

/** A module's schedules: the jobs the long-running mode runs (default: one ingest job). */
export type Jobs = (context: JobContext) => Effect.Effect<ReadonlyArray<Job.Job<unknown>>, unknown, unknown>

/** A loaded pipeline module. */
export interface PipelineModule {
  readonly file: string
  readonly pipeline: Pipeline.Any
  readonly jobs: Jobs | undefined
  readonly pools: Readonly<Record<string, number>> | undefined
  readonly layer: Layer.Layer<unknown, unknown, unknown> | undefined
}

/** The file could not be loaded, or does not export a pipeline. */
export class ModuleError extends Data.TaggedError("ModuleError")<{ readonly file: string; readonly message: string }> {}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** Reads a pipeline module from its exports. */
export const fromExports = (file: string, exports: Record<string, unknown>): Effect.Effect<PipelineModule, ModuleError> => {
  const pipeline = [exports.default, exports.pipeline].find(Pipeline.isPipeline)
  if (pipeline === undefined) {
    const names = Object.keys(exports).join(", ") || "nothing"
    return Effect.fail(new ModuleError({ file, message: `exports no pipeline as default or \`pipeline\` (it exports ${names})` }))
  }
  if (exports.jobs !== undefined && typeof exports.jobs !== "function") {
    return Effect.fail(new ModuleError({ file, message: "`jobs` must be a function of { pipeline, options, progress }" }))
  }
  if (exports.pools !== undefined && !isRecord(exports.pools)) {
    return Effect.fail(new ModuleError({ file, message: "`pools` must be an object of pool sizes, e.g. { api: 1 }" }))
  }
  return Effect.succeed({
    file,
    pipeline,
    jobs: exports.jobs as Jobs | undefined,
    pools: exports.pools as Readonly<Record<string, number>> | undefined,
    layer: exports.layer as Layer.Layer<unknown, unknown, unknown> | undefined
  })
}

const isTypeScript = (file: string) => /\.[cm]?tsx?$/.test(file)

/**
 * Imports a module by path. A `.ts` file needs `tsx` in the project (it is registered on
 * demand); compiled `.js` runs with plain node.
 */
export const load = (file: string): Effect.Effect<PipelineModule, ModuleError> =>
  Effect.gen(function*() {
    const url = pathToFileURL(file).href
    const importFrom = (href: string) => Effect.tryPromise({ try: () => import(href) as Promise<Record<string, unknown>>, catch: (e) => e })
    const importIt = importFrom(url)
    const exports = yield* importIt.pipe(
      Effect.catchIf(
        (e) => isTypeScript(file) && isRecord(e) && e.code === "ERR_UNKNOWN_FILE_EXTENSION",
        () =>
          Effect.tryPromise({
            try: async () => {
              const api: { register: () => unknown } = await import("tsx/esm/api")
              api.register()
            },
            catch: () => new ModuleError({ file, message: "is TypeScript: install tsx in your project (npm i -D tsx) or compile it to .js" })
          }).pipe(
            // Node keeps the failed import of `url` in its module map: importing it again
            // rejects again, whatever loader is registered now. Another URL of the same
            // file is a new module job that goes through tsx.
            Effect.zipRight(importFrom(`${url}?typescript`))
          )
      ),
      Effect.mapError((e) =>
        e instanceof ModuleError ? e : new ModuleError({
          file,
          message: isRecord(e) && e.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes(file)
            ? "not found"
            : `cannot be loaded: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`
        })
      )
    )
    return yield* fromExports(file, exports)
  })
