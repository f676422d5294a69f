/**
 * The words PostgreSQL and Cassandra reserve: a table or column named after one would
 * need quoting in every statement, so `TableSchema.make` refuses them.
 *
 * @since 0.2.0
 */

/**
 * Reserved words no table or column may be named: PostgreSQL 15's "reserved" and
 * "reserved (can be function or type)" key words (`pg_get_keywords()` catcodes R and T,
 * read from PostgreSQL 15.18) and Cassandra's CQL reserved keywords
 * (`org/apache/cassandra/cql3/reserved_keywords.txt`, Cassandra 5.0.6; 4.x has the same).
 */
export const reservedWords: {
  readonly postgres: ReadonlySet<string>
  readonly cql: ReadonlySet<string>
} = {
  postgres: new Set(
    ("all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate " +
      "collation column concurrently constraint create cross current_catalog current_date current_role " +
      "current_schema current_time current_timestamp current_user default deferrable desc distinct do else end " +
      "except false fetch for foreign freeze from full grant group having ilike in initially inner intersect into " +
      "is isnull join lateral leading left like limit localtime localtimestamp natural not notnull null offset on " +
      "only or order outer overlaps placing primary references returning right select session_user similar some " +
      "symmetric table tablesample then to trailing true union unique user using variadic verbose when where window " +
      "with").split(" ")
  ),
  cql: new Set(
    ("add allow alter and apply asc authorize batch begin by columnfamily create delete desc describe drop entries " +
      "execute from full grant if in index infinity insert into is keyspace limit materialized modify nan " +
      "norecursive not null of on or order primary rename revoke schema select set table to token truncate " +
      "unlogged update use using view where with").split(" ")
  )
}

/** Where a name is reserved: `PostgreSQL`, `CQL`, both, or `undefined` if it is free. */
export const reservedIn = (name: string): string | undefined => {
  const lower = name.toLowerCase()
  const where = [
    ...(reservedWords.postgres.has(lower) ? ["PostgreSQL"] : []),
    ...(reservedWords.cql.has(lower) ? ["CQL"] : [])
  ]
  return where.length === 0 ? undefined : where.join(" and ")
}
