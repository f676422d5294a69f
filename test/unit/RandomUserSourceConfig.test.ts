import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either } from "effect"
import * as RandomUserSource from "../../layers/RandomUserSource.js"

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)), { pathDelim: "_" }))

describe("RandomUserSource.config", () => {
  it.effect("defaults to the public API pinned to v1.4 and a 30 s timeout", () =>
    Effect.gen(function*() {
      const options = yield* RandomUserSource.config.pipe(withEnv({}))
      expect(options.baseUrl).toBe("https://randomuser.me/api/1.4/")
      expect(Duration.toMillis(options.timeout ?? 0)).toBe(30_000)
    }))

  it.effect("reads PANDAFLOW_API_URL and PANDAFLOW_API_TIMEOUT", () =>
    Effect.gen(function*() {
      const options = yield* RandomUserSource.config.pipe(
        withEnv({ PANDAFLOW_API_URL: "http://127.0.0.1:9/api/", PANDAFLOW_API_TIMEOUT: "5 seconds" })
      )
      expect(options.baseUrl).toBe("http://127.0.0.1:9/api/")
      expect(Duration.toMillis(options.timeout ?? 0)).toBe(5_000)
    }))

  it.effect("fails fast on a URL that is not http(s), naming the setting", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(RandomUserSource.config.pipe(withEnv({ PANDAFLOW_API_URL: "randomuser.me" })))
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) expect(String(result.left)).toContain("PANDAFLOW_API_URL")
    }))
})
