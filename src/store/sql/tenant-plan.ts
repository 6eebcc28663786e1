import type { Page, PutTenantResult, StoredTenant, TenantCounts, TenantInput, TenantQuery } from '../types';
import { decodeTenantCursor, tenantCursor } from './cursor';
import { toTenant } from './from-rows';
import { page, pageSize } from './listing-plan';
import type { TenantRow } from './rows';

/*
 * Tenants (SPEC 9) for every backend: the row a PUT writes, how a page of tenants is read (by id,
 * an id prefix as an index range), and counts made from three grouped reads by tenant. Each
 * backend runs its own SQL (sqlite/tenants.ts, postgres/tenants.ts).
 */

/** Named parameters of a tenant write (`now` is both times of a new row; a replace keeps created_at). */
export function tenantParams(input: TenantInput, now: number): Record<string, string | number | null> {
  return {
    id: input.id,
    name: input.name,
    metadata: input.metadata === null ? null : JSON.stringify(input.metadata),
    enabled: input.enabled ? 1 : 0,
    maxSubscriptions: input.maxSubscriptions,
    ingestRate: input.ingestRate,
    now,
  };
}

/**
 * What a put did, from the state found before it (undefined: no row) — decided in the write's
 * transaction, so an erasure that started first always wins.
 */
export function putOutcome(found: TenantRow['state'] | undefined): PutTenantResult {
  return found === undefined ? 'created' : found === 'erasing' ? 'erasing' : 'replaced';
}

/** One page of tenants: ids in [from, to) after `after`, ascending. */
export interface TenantListingPlan {
  /** Lowest id (inclusive): the prefix, or the cursor's id (exclusive then, see `after`). */
  from: string | undefined;
  /** Ids strictly below this end the prefix's range. */
  to: string | undefined;
  after: string | undefined;
  limit: number;
}

// Above every character of a tenant id ([A-Za-z0-9._:-]): `prefix + END` bounds the prefix's range.
const END = '~';

/** The plan of one page of tenants; `limit` is the rows to read (page size + 1). */
export function planTenantListing(query: TenantQuery, after: string | null, limit: number): TenantListingPlan {
  const q = query.q === undefined || query.q === '' ? undefined : query.q;
  return { from: q, to: q === undefined ? undefined : q + END, after: after ?? undefined, limit };
}

/** listTenants over a backend's reader of one plan. */
export async function listTenantsWith(
  query: TenantQuery,
  read: (plan: TenantListingPlan) => Promise<TenantRow[]> | TenantRow[],
): Promise<Page<StoredTenant>> {
  const after = query.cursor === undefined ? null : decodeTenantCursor(query.cursor);
  const size = pageSize(query.limit);
  const rows = await read(planTenantListing(query, after, size + 1));
  return page(rows, size, toTenant, (row) => tenantCursor(row.id));
}

/** A row of a count grouped by tenant. */
export type TenantCountRow = { tenant: string; count: number | string };

/** Counts of every id asked (0 when a read found none) from the three grouped reads. */
export function tenantCountsFrom(
  ids: readonly string[],
  rows: { subscriptions: TenantCountRow[]; backlog: TenantCountRow[]; failing: TenantCountRow[] },
): Map<string, TenantCounts> {
  const counts = new Map<string, TenantCounts>(ids.map((id) => [id, { subscriptions: 0, backlog: 0, failing: 0 }]));
  for (const key of ['subscriptions', 'backlog', 'failing'] as const) {
    for (const row of rows[key]) {
      const entry = counts.get(row.tenant);
      if (entry !== undefined) entry[key] = Number(row.count);
    }
  }
  return counts;
}
