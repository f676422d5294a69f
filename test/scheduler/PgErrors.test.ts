/**
 * PgErrors.classify: SQLSTATEs, socket errnos and connection messages, through `cause` chains.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlError } from "@effect/sql/SqlError"
import * as PgErrors from "../../layers/PgErrors.js"

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code })

describe("PgErrors.classify", () => {
  it("reads the SQLSTATE under an SqlError: connection and serialization problems are retryable", () => {
    const wrapped = new SqlError({ message: "Failed to execute statement", cause: pgError("40001", "could not serialize access") })
    expect(PgErrors.classify(wrapped)).toEqual({ retryable: true, message: "could not serialize access (SQLSTATE 40001)" })
    expect(PgErrors.classify(pgError("57P01", "terminating connection due to administrator command")).retryable).toBe(true)
    expect(PgErrors.classify(pgError("08006", "connection failure")).retryable).toBe(true)
  })

  it("constraint, syntax and permission errors are not retryable", () => {
    expect(PgErrors.classify(pgError("23505", "duplicate key value"))).toEqual({
      retryable: false,
      message: "duplicate key value (SQLSTATE 23505)"
    })
    expect(PgErrors.classify(pgError("42601", "syntax error")).retryable).toBe(false)
    expect(PgErrors.classify(pgError("42501", "permission denied")).retryable).toBe(false)
  })

  it("socket errnos and connection messages are retryable; unknown errors are not", () => {
    expect(PgErrors.classify(new SqlError({ cause: pgError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5432") }))).toEqual({
      retryable: true,
      message: "connect ECONNREFUSED 127.0.0.1:5432"
    })
    expect(PgErrors.classify(new SqlError({ message: "x", cause: new Error("Connection terminated unexpectedly") }))).toEqual({
      retryable: true,
      message: "Connection terminated unexpectedly"
    })
    expect(PgErrors.classify("boom")).toEqual({ retryable: false, message: "boom" })
  })
})
