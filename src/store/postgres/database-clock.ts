import type { Runner } from './run';

/**
 * How the Postgres store treats the times callers pass. `database` (default): every time is moved
 * onto the database's clock before it is stored or compared (shifted by database time minus the
 * caller's `now`, measured in the same transaction), so instances whose clocks disagree can
 * neither claim a delivery early nor take a live lease. `caller`: times are used as given (the
 * shared contract tests, which pass fixed times).
 */
export type TimeSource = 'database' | 'caller';

/** How long a measured offset between this process's monotonic clock and the database's is used, ms. */
const OFFSET_TTL_MS = 1000;

/**
 * Database time minus the caller's `now` (0 with `caller`): add it to a caller's time to get the
 * database's. The database clock is read at most once a second (a round trip saved in every
 * transaction); in between it is this process's monotonic clock plus the offset last measured
 * (to within half a round trip), so a caller's clock that jumps changes the shift at once.
 */
export function createShift(time: TimeSource) {
  let offset = 0;
  let measuredAt = Number.NEGATIVE_INFINITY;
  return async (run: Runner, callerNow: number): Promise<number> => {
    if (time === 'caller') return 0;
    if (performance.now() - measuredAt > OFFSET_TTL_MS) {
      const before = performance.now();
      const [row] = await run.rows<{ now: number }>(`SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS now`);
      const after = performance.now();
      offset = row!.now - (before + after) / 2;
      measuredAt = after;
    }
    return Math.round(performance.now() + offset - callerNow);
  };
}

/** Measures the shift of a caller's clock in a transaction. */
export type Shift = ReturnType<typeof createShift>;

/** Columns are BIGINT/INTEGER: a computed time with a fraction (jitter) is rounded, as in SQLite. */
export const ms = (time: number): number => Math.round(time);
