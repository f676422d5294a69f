/**
 * A `UserSource` that draws from the deterministic generator without HTTP: for unit
 * tests under TestClock, and for benchmarks that isolate the broker and sinks.
 *
 * @since 0.1.0
 */
import { Effect, Layer } from "effect"
import * as RandomUser from "./RandomUser.js"
import { checkUsers, UserSource, type UserSourceService } from "./UserSource.js"
import * as FakeUsers from "./FakeUsers.js"

/** The URL a generated page is reported under (its records' origin). */
export const urlOf = (request: RandomUser.PageRequest): string => {
  const params = new URLSearchParams({ results: String(request.results), seed: request.seed, page: String(request.page) })
  if (request.nat !== undefined && request.nat.length > 0) params.set("nat", request.nat.join(","))
  return `memory://randomuser/api/${RandomUser.version}/?${params.toString()}`
}

/** The generated users of (seed, page), checked one by one as the HTTP source checks them. */
export const make: UserSourceService = {
  fetchPage: (request) =>
    Effect.sync(() => {
      const url = urlOf(request)
      return {
        url,
        items: checkUsers(FakeUsers.generatePage(request), { url, page: request.page }),
        info: { seed: request.seed, results: request.results, page: request.page, version: RandomUser.version }
      }
    })
}

/** The generator as the `UserSource` service. */
export const layer: Layer.Layer<UserSource> = Layer.succeed(UserSource, make)
