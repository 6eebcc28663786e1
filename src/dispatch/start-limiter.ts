import { createTokenBuckets, DELIVERY_BURST, type TokenBuckets } from '../lib/token-bucket';

/**
 * Per-subscription `rate_limit` on attempts started: a token bucket per subscription id, refilled
 * continuously at `limit / perMs`, holding a tenth of the limit (at least 1; DELIVERY_BURST, where
 * lib/token-bucket.ts says why), so any window of `perMs` sees at most `limit` plus that small burst.
 * In memory per process; a store shared by several instances (capabilities.sharedRateBuckets) also
 * spends from one bucket per subscription in the database, with this capacity
 * (ClaimRequest.rateLimit.burst). A null rate is no limit.
 */
export function createStartLimiter(now: () => number): StartLimiter {
  return createTokenBuckets({ now, burst: DELIVERY_BURST });
}

export type StartLimiter = Pick<TokenBuckets, 'available' | 'spend' | 'waitMs'>;
