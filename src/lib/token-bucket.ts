import type { Rate } from './durations';

/**
 * The burst rule, decided here and nowhere else: a bucket holds max(1, ceil(limit × burst)) tokens,
 * where `burst` is the share of one window's `limit` that may go at once after a quiet spell. Refill
 * is continuous at `limit / perMs`, so over a long run the rate is capped at the limit either way;
 * the share only decides how much of a window can arrive at once, and so what any one window sees:
 * at most `limit` plus the capacity.
 *
 * Two shares, each chosen for what its limit protects:
 * - DELIVERY_BURST, a tenth, for `subscriptions[].rate_limit`: that limit protects a receiver that
 *   asked for at most `limit` per window, so any window sees at most the limit plus a small burst;
 *   a whole window's worth would let twice the limit through right after a quiet spell
 *   (test/scheduling-share.test.ts holds 20/s to 24 in any second).
 * - REQUEST_BURST, a whole window, for `auth.rate_limit`: that limit protects the relay's own capacity
 *   over time, and callers legitimately send their window's worth at once (a producer flushing after a
 *   pause, a dashboard page loading several resources). The README promises "a burst up to the limit
 *   passes, then 429", and test/admin/access.test.ts holds it: at 3/m three back-to-back requests pass
 *   and the fourth is refused, where a tenth (a bucket of 1) would refuse the second.
 */
export const DELIVERY_BURST = 0.1;

/** The `auth.rate_limit` share of a window that may pass at once: all of it (see DELIVERY_BURST). */
export const REQUEST_BURST = 1;

/** Tokens a full bucket holds under `burst` (a share of `limit`): max(1, ceil(limit × burst)). */
export function bucketCapacity(rate: Rate, burst: number): number {
  return Math.max(1, Math.ceil(rate.limit * burst));
}

/** Capacity of a `rate_limit` bucket: a tenth of the limit, at least 1. The Postgres store's shared buckets use it too. */
export function capacityOf(rate: Rate): number {
  return bucketCapacity(rate, DELIVERY_BURST);
}

/** Token buckets by key; a null rate means no limit. */
export interface TokenBuckets {
  /** Takes one token from `key` if it has one: returns 0 when taken, else ms until one is there (nothing taken). */
  take(key: string, rate: Rate | null): number;
  /** Whole tokens `key` may spend now; Infinity without a limit. */
  available(key: string, rate: Rate | null): number;
  /** Spends `n` tokens of `key`; the bucket may go below zero, which later refill pays back. */
  spend(key: string, rate: Rate | null, n: number): void;
  /** ms until `key` has one whole token; 0 when it has one now. */
  waitMs(key: string, rate: Rate | null): number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (epoch ms). */
  at: number;
}

/**
 * A keyed set of token buckets whose capacity follows `burst` (see DELIVERY_BURST). A key's bucket
 * starts full. The rate is passed on every call, not fixed per key, so a config reload takes effect
 * at once; a lowered limit also lowers what a bucket already holds. Buckets live in memory: each
 * process limits on its own, and a restart starts with full buckets.
 */
export function createTokenBuckets(options: { now: () => number; burst: number }): TokenBuckets {
  const buckets = new Map<string, Bucket>();

  function refill(key: string, rate: Rate): Bucket {
    const t = options.now();
    const capacity = bucketCapacity(rate, options.burst);
    let bucket = buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: capacity, at: t };
      buckets.set(key, bucket);
    }
    // A clock stepped back neither refills nor moves `at` back (which would refill the same span twice).
    bucket.tokens = Math.min(capacity, bucket.tokens + (Math.max(0, t - bucket.at) * rate.limit) / rate.perMs);
    bucket.at = Math.max(bucket.at, t);
    return bucket;
  }

  const msToOne = (bucket: Bucket, rate: Rate) => (bucket.tokens >= 1 ? 0 : Math.ceil(((1 - bucket.tokens) * rate.perMs) / rate.limit));

  return {
    take(key, rate) {
      if (rate === null) return 0;
      const bucket = refill(key, rate);
      const wait = msToOne(bucket, rate);
      if (wait === 0) bucket.tokens -= 1;
      return wait;
    },
    available: (key, rate) => (rate === null ? Infinity : Math.floor(refill(key, rate).tokens)),
    spend(key, rate, n) {
      if (rate !== null && n > 0) refill(key, rate).tokens -= n;
    },
    waitMs: (key, rate) => (rate === null ? 0 : msToOne(refill(key, rate), rate)),
  };
}
