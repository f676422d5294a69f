/**
 * Classifies PostgreSQL errors (from `pg`, wrapped or not in @effect/sql's `SqlError`):
 * is it worth retrying, and what does it say? Shared by the Postgres adapters.
 *
 * Retryable: connection failures (SQLSTATE class 08, socket errnos, "Connection
 * terminated"), serialization failures and deadlocks (40001, 40P01), insufficient
 * resources (class 53), operator intervention (57P01–57P03) and lock timeouts (55P03).
 * Anything else (syntax, constraint, permission) is not.
 *
 * @since 0.1.0
 */

/** What `classify` says of an error. */
export interface Classified {
  /** True when the same statement may succeed later (the server or connection was the problem). */
  readonly retryable: boolean
  /** The most specific message found, with the SQLSTATE when there is one. */
  readonly message: string
}

// Errors Node and `pg` raise for a link that failed before any SQLSTATE was returned.
const retryableErrnos = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN"
])

const retryableMessage =
  /connection terminated|terminating connection|timeout|timed out|connection (?:error|refused|reset)|closed|not queryable/i

/** True for SQLSTATEs that name a transient condition: the same statement can succeed later. */
const retryableState = (code: string): boolean =>
  code.startsWith("08") || // connection exception
  code.startsWith("53") || // insufficient resources (too many connections, disk full)
  code.startsWith("57P") || // admin/crash shutdown, cannot connect now
  code === "40001" || // serialization failure
  code === "40P01" || // deadlock detected
  code === "55P03" // lock not available

/** Every error in a cause chain: `cause` links and the members of an AggregateError (bounded). */
const chainOf = (error: unknown): ReadonlyArray<unknown> => {
  const out: Array<unknown> = []
  const visit = (e: unknown, depth: number): void => {
    if (depth > 8 || e === undefined || e === null || out.includes(e)) return
    out.push(e)
    if (typeof e !== "object") return
    if ("errors" in e && Array.isArray(e.errors)) for (const inner of e.errors) visit(inner, depth + 1)
    if ("cause" in e) visit(e.cause, depth + 1)
  }
  visit(error, 0)
  return out
}

const field = (error: unknown, name: "code" | "message"): string | undefined => {
  if (typeof error !== "object" || error === null || !(name in error)) return undefined
  const value: unknown = (error as Record<string, unknown>)[name]
  return typeof value === "string" && value.length > 0 ? value : undefined
}

/**
 * Classifies `error`, looking through its cause chain: a SQLSTATE decides when there is
 * one (constraint 23xxx, data 22xxx and the rest are permanent); without one, socket
 * errnos and `pg`'s connection messages are retryable. Anything else is not: a caller
 * stops loudly rather than retrying a bug. The message is the most specific one found
 * (with its SQLSTATE), else the outermost.
 */
export const classify = (error: unknown): Classified => {
  const chain = chainOf(error)
  let retryable: boolean | undefined
  let detail: string | undefined
  for (const e of chain) {
    const code = field(e, "code")
    const message = field(e, "message")
    if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
      retryable = retryableState(code)
      detail = `${message ?? "database error"} (SQLSTATE ${code})`
      break
    }
    if (code !== undefined && retryableErrnos.has(code)) {
      retryable = true
      detail = message ?? code
      break
    }
    // The deepest matching message is the most specific ("Connection terminated unexpectedly").
    if (message !== undefined && retryableMessage.test(message)) {
      retryable = true
      detail = message
    }
  }
  const top = field(chain[0], "message") ?? (chain.length > 0 ? String(chain[0]) : "unknown error")
  return {
    retryable: retryable ?? false,
    message: detail ?? top
  }
}
