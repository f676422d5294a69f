/**
 * `Schema.is`, compiled once to plain checks: the check every consumed record and every
 * written row goes through. Effect's generic `is` walks the AST through its parser on
 * every call (Either and Option values a field); a profile of Kafka → Postgres put it at
 * ~6% of the CPU. The compiled check answers exactly what `Schema.is` answers: it covers
 * the kinds records are made of (keywords, literals, structs, unions, tuples-free
 * arrays, `DateFromSelf`) and runs a refinement's own filter, so `Schema.filter`,
 * `Schema.pattern`, `Schema.UUID` and `Schema.Int` keep their meaning. Any other node (a
 * transformation, a suspension, an index signature, a declaration other than
 * `DateFromSelf`) makes `compile` return `undefined`: callers keep `Schema.is` then.
 *
 * Only the yes/no is compiled: messages for a refused value still come from Schema's
 * own decoding.
 *
 * @since 0.2.0
 */
import { Option, SchemaAST } from "effect"

/** A compiled check. */
export type Check = (u: unknown) => boolean

const parseOptions: SchemaAST.ParseOptions = {}

// Effect's own UUID pattern (Schema.UUID): the same answer without the filter's Option.
const uuidPattern = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/i

const identifier = (ast: SchemaAST.AST) => Option.getOrUndefined(SchemaAST.getIdentifierAnnotation(ast))

/** The check of a schema's AST, or `undefined` if it has a node this module does not compile. */
export const compile = (ast: SchemaAST.AST): Check | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return (v) => typeof v === "string"
    case "NumberKeyword":
      return (v) => typeof v === "number"
    case "BooleanKeyword":
      return (v) => typeof v === "boolean"
    case "UndefinedKeyword":
    case "VoidKeyword":
      return (v) => v === undefined
    case "UnknownKeyword":
    case "AnyKeyword":
      return () => true
    case "Literal": {
      const literal = ast.literal
      return (v) => v === literal
    }
    case "Declaration":
      return identifier(ast) === "DateFromSelf" ? (v) => v instanceof Date : undefined
    case "Refinement": {
      const id = identifier(ast)
      if (id === "UUID" && ast.from._tag === "StringKeyword") return (v) => typeof v === "string" && uuidPattern.test(v)
      if (id === "Int" && ast.from._tag === "NumberKeyword") return (v) => Number.isSafeInteger(v)
      const from = compile(ast.from)
      if (from === undefined) return undefined
      const filter = ast.filter
      return (v) => from(v) && Option.isNone(filter(v, parseOptions, ast))
    }
    case "Union": {
      const members = ast.types.map(compile)
      if (members.some((m) => m === undefined)) return undefined
      const checks = members as ReadonlyArray<Check>
      return (v) => {
        for (const c of checks) if (c(v)) return true
        return false
      }
    }
    case "TupleType": {
      // Arrays only (`Schema.Array(x)`): a rest element and nothing else.
      if (ast.elements.length > 0 || ast.rest.length !== 1) return undefined
      const item = compile(ast.rest[0]!.type)
      if (item === undefined) return undefined
      return (v) => {
        if (!Array.isArray(v)) return false
        for (const x of v) if (!item(x)) return false
        return true
      }
    }
    case "TypeLiteral":
      return typeLiteral(ast)
    default:
      return undefined
  }
}

const typeLiteral = (ast: SchemaAST.TypeLiteral): Check | undefined => {
  if (ast.indexSignatures.length > 0) return undefined
  const names: Array<string> = []
  const optional: Array<boolean> = []
  const checks: Array<Check> = []
  for (const p of ast.propertySignatures) {
    const check = compile(p.type)
    if (check === undefined || typeof p.name !== "string") return undefined
    names.push(p.name)
    optional.push(p.isOptional)
    checks.push(check)
  }
  const n = names.length
  return (u) => {
    if (typeof u !== "object" || u === null) return false
    const record = u as Record<string, unknown>
    for (let i = 0; i < n; i++) {
      const name = names[i]!
      const v = record[name]
      // As Schema.is (exact): a missing key passes only when optional; a present one is checked.
      if (v === undefined && !(name in record)) {
        if (!optional[i]) return false
      } else if (!checks[i]!(v)) return false
    }
    return true
  }
}
