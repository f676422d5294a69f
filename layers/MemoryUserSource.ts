/**
 * A `UserSource` that draws from the deterministic generator without HTTP: for unit
 * tests under TestClock, and for benchmarks that isolate the broker and sinks.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Schema } from "effect"
import * as RandomUser from "./RandomUser.js"
import { UserSource, type UserSourceService } from "./UserSource.js"
import * as FakeUsers from "./FakeUsers.js"

const decodeUsers = Schema.decodeUnknownSync(Schema.Array(RandomUser.User))

/** The generated users of (seed, page) decoded as the HTTP source would return them. */
export const make: UserSourceService = {
  fetchPage: (request) => Effect.sync(() => decodeUsers(FakeUsers.generatePage(request)))
}

/** The generator as the `UserSource` service. */
export const layer: Layer.Layer<UserSource> = Layer.succeed(UserSource, make)
