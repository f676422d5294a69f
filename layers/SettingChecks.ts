/**
 * The value checks of `Settings`, one a kind of value: each returns the value it read or
 * the problem, one phrase (`Settings.validate` adds the variable and an example).
 *
 * @since 0.2.0
 */
// Subpath imports: the CLI checks settings before it loads anything heavy.
import * as Cron from "effect/Cron"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

/** The value read, or what is wrong with it. */
export type Check<A> = Either.Either<A, string>
/** A value that passed. */
export const ok = Either.right
/** A value that did not: what is wrong with it. */
export const bad = (problem: string): Check<never> => Either.left(problem)


const hostname = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/

/** `host:port`, `[ipv6]:port`; with `portOptional`, also a bare host. */
const hostPort = (entry: string, portOptional: boolean): boolean => {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(\d+))?$/.exec(entry)
  if (m === null) return false
  const [, host, port] = m
  if (port === undefined) {
    if (!portOptional) return false
  } else if (Number(port) < 1 || Number(port) > 65535) return false
  return host!.startsWith("[") || hostname.test(host!)
}

/** A comma-separated list of `host:port` (or bare hosts when `portOptional`). */
export const hostPortList = (value: string, portOptional = false): Check<ReadonlyArray<string>> => {
  const entries = value.split(",").map((e) => e.trim())
  if (entries.some((e) => e === "")) return bad(portOptional ? "expected host[:port][,host[:port]…] (an entry is empty)" : "expected host:port[,host:port…] (an entry is empty)")
  const wrong = entries.find((e) => !hostPort(e, portOptional))
  if (wrong !== undefined) {
    return bad(`${JSON.stringify(wrong)} is not ${portOptional ? "host or host:port" : "host:port"} (port 1–65535); expected ${portOptional ? "host[:port][,host[:port]…]" : "host:port[,host:port…]"}`)
  }
  return ok(entries)
}

/** A whole number in `[min, max]`. */
export const integer = (value: string, min: number, max: number): Check<number> => {
  if (!/^[+-]?\d+$/.test(value.trim())) return bad(`expected a whole number from ${min} to ${max}`)
  const n = Number(value.trim())
  return n < min || n > max ? bad(`${n} is out of range: expected ${min} to ${max}`) : ok(n)
}

/** A duration as Effect writes them (`500 millis`, `30 seconds`, `2 minutes`), in `(0, max]`. */
export const duration = (value: string, max: Duration.Duration): Check<Duration.Duration> =>
  Option.match(Duration.decodeUnknown(value.trim()), {
    onNone: () => bad("expected a duration: a number and a unit (millis, seconds, minutes, hours)"),
    onSome: (d) =>
      !Duration.greaterThan(d, Duration.zero)
        ? bad("must be longer than 0")
        : Duration.greaterThan(d, max)
        ? bad(`must be at most ${Duration.format(max)}`)
        : ok(d)
  })

/** An absolute URL with one of `schemes` (without the colon) and a host. */
export const url = (value: string, schemes: ReadonlyArray<string>): Check<URL> => {
  let parsed: URL
  try {
    parsed = new URL(value.trim())
  } catch {
    return bad(`not a URL; expected ${schemes.map((s) => `${s}://`).join(" or ")}…`)
  }
  const scheme = parsed.protocol.slice(0, -1)
  if (!schemes.includes(scheme)) return bad(`the scheme is ${scheme}:, expected ${schemes.map((s) => `${s}:`).join(" or ")}`)
  if (parsed.hostname === "") return bad("the URL has no host")
  return ok(parsed)
}

/** An IANA time zone Intl knows (`Europe/Berlin`, `UTC`). */
export const zone = (value: string): Check<string> => {
  try {
    return ok(new Intl.DateTimeFormat("en-US", { timeZone: value.trim() }).resolvedOptions().timeZone)
  } catch {
    return bad("not an IANA time zone")
  }
}

/** A cron expression effect's `Cron.parse` accepts (five fields, or six with seconds first). */
export const cron = (value: string, tz: string): Check<string> =>
  Either.match(Cron.parse(value, tz), {
    onLeft: (e) => bad(`not a cron expression (${e.message})`),
    onRight: () => ok(value.trim())
  })
