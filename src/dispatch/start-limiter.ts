import type { Rate } from '../lib/durations';

/** Largest share of a window's `limit` that may start at once after a quiet spell. */
const BURST_FRACTION = 0.1;

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Per-subscription `rate_limit` on attempts started: a token bucket per subscription, refilled
 * continuously at `limit / perMs`. Its capacity is a tenth of `limit` (at least 1) rather than a
 * whole window's worth, so any window of `perMs` sees at most `limit` plus that small burst, where a
 * full-size bucket would allow twice the limit right after a quiet spell. Buckets live in memory:
 * each process limits on its own, and a restart starts with a full (small) bucket. A store shared
 * by several instances (capabilities.sharedRateBuckets) also spends from one bucket per
 * subscription in the database, with this capacity (ClaimRequest.rateLimit.burst).
 */
export function createStartLimiter(now: () => number) {
  const buckets = new Map<string, Bucket>();

  function refill(id: string, rate: Rate, t: number): Bucket {
    const capacity = capacityOf(rate);
    let bucket = buckets.get(id);
    if (bucket === undefined) {
      bucket = { tokens: capacity, at: t };
      buckets.set(id, bucket);
    }
    // min: a reload may have lowered the limit.
    bucket.tokens = Math.min(capacity, bucket.tokens + (Math.max(0, t - bucket.at) * rate.limit) / rate.perMs);
    bucket.at = t;
    return bucket;
  }

  return {
    /** Attempts `id` may start now: Infinity without a limit. */
    available(id: string, rate: Rate | null): number {
      return rate === null ? Infinity : Math.floor(refill(id, rate, now()).tokens);
    },
    /** Counts `n` attempts started by `id`. */
    spend(id: string, rate: Rate | null, n: number): void {
      if (rate !== null && n > 0) refill(id, rate, now()).tokens -= n;
    },
    /** ms until `id` may start one more attempt; 0 when it may now. */
    waitMs(id: string, rate: Rate | null): number {
      if (rate === null) return 0;
      const bucket = refill(id, rate, now());
      return bucket.tokens >= 1 ? 0 : Math.ceil(((1 - bucket.tokens) * rate.perMs) / rate.limit);
    },
  };
}

/** Tokens a bucket holds when full. */
export function capacityOf(rate: Rate): number {
  return Math.max(1, Math.ceil(rate.limit * BURST_FRACTION));
}

export type StartLimiter = ReturnType<typeof createStartLimiter>;
