/**
 * The user row both sinks store, and the transform that derives it from an API user.
 *
 * Column names and meanings stay compatible with the classic Airflow/Spark pipeline's
 * `spark_streams.created_users`; `email_domain` and `registered_year` are derived.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { DatedAge, Postcode, Street } from "../../layers/RandomUser.js"

/** One cleaned user, keyed by the API's `login.uuid` (deterministic, never random). */
export const UserRow = Schema.Struct({
  id: Schema.UUID,
  first_name: Schema.String,
  last_name: Schema.String,
  gender: Schema.String,
  address: Schema.String,
  post_code: Schema.String,
  email: Schema.String,
  username: Schema.String,
  registered_date: Schema.String,
  phone: Schema.String,
  picture: Schema.String,
  email_domain: Schema.String,
  registered_year: Schema.Int
})

/** @since 0.1.0 */
export type UserRow = typeof UserRow.Type

/**
 * The classic pipeline's columns: what `spark_streams.created_users` in Cassandra holds,
 * so tools built for the classic pipeline keep reading it.
 */
export const ClassicRow = UserRow.pick(
  "id",
  "first_name",
  "last_name",
  "gender",
  "address",
  "post_code",
  "email",
  "username",
  "registered_date",
  "phone",
  "picture"
)

/** @since 0.2.0 */
export type ClassicRow = typeof ClassicRow.Type

/** `email_domain`: what follows the last `@` of the (lower-cased) email. */
export const emailDomain = (email: string): string => {
  const at = email.lastIndexOf("@")
  return at >= 0 ? email.slice(at + 1) : ""
}

/** `registered_year`: the UTC year of the registration date. */
export const registeredYear = (isoDate: string): number => new Date(isoDate).getUTCFullYear()

/**
 * The fields of an API user that a row is made of: what the process job checks on every
 * record it consumes. The full `RandomUser.User` is checked where the data enters (the
 * source); checking only what the row needs halves the per-record cost on the hot path,
 * and a record that lacks or mistypes any of these still goes to the dead-letter topic.
 */
export const UserFields = Schema.Struct({
  gender: Schema.String,
  name: Schema.Struct({ first: Schema.String, last: Schema.String }),
  location: Schema.Struct({
    street: Street,
    city: Schema.String,
    state: Schema.String,
    country: Schema.String,
    postcode: Postcode
  }),
  email: Schema.String,
  login: Schema.Struct({ uuid: Schema.UUID, username: Schema.String }),
  registered: Schema.Struct({ date: DatedAge.fields.date }),
  phone: Schema.String,
  picture: Schema.Struct({ medium: Schema.String })
})

/** @since 0.1.0 */
export type UserFields = typeof UserFields.Type

/**
 * Cleans and derives a row from an API user. Pure and total: every field it reads was
 * already checked by the `UserFields` schema, so it cannot fail.
 */
export const fromUser = (user: UserFields): UserRow => {
  const { location: l } = user
  const email = user.email.trim().toLowerCase()
  return {
    id: user.login.uuid.toLowerCase(),
    first_name: user.name.first.trim(),
    last_name: user.name.last.trim(),
    gender: user.gender,
    address: `${l.street.number} ${l.street.name}, ${l.city}, ${l.state}, ${l.country}`,
    post_code: String(l.postcode),
    email,
    username: user.login.username,
    registered_date: user.registered.date,
    phone: user.phone,
    picture: user.picture.medium,
    email_domain: emailDomain(email),
    registered_year: registeredYear(user.registered.date)
  }
}
