import { parseRate, type Rate } from '../lib/durations';
import { bucketCapacity, createTokenBuckets, REQUEST_BURST } from '../lib/token-bucket';
import type { Store } from '../store/types';

// `limits.ingest_rate` of a tenant record (SPEC 9) on /ingest and /ingest/batch: one token bucket per
// tenant, in memory, per instance (so N instances let up to N times the rate through). The tenant's
// limit is read from its record at most once per second per tenant (CACHE_MS), so a PUT is in force
// within a second and ingest costs no store read on most requests.

/** How long a tenant's limit is used before its record is read again, ms. */
export const CACHE_MS = 1000;

/** Entries kept before expired ones are dropped (tenants without a record are cached too). */
const SWEEP_AT = 10_000;
/** Entries kept at most: a cache, so a flood of tenants within a second just empties it. */
const MAX_CACHED = 100_000;

interface Cached {
  rate: Rate | null;
  at: number;
}

/** What a tenant's events may do now: 0 when they may be taken, else ms until they fit. */
export interface TenantIngestLimiter {
  /**
   * Takes `count` events from each tenant's bucket if every one of them has room; otherwise takes
   * nothing and answers the tenant that is over and the ms until its events fit (whole tokens:
   * `available` floors, so the wait is an estimate rounded up).
   */
  take(counts: ReadonlyMap<string, number>): Promise<{ tenant: string; rate: Rate; waitMs: number } | null>;
}

export function createTenantIngestLimiter(deps: { store: Pick<Store, 'getTenant'>; now: () => number }): TenantIngestLimiter {
  const cache = new Map<string, Cached>();
  const reading = new Map<string, Promise<Rate | null>>();
  let lastSweep = Number.NEGATIVE_INFINITY;
  const buckets = createTokenBuckets({ now: deps.now, burst: REQUEST_BURST });

  async function rateOf(tenant: string): Promise<Rate | null> {
    const now = deps.now();
    const hit = cache.get(tenant);
    if (hit && now - hit.at < CACHE_MS && now >= hit.at) return hit.rate;
    const pending = reading.get(tenant);
    if (pending) return pending;
    const read = deps.store
      .getTenant(tenant)
      .then((record) => {
        const rate = parseStored(record?.ingestRate ?? null);
        if (cache.size >= SWEEP_AT && now - lastSweep >= CACHE_MS) sweep(now);
        cache.set(tenant, { rate, at: now });
        return rate;
      })
      .finally(() => reading.delete(tenant));
    reading.set(tenant, read);
    return read;
  }

  /** At most once per CACHE_MS (every entry may still be fresh: 10,000 tenants within a second); past MAX_CACHED, all go. */
  function sweep(now: number) {
    lastSweep = now;
    for (const [tenant, entry] of cache) if (now - entry.at >= CACHE_MS) cache.delete(tenant);
    if (cache.size >= MAX_CACHED) cache.clear();
  }

  return {
    async take(counts) {
      const rates = await Promise.all([...counts.keys()].map(async (tenant) => [tenant, await rateOf(tenant)] as const));
      for (const [tenant, rate] of rates) {
        if (rate === null) continue;
        // A batch larger than the bucket passes when the bucket is full; spending it runs the bucket below zero.
        const need = Math.min(counts.get(tenant)!, bucketCapacity(rate, REQUEST_BURST));
        const available = buckets.available(tenant, rate);
        if (available < need) return { tenant, rate, waitMs: Math.max(1, Math.ceil(((need - available) * rate.perMs) / rate.limit)) };
      }
      for (const [tenant, rate] of rates) buckets.spend(tenant, rate, counts.get(tenant)!);
      return null;
    },
  };
}

/** A stored ingest_rate ("100/s"); one that no longer parses counts as no limit rather than refusing every event. */
function parseStored(text: string | null): Rate | null {
  if (text === null) return null;
  try {
    return parseRate(text);
  } catch {
    return null;
  }
}
