import type { MiddlewareHandler } from 'hono';
import type { Rate } from '../lib/durations';
import { AppError } from './problem';

/**
 * Token buckets per key (a token's name): `limit` requests per `perMs`, refilled continuously, so a
 * burst up to `limit` passes and the long-run rate is capped. Over it: 429 with Retry-After (whole
 * seconds until one request fits). Buckets live in memory: each relay instance limits on its own.
 */
export function createRateLimiter(now: () => number) {
  const buckets = new Map<string, { tokens: number; at: number }>();

  /** Takes one request from `key`'s bucket; returns ms to wait when it is empty, else 0. */
  function take(key: string, rate: Rate): number {
    const t = now();
    const bucket = buckets.get(key) ?? { tokens: rate.limit, at: t };
    bucket.tokens = Math.min(rate.limit, bucket.tokens + ((t - bucket.at) * rate.limit) / rate.perMs);
    bucket.at = t;
    buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) * rate.perMs) / rate.limit);
  }

  return {
    take,
    /** Middleware limiting by the key `keyOf` returns (undefined: not limited); `rate()` null means off. */
    middleware(rate: () => Rate | null, keyOf: (c: Parameters<MiddlewareHandler>[0]) => string | undefined): MiddlewareHandler {
      return async (c, next) => {
        const r = rate();
        const key = r ? keyOf(c) : undefined;
        if (r && key !== undefined) {
          const waitMs = take(key, r);
          if (waitMs > 0) {
            throw new AppError(429, 'rate_limited', {
              detail: `rate limit of ${r.limit} per ${r.perMs / 1000}s exceeded for this token`,
              headers: {
                'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))),
              },
            });
          }
        }
        await next();
      };
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
