import type pg from 'pg';

/*
 * How the Postgres store runs its SQL. Its texts name their parameters `@name` (readable, and one
 * name may appear twice); `named` numbers them `$1, $2, …`, pg's placeholders, once per text.
 */

/** Values of a query's `@name` parameters, by name. */
export type Params = Record<string, unknown>;

interface NumberedQuery {
  /** The name it is prepared under on each connection (the first run parses and plans it; later runs only bind). */
  name: string;
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
    query = { name: `hookrelay_${numbered.size}`, text, names };
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
    return client.query({ name: query.name, text: query.text, values: valuesOf(query, params) });
  };
  return {
    rows: async <R>(sql: string, params?: Params) => (await run(sql, params)).rows as R[],
    count: async (sql: string, params?: Params) => (await run(sql, params)).rowCount ?? 0,
  };
}

/** Runs `fn` in one transaction on a client of the pool: committed if it resolves, rolled back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (tx: Runner) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client whose connection drops between two queries emits 'error'; unheard, that
  // would end the process. The failing query reports it to the caller.
  const ignore = () => undefined;
  client.on('error', ignore);
  // A connection that failed or cannot even roll back is broken: destroyed, not handed to the next caller.
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(over(client));
    await client.query('COMMIT');
    return result;
  } catch (err) {
    if (fromServer(err)) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => {
        broken = rollbackErr;
      });
    } else {
      // The connection itself failed (dropped, timed out): a ROLLBACK would only wait on it again;
      // the server rolls the transaction back when the connection goes.
      broken = err instanceof Error ? err : new Error(String(err));
    }
    throw err;
  } finally {
    client.off('error', ignore);
    client.release(broken);
  }
}

/** An error the server sent (it has a SQLSTATE), as opposed to one of the connection. */
function fromServer(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}
