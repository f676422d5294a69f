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

/**
 * The check of a schema's AST, or `undefined` if it has a node this module does not compile.
 *
 * A struct becomes one generated function: its fields read with constant keys (inline
 * caches), nested structs inlined, the checks of keywords and literals inlined. A profile
 * of Kafka → Postgres had the closure-per-node form at ~3 µs a record (two checks: the
 * reader schema and the row's); the generated one is a single call. Property names enter
 * the source only through `JSON.stringify`; every other value (a literal, a pattern, a
 * filter) is passed in, never written into the source.
 */
export const compile = (ast: SchemaAST.AST): Check | undefined => {
  const gen: Gen = { refs: [], vars: 0 }
  if (ast._tag === "TypeLiteral") {
    const body = struct(ast, "u", gen)
    return body === undefined ? undefined : build(gen, `${body}return true;`)
  }
  const e = expr(ast, "u", gen)
  return e === undefined ? undefined : build(gen, `return ${e};`)
}

/** What generated code refers to: values passed in as `r[i]`, and a counter for variable names. */
interface Gen {
  readonly refs: Array<unknown>
  vars: number
}

const build = (gen: Gen, body: string): Check =>
  // Generated source (see `compile`): names JSON-quoted, values passed in as `r`.
  new Function("r", `"use strict";return function check(u){${body}}`)(gen.refs) as Check

const ref = (gen: Gen, value: unknown): string => `r[${gen.refs.push(value) - 1}]`

// A boolean expression checking the value in variable `v`, or `undefined`.
const expr = (ast: SchemaAST.AST, v: string, gen: Gen): string | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return `typeof ${v}==="string"`
    case "NumberKeyword":
      return `typeof ${v}==="number"`
    case "BooleanKeyword":
      return `typeof ${v}==="boolean"`
    case "UndefinedKeyword":
    case "VoidKeyword":
      return `${v}===undefined`
    case "UnknownKeyword":
    case "AnyKeyword":
      return "true"
    case "Literal":
      return `${v}===${ref(gen, ast.literal)}`
    case "Declaration":
      return identifier(ast) === "DateFromSelf" ? `${v} instanceof Date` : undefined
    case "Refinement": {
      const id = identifier(ast)
      if (id === "UUID" && ast.from._tag === "StringKeyword") return `(typeof ${v}==="string"&&${ref(gen, uuidPattern)}.test(${v}))`
      if (id === "Int" && ast.from._tag === "NumberKeyword") return `Number.isSafeInteger(${v})`
      const from = expr(ast.from, v, gen)
      if (from === undefined) return undefined
      const filter = ast.filter
      const passes = (x: unknown) => Option.isNone(filter(x, parseOptions, ast))
      return `(${from}&&${ref(gen, passes)}(${v}))`
    }
    case "Union": {
      const members = ast.types.map((t) => expr(t, v, gen))
      if (members.some((m) => m === undefined)) return undefined
      return `(${members.join("||")})`
    }
    case "TupleType": {
      // Arrays only (`Schema.Array(x)`): a rest element and nothing else.
      if (ast.elements.length > 0 || ast.rest.length !== 1) return undefined
      const item = compile(ast.rest[0]!.type)
      if (item === undefined) return undefined
      const array = (x: unknown) => {
        if (!Array.isArray(x)) return false
        for (const y of x) if (!item(y)) return false
        return true
      }
      return `${ref(gen, array)}(${v})`
    }
    case "TypeLiteral": {
      const check = compile(ast)
      return check === undefined ? undefined : `${ref(gen, check)}(${v})`
    }
    default:
      return undefined
  }
}

// Statements that `return false` unless the value in variable `u` is the struct.
const struct = (ast: SchemaAST.TypeLiteral, u: string, gen: Gen): string | undefined => {
  if (ast.indexSignatures.length > 0) return undefined
  let out = `if(typeof ${u}!=="object"||${u}===null)return false;`
  for (const p of ast.propertySignatures) {
    if (typeof p.name !== "string") return undefined
    const key = JSON.stringify(p.name)
    const v = `v${gen.vars++}`
    const inner = p.type._tag === "TypeLiteral"
      ? struct(p.type, v, gen)
      : ((e) => (e === undefined ? undefined : `if(!(${e}))return false;`))(expr(p.type, v, gen))
    if (inner === undefined) return undefined
    // As Schema.is (exact): a missing key passes only when optional; a present one is checked.
    const missing = `${v}===undefined&&!(${key} in ${u})`
    out += p.isOptional
      ? `{const ${v}=${u}[${key}];if(!(${missing})){${inner}}}`
      : `{const ${v}=${u}[${key}];if(${missing})return false;${inner}}`
  }
  return out
}
