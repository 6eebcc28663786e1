import { AppError } from '../problem';

/**
 * Runs a paginated store query; a cursor the store cannot decode (made up, truncated, or from
 * another listing) is the caller's mistake, answered 400 on `cursor` rather than 500. Callers pass an
 * empty `cursor=` as none, as a client that always sends the parameter does on its first page.
 */
export async function withCursor<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code === 'INVALID_CURSOR') {
      throw new AppError(400, 'invalid_cursor', {
        detail: 'invalid cursor',
        errors: [{ path: 'cursor', message: "not a next_cursor of this listing; start again without 'cursor'" }],
      });
    }
    throw err;
  }
}
