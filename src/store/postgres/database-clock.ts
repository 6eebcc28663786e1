import type { Runner } from './run';

/**
 * How the Postgres store treats the times callers pass. `database` (default): every time is moved
 * onto the database's clock before it is stored or compared (shifted by database time minus the
 * caller's `now`, measured in the same transaction), so instances whose clocks disagree can
 * neither claim a delivery early nor take a live lease. `caller`: times are used as given (the
 * shared contract tests, which pass fixed times).
 */
export type TimeSource = 'database' | 'caller';

/** Database time minus the caller's `now` (0 with `caller`): add it to a caller's time to get the database's. */
export function createShift(time: TimeSource) {
  return async (run: Runner, callerNow: number): Promise<number> => {
    if (time === 'caller') return 0;
    const [row] = await run.rows<{ now: number }>(`SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS now`);
    return row!.now - Math.round(callerNow);
  };
}

/** Measures the shift of a caller's clock in a transaction. */
export type Shift = ReturnType<typeof createShift>;

/** Columns are BIGINT/INTEGER: a computed time with a fraction (jitter) is rounded, as in SQLite. */
export const ms = (time: number): number => Math.round(time);
