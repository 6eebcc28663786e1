import type Database from 'better-sqlite3';
import { toTenant } from '../sql/from-rows';
import type { TenantRow } from '../sql/rows';
import {
  listTenantsWith,
  putOutcome,
  type TenantCountRow,
  tenantCountsFrom,
  tenantParams,
  type TenantListingPlan,
} from '../sql/tenant-plan';
import type { Page, PutTenantResult, StoredTenant, TenantCounts, TenantInput, TenantQuery } from '../types';
import { immediateWriter } from './write-transaction';

/*
 * Tenants in SQLite (the plans are shared: sql/tenant-plan.ts). Ids asked for counts travel as one
 * JSON array parameter (json_each), so any number of them needs one statement each.
 */

/** SQL of the tenant reads and writes in SQLite; exported so tests can EXPLAIN them. */
export const TENANT_SQL = {
  state: `SELECT state FROM tenants WHERE id = @id`,
  insert: `INSERT INTO tenants (id, name, metadata, enabled, max_subscriptions, ingest_rate, state, created_at, updated_at)
    VALUES (@id, @name, @metadata, @enabled, @maxSubscriptions, @ingestRate, 'active', @now, @now)`,
  replace: `UPDATE tenants SET name = @name, metadata = @metadata, enabled = @enabled, max_subscriptions = @maxSubscriptions,
      ingest_rate = @ingestRate, updated_at = @now
    WHERE id = @id AND state = 'active'`,
  get: `SELECT * FROM tenants WHERE id = @id`,
  // Counts ride the indexes by tenant: api_subscriptions_tenant and the partial deliveries_tenant_waiting.
  subscriptions: `SELECT tenant, COUNT(*) AS count FROM api_subscriptions INDEXED BY api_subscriptions_tenant
    WHERE tenant IN (SELECT value FROM json_each(@ids)) GROUP BY tenant`,
  backlog: `SELECT tenant, COUNT(*) AS count FROM deliveries INDEXED BY deliveries_tenant_waiting
    WHERE tenant IN (SELECT value FROM json_each(@ids)) AND status IN ('pending', 'retrying') GROUP BY tenant`,
  failing: `SELECT a.tenant AS tenant, COUNT(*) AS count FROM api_subscriptions a INDEXED BY api_subscriptions_tenant
    JOIN subscription_state s ON s.id = a.id
    WHERE a.tenant IN (SELECT value FROM json_each(@ids)) AND s.failure_streak > 0 GROUP BY a.tenant`,
} as const;

/** The SQL of one page of tenants (by the primary key, ascending). */
export function tenantListingSql(plan: TenantListingPlan): { sql: string; params: Record<string, string | number> } {
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

/** Tenant reads and writes over one connection, prepared on first use. */
export function createTenants(db: Database.Database) {
  const prepare = <R>(sql: string) => db.prepare<[Record<string, unknown>], R>(sql);
  const s = {
    state: prepare<{ state: TenantRow['state'] }>(TENANT_SQL.state),
    insert: prepare(TENANT_SQL.insert),
    replace: prepare(TENANT_SQL.replace),
    get: prepare<TenantRow>(TENANT_SQL.get),
    subscriptions: prepare<TenantCountRow>(TENANT_SQL.subscriptions),
    backlog: prepare<TenantCountRow>(TENANT_SQL.backlog),
    failing: prepare<TenantCountRow>(TENANT_SQL.failing),
  };
  const pages = new Map<string, Database.Statement<[Record<string, unknown>], TenantRow>>();
  const write = immediateWriter(db);
  return {
    put: write((input: TenantInput, now: number): PutTenantResult => {
      const outcome = putOutcome(s.state.get({ id: input.id })?.state);
      const params = tenantParams(input, now);
      if (outcome === 'created') s.insert.run(params);
      else if (outcome === 'replaced') s.replace.run(params);
      return outcome;
    }),
    get(id: string): StoredTenant | null {
      const row = s.get.get({ id });
      return row === undefined ? null : toTenant(row);
    },
    list(query: TenantQuery): Promise<Page<StoredTenant>> {
      return listTenantsWith(query, (plan) => {
        const { sql, params } = tenantListingSql(plan);
        let statement = pages.get(sql);
        if (statement === undefined) pages.set(sql, (statement = prepare<TenantRow>(sql)));
        return statement.all(params);
      });
    },
    counts(ids: string[]): Map<string, TenantCounts> {
      const params = { ids: JSON.stringify(ids) };
      // One read transaction: the three counts see the same moment.
      return db.transaction(() =>
        tenantCountsFrom(ids, {
          subscriptions: s.subscriptions.all(params),
          backlog: s.backlog.all(params),
          failing: s.failing.all(params),
        }),
      )();
    },
  };
}

/** Tenant reads and writes of one store. */
export type Tenants = ReturnType<typeof createTenants>;
