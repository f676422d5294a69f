/**
 * The randomuser.me API, version 1.4: the response shape, checked with effect/Schema.
 *
 * The source decodes every response with these schemas, so a malformed response is a
 * typed error at the edge instead of a crash three stages later.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** A street: the v1.4 shape (older versions used a flat string). */
export const Street = Schema.Struct({
  number: Schema.Number,
  name: Schema.String
})

/** `postcode` is a number for some nationalities and a string for others. */
export const Postcode = Schema.Union(Schema.Number, Schema.String)

/** Where a user lives; coordinates and timezone offsets arrive as strings. */
export const Location = Schema.Struct({
  street: Street,
  city: Schema.String,
  state: Schema.String,
  country: Schema.String,
  postcode: Postcode,
  coordinates: Schema.Struct({ latitude: Schema.String, longitude: Schema.String }),
  timezone: Schema.Struct({ offset: Schema.String, description: Schema.String })
})

/** A date with the age it implies, as the API reports `dob` and `registered`. */
export const DatedAge = Schema.Struct({
  date: Schema.String.pipe(
    Schema.filter((s) => !Number.isNaN(Date.parse(s)), { message: () => "expected an ISO-8601 date" })
  ),
  age: Schema.Number
})

/**
 * One user exactly as the API returns it. A plain Struct, not a Class: the process job
 * decodes every record, and class instances cost a third of the decode time.
 */
export const User = Schema.Struct({
  gender: Schema.String,
  name: Schema.Struct({ title: Schema.String, first: Schema.String, last: Schema.String }),
  location: Location,
  email: Schema.String,
  login: Schema.Struct({
    uuid: Schema.UUID,
    username: Schema.String,
    password: Schema.String,
    salt: Schema.String,
    md5: Schema.String,
    sha1: Schema.String,
    sha256: Schema.String
  }),
  dob: DatedAge,
  registered: DatedAge,
  phone: Schema.String,
  cell: Schema.String,
  id: Schema.Struct({ name: Schema.String, value: Schema.NullOr(Schema.String) }),
  picture: Schema.Struct({ large: Schema.String, medium: Schema.String, thumbnail: Schema.String }),
  nat: Schema.String
})

/** A decoded user. */
export type User = typeof User.Type

/** The plain (encoded) form of a user: what travels as JSON. */
export type UserJson = typeof User.Encoded

/** The `info` block: it echoes the request so a page can be traced back to its seed. */
export const Info = Schema.Struct({
  seed: Schema.String,
  results: Schema.Number,
  page: Schema.Number,
  version: Schema.String
})

/** A successful response. */
export const Response = Schema.Struct({
  results: Schema.Array(User),
  info: Info
})

/** The API reports errors as `{ "error": "..." }` with a non-2xx status. */
export const ErrorResponse = Schema.Struct({ error: Schema.String })

/** What one page request asks for. */
export interface PageRequest {
  readonly results: number
  readonly seed: string
  readonly page: number
  readonly nat?: ReadonlyArray<string> | undefined
}

/** The API's hard limit on `results` per request. */
export const maxResultsPerRequest = 5000
