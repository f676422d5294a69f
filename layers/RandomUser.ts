/**
 * The randomuser.me API, version 1.4: the response shape, checked with effect/Schema.
 *
 * The source decodes every response with these schemas, so a malformed response is a
 * typed error at the edge instead of a crash three stages later.
 *
 * @since 0.1.0
 */
import { Either, Option, ParseResult, Schema, SchemaAST as AST } from "effect"

/** The API version these schemas describe; the source pins it in its URL and checks every response's `info.version`. */
export const version = "1.4"

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

/** A decoded `info` block. */
export type Info = typeof Info.Type

/** A successful response. */
export const Response = Schema.Struct({
  results: Schema.Array(User),
  info: Info
})

/**
 * A response's envelope, checked before its users: `results` is an array of anything (each
 * user is then checked on its own, so one bad user does not sink its page) and `info` must
 * be there to compare with the request.
 */
export const Envelope = Schema.Struct({
  results: Schema.Array(Schema.Unknown),
  info: Info
})

/** The API reports errors as `{ "error": "..." }`, with an error status or with HTTP 200. */
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

// --- Short reasons ------------------------------------------------------------------------

/** How many issues a reason names at most. */
export const maxIssues = 3

// What a schema node expects, in a few words ("an object", "a string", "a UUID"): never the
// whole type, which for a user is 1.5 KB.
const describe = (ast: AST.AST): string => {
  switch (ast._tag) {
    case "TypeLiteral":
      return "an object"
    case "TupleType":
      return "an array"
    case "StringKeyword":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "a boolean"
    case "Literal":
      return ast.literal === null ? "null" : JSON.stringify(ast.literal)
    case "Union":
      return [...new Set(ast.types.map(describe))].join(" or ")
    case "Refinement":
      return Option.match(AST.getIdentifierAnnotation(ast), {
        onNone: () => describe(ast.from),
        onSome: (id) => `a ${id}`
      })
    case "Transformation":
      return describe(ast.to)
    default:
      return String(ast).slice(0, 40)
  }
}

/** A received value in a few characters: strings and numbers as they are (cut), objects by kind. */
export const formatActual = (u: unknown): string => {
  if (u === undefined) return "undefined"
  if (u === null) return "null"
  if (Array.isArray(u)) return `an array of ${u.length}`
  if (typeof u === "object") return "an object"
  if (typeof u === "string") return JSON.stringify(u.length > 40 ? `${u.slice(0, 40)}…` : u)
  return String(u)
}

const messageOf = (issue: ParseResult.Type): string | undefined => {
  if (issue.message !== undefined) return issue.message
  return Option.match(AST.getMessageAnnotation(issue.ast), {
    onNone: () => undefined,
    onSome: (annotation) => {
      const out = annotation(issue)
      if (typeof out === "string") return out
      return typeof out === "object" && "message" in out && typeof out.message === "string" ? out.message : undefined
    }
  })
}

const pathKey = (key: PropertyKey): string => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)

const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  const joined = path.map(pathKey).join("")
  return joined.startsWith(".") ? joined.slice(1) : joined
}

const leaves = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>, out: Array<string>): void => {
  const at = (message: string) => out.push(path.length === 0 ? message : `${formatPath(path)}: ${message}`)
  switch (issue._tag) {
    case "Missing":
      return void at("is missing")
    case "Unexpected":
      return void at("is unexpected")
    case "Forbidden":
      return void at("cannot be checked synchronously")
    case "Type": {
      const message = messageOf(issue)
      return void at(`${message ?? `expected ${describe(issue.ast)}`}, got ${formatActual(issue.actual)}`)
    }
    case "Pointer":
      return leaves(issue.issue, [...path, ...(Array.isArray(issue.path) ? issue.path : [issue.path])], out)
    case "Refinement":
    case "Transformation":
      return leaves(issue.issue, path, out)
    case "Composite":
      // A union's members each fail in their own way: say what it accepts instead.
      if (issue.ast._tag === "Union") return void at(`expected ${describe(issue.ast)}, got ${formatActual(issue.actual)}`)
      for (const inner of Array.isArray(issue.issues) ? issue.issues : [issue.issues]) leaves(inner, path, out)
  }
}

/**
 * A parse failure as one short line: at most `max` issues, each with its path, e.g.
 * `login.uuid: is missing; location.street: expected an object, got "12 Main St"`, and how
 * many more there were. Never the type itself.
 */
export const formatIssues = (issue: ParseResult.ParseIssue, max = maxIssues): string => {
  const all: Array<string> = []
  leaves(issue, [], all)
  const shown = all.slice(0, max).join("; ")
  return all.length > max ? `${shown} (and ${all.length - max} more)` : shown
}

const decodeUserEither = Schema.decodeUnknownEither(User, { errors: "all" })

/** Checks one received user: the decoded user, or the short reason it is not one. */
export const checkUser = (u: unknown): Either.Either<User, string> =>
  Either.mapLeft(decodeUserEither(u), (error) => formatIssues(error.issue))

/** `login.uuid` of a received value, when it has a readable one (also of an invalid user, as its dead letter's key). */
export const keyOf = (u: unknown): string | undefined => {
  if (typeof u !== "object" || u === null || !("login" in u)) return undefined
  const login = u.login
  if (typeof login !== "object" || login === null || !("uuid" in login)) return undefined
  return typeof login.uuid === "string" && login.uuid.length > 0 ? login.uuid : undefined
}
