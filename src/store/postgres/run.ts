import type pg from 'pg';

/*
 * How the Postgres store runs its SQL. Its texts name their parameters `@name` (readable, and one
 * name may appear twice); `named` numbers them `$1, $2, …`, pg's placeholders, once per text.
 */

/** Values of a query's `@name` parameters, by name. */
export type Params = Record<string, unknown>;

interface NumberedQuery {
  text: string;
  /** Parameter names in `$n` order. */
  names: string[];
}

const numbered = new Map<string, NumberedQuery>();

/** `@name` parameters as `$n`, one number per distinct name; cached per text. */
export function named(sql: string): NumberedQuery {
  let query = numbered.get(sql);
  if (query === undefined) {
    const names: string[] = [];
    const text = sql.replace(/@([A-Za-z_]\w*)/g, (_, name: string) => {
      let index = names.indexOf(name);
      if (index < 0) index = names.push(name) - 1;
      return `$${index + 1}`;
    });
    query = { text, names };
    numbered.set(sql, query);
  }
  return query;
}

/** The values of a query's parameters, in `$n` order; a missing one is a bug, not NULL. */
export function valuesOf(query: NumberedQuery, params: Params): unknown[] {
  return query.names.map((name) => {
    if (!(name in params)) throw new Error(`SQL parameter @${name} has no value`);
    return params[name];
  });
}

/** Runs SQL on a pool (each statement on its own) or on one transaction's client. */
export interface Runner {
  rows<R>(sql: string, params?: Params): Promise<R[]>;
  /** Rows the statement changed. */
  count(sql: string, params?: Params): Promise<number>;
}

/** A Runner over the pool or one client. */
export function over(client: pg.Pool | pg.PoolClient): Runner {
  const run = (sql: string, params: Params = {}) => {
    const query = named(sql);
    return client.query(query.text, valuesOf(query, params));
  };
  return {
    rows: async <R>(sql: string, params?: Params) => (await run(sql, params)).rows as R[],
    count: async (sql: string, params?: Params) => (await run(sql, params)).rowCount ?? 0,
  };
}

/** Runs `fn` in one transaction on a client of the pool: committed if it resolves, rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (tx: Runner) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A connection that cannot even roll back is broken: destroyed, not handed to the next caller.
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(over(client));
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: Error) => {
      broken = rollbackErr;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
