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

const retryableMessage = /connection terminated|terminating connection|timeout expired|connection (?:refused|reset)/i

/** True for SQLSTATEs that name a transient condition. */
const retryableState = (code: string): boolean =>
  code.startsWith("08") || code.startsWith("53") || code === "40001" || code === "40P01" ||
  code === "55P03" || code === "57P01" || code === "57P02" || code === "57P03"

/** The error and its `cause`s, outermost first (bounded, in case of a cycle). */
const chainOf = (error: unknown): ReadonlyArray<unknown> => {
  const chain: Array<unknown> = []
  let current: unknown = error
  while (current !== undefined && current !== null && chain.length < 8 && !chain.includes(current)) {
    chain.push(current)
    current = typeof current === "object" && "cause" in current ? current.cause : undefined
  }
  return chain
}

const field = (error: unknown, name: "code" | "message"): string | undefined => {
  if (typeof error !== "object" || error === null || !(name in error)) return undefined
  const value: unknown = (error as Record<string, unknown>)[name]
  return typeof value === "string" && value.length > 0 ? value : undefined
}

/**
 * Classifies `error`, looking through its `cause` chain for a SQLSTATE, a socket errno
 * or a known connection message. Unknown errors are not retryable.
 */
export const classify = (error: unknown): Classified => {
  const chain = chainOf(error)
  for (const e of chain) {
    const code = field(e, "code")
    if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
      return { retryable: retryableState(code), message: `${field(e, "message") ?? "database error"} (SQLSTATE ${code})` }
    }
    if (code !== undefined && retryableErrnos.has(code)) {
      return { retryable: true, message: field(e, "message") ?? code }
    }
  }
  // No code anywhere: the deepest message is the most specific ("Connection terminated unexpectedly").
  const messages = chain.map((e) => field(e, "message")).filter((m): m is string => m !== undefined)
  const deepest = messages[messages.length - 1]
  return {
    retryable: messages.some((m) => retryableMessage.test(m)),
    message: deepest ?? (chain.length > 0 ? String(chain[0]) : "unknown error")
  }
}
