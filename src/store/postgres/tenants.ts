import { toTenant } from '../sql/from-rows';
import type { TenantRow } from '../sql/rows';
import { listTenantsWith, type TenantCountRow, tenantCountsFrom, type TenantListingPlan, tenantParams } from '../sql/tenant-plan';
import type { Page, PutTenantResult, StoredTenant, TenantCounts, TenantInput, TenantQuery } from '../types';
import type { Runner } from './run';

/* Tenants in Postgres (the plans are shared: sql/tenant-plan.ts). */

/** SQL of the tenant reads and writes in Postgres. */
export const TENANT_SQL = {
  // One statement, so two instances putting the same new id cannot both insert: the row lock of
  // ON CONFLICT decides. An erasing row is left alone (no row returned); xmax = 0 marks an insert.
  put: `INSERT INTO tenants AS t (id, name, metadata, enabled, max_subscriptions, ingest_rate, state, created_at, updated_at)
    VALUES (@id, @name, @metadata, @enabled, @maxSubscriptions, @ingestRate, 'active', @now, @now)
    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, metadata = EXCLUDED.metadata, enabled = EXCLUDED.enabled,
      max_subscriptions = EXCLUDED.max_subscriptions, ingest_rate = EXCLUDED.ingest_rate, updated_at = EXCLUDED.updated_at
    WHERE t.state = 'active'
    RETURNING (xmax = 0) AS created`,
  get: `SELECT * FROM tenants WHERE id = @id`,
  subscriptions: `SELECT tenant, COUNT(*) AS count FROM api_subscriptions WHERE tenant = ANY(@ids) GROUP BY tenant`,
  backlog: `SELECT tenant, COUNT(*) AS count FROM deliveries
    WHERE tenant = ANY(@ids) AND status IN ('pending', 'retrying') GROUP BY tenant`,
  failing: `SELECT a.tenant AS tenant, COUNT(*) AS count FROM api_subscriptions a JOIN subscription_state s ON s.id = a.id
    WHERE a.tenant = ANY(@ids) AND s.failure_streak > 0 GROUP BY a.tenant`,
} as const;

function listingSql(plan: TenantListingPlan): { sql: string; params: Record<string, string | number> } {
  const terms: string[] = [];
  const params: Record<string, string | number> = { limit: plan.limit };
  if (plan.from !== undefined) {
    terms.push('id >= @from', 'id < @to');
    Object.assign(params, { from: plan.from, to: plan.to as string });
  }
  if (plan.after !== undefined) {
    terms.push('id > @after');
    params.after = plan.after;
  }
  const where = terms.length === 0 ? '' : `WHERE ${terms.join(' AND ')}`;
  return { sql: `SELECT * FROM tenants ${where} ORDER BY id LIMIT @limit`, params };
}

/** Creates or replaces a tenant; `erasing` wrote nothing. */
export async function putTenant(run: Runner, input: TenantInput, now: number): Promise<PutTenantResult> {
  const [row] = await run.rows<{ created: boolean }>(TENANT_SQL.put, tenantParams(input, now));
  return row === undefined ? 'erasing' : row.created ? 'created' : 'replaced';
}

/** The tenant, or null. */
export async function getTenant(run: Runner, id: string): Promise<StoredTenant | null> {
  const [row] = await run.rows<TenantRow>(TENANT_SQL.get, { id });
  return row === undefined ? null : toTenant(row);
}

/** One page of tenants by id. */
export function listTenants(run: Runner, query: TenantQuery): Promise<Page<StoredTenant>> {
  return listTenantsWith(query, (plan) => {
    const { sql, params } = listingSql(plan);
    return run.rows<TenantRow>(sql, params);
  });
}

/** Counts of these tenant ids: three grouped reads on the indexes by tenant. */
export async function tenantCounts(run: Runner, ids: string[]): Promise<Map<string, TenantCounts>> {
  const [subscriptions, backlog, failing] = [
    await run.rows<TenantCountRow>(TENANT_SQL.subscriptions, { ids }),
    await run.rows<TenantCountRow>(TENANT_SQL.backlog, { ids }),
    await run.rows<TenantCountRow>(TENANT_SQL.failing, { ids }),
  ];
  return tenantCountsFrom(ids, { subscriptions, backlog, failing });
}
