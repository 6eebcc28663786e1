/*
 * The Postgres store runs the SQLite store's SQL (src/store/sqlite/statements.ts, admin-statements,
 * listings, prune, reads): one text per query for both backends, so they cannot drift apart. The
 * texts are plain SQL both engines accept, with two SQLite-only spellings translated here:
 * `INDEXED BY <index>` (a planner pin SQLite needs and Postgres has no use for) is dropped, and
 * `@name` parameters become `$1, $2, …` (one number per distinct name).
 */

export interface PgQuery {
  text: string;
  /** Parameter names in `$n` order. */
  names: string[];
}

const cache = new Map<string, PgQuery>();

export function toPg(sqliteSql: string): PgQuery {
  let query = cache.get(sqliteSql);
  if (query === undefined) {
    const names: string[] = [];
    const text = sqliteSql.replace(/\s+INDEXED BY\s+\w+/g, '').replace(/@([A-Za-z_]\w*)/g, (_, name: string) => {
      let index = names.indexOf(name);
      if (index < 0) index = names.push(name) - 1;
      return `$${index + 1}`;
    });
    query = { text, names };
    cache.set(sqliteSql, query);
  }
  return query;
}

/** The values of a translated query's parameters, in order; a missing one is a bug, not NULL. */
export function valuesOf(query: PgQuery, params: Record<string, unknown>): unknown[] {
  return query.names.map((name) => {
    if (!(name in params)) throw new Error(`SQL parameter @${name} has no value`);
    return params[name];
  });
}
