import type { MiddlewareHandler } from 'hono';
import type { Rate } from '../lib/durations';
import { createTokenBuckets, REQUEST_BURST } from '../lib/token-bucket';
import { AppError } from './problem';

/**
 * `auth.rate_limit`: a token bucket per key (a token's name), `limit` requests per `perMs`, refilled
 * continuously with a burst of a whole window (REQUEST_BURST; lib/token-bucket.ts says why). Over it:
 * 429 with Retry-After (whole seconds until one request fits). Buckets live in memory: each relay
 * instance limits on its own.
 */
export function createRateLimiter(now: () => number) {
  const buckets = createTokenBuckets({ now, burst: REQUEST_BURST });

  /** Takes one request from `key`'s bucket; returns ms to wait when it is empty, else 0. */
  const take = (key: string, rate: Rate): number => buckets.take(key, rate);

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
