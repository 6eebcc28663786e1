import type Database from 'better-sqlite3';
import { BLANK_DETAILS, type ErasedRows, type TenantErasureRow, toTenantErasure } from '../sql/erasure-plan';
import type { TenantErasure } from '../types';
import { CHANGES_SQL } from './subscription-changes';
import { immediateWriter } from './write-transaction';

/*
 * Tenant erasure in SQLite (the order of the work: sql/erasure-plan.ts). Every batch is one
 * IMMEDIATE transaction of at most `limit` deliveries or events, so ingest and delivery wait for
 * a few milliseconds at most. Ids travel as one JSON array parameter (json_each). secure_delete is
 * on (open-database.ts), so deleted rows are overwritten in their pages; when an erasure ends the
 * WAL, which still holds the old page images, is checkpointed and truncated.
 */

/** SQL of tenant erasure in SQLite; exported so tests can EXPLAIN it. */
export const ERASURE_SQL = {
  // A tenant without a record gets one, so ingest and PUT see `erasing` whichever came first.
  markTenant: `INSERT INTO tenants (id, name, metadata, enabled, max_subscriptions, ingest_rate, state, created_at, updated_at)
    VALUES (@tenant, NULL, NULL, 1, NULL, NULL, 'erasing', @now, @now)
    ON CONFLICT (id) DO UPDATE SET state = 'erasing', updated_at = @now`,
  // Erasing already: counts go on; done before: a new erasure counts from 0.
  start: `INSERT INTO tenant_erasures (tenant, state, events, deliveries, attempts, started_at, finished_at)
    VALUES (@tenant, 'erasing', 0, 0, 0, @now, NULL)
    ON CONFLICT (tenant) DO UPDATE SET
      events = CASE WHEN state = 'done' THEN 0 ELSE events END,
      deliveries = CASE WHEN state = 'done' THEN 0 ELSE deliveries END,
      attempts = CASE WHEN state = 'done' THEN 0 ELSE attempts END,
      started_at = CASE WHEN state = 'done' THEN @now ELSE started_at END,
      state = 'erasing', finished_at = NULL`,
  get: `SELECT * FROM tenant_erasures WHERE tenant = @tenant`,
  erasing: `SELECT tenant FROM tenant_erasures INDEXED BY tenant_erasures_erasing WHERE state = 'erasing' ORDER BY tenant`,
  subscription: `SELECT id FROM api_subscriptions INDEXED BY api_subscriptions_tenant WHERE tenant = @tenant LIMIT 1`,
  deliveriesOfSubscription: `SELECT id FROM deliveries INDEXED BY deliveries_subscription WHERE subscription_id = @id LIMIT @limit`,
  attemptsOfDeliveries: `DELETE FROM attempts WHERE delivery_id IN (SELECT value FROM json_each(@ids))`,
  deliveries: `DELETE FROM deliveries WHERE id IN (SELECT value FROM json_each(@ids))`,
  deleteSubscription: `DELETE FROM api_subscriptions WHERE id = @id`,
  deleteSubscriptionState: `DELETE FROM subscription_state WHERE id = @id`,
  recordChange: CHANGES_SQL.append,
  blankAudit: `UPDATE audit_log INDEXED BY audit_log_target SET details = '${BLANK_DETAILS}'
    WHERE target = @target AND details <> '${BLANK_DETAILS}'`,
  events: `SELECT id FROM events INDEXED BY events_tenant WHERE tenant = @tenant LIMIT @limit`,
  deliveriesOfEvents: `SELECT id FROM deliveries INDEXED BY deliveries_event WHERE event_id IN (SELECT value FROM json_each(@ids))`,
  deleteEvents: `DELETE FROM events WHERE id IN (SELECT value FROM json_each(@ids))`,
  deleteTenant: `DELETE FROM tenants WHERE id = @tenant`,
  progress: `UPDATE tenant_erasures SET events = events + @events, deliveries = deliveries + @deliveries,
      attempts = attempts + @attempts
    WHERE tenant = @tenant`,
  finish: `UPDATE tenant_erasures SET state = 'done', finished_at = @now WHERE tenant = @tenant`,
} as const;

/** Credentials of the tenant (tokens, portal links and sessions), deleted by every batch (the first one stops them working). */
const ERASE_CREDENTIALS_SQL = [`DELETE FROM tenant_tokens WHERE tenant = @tenant`, `DELETE FROM portal_sessions WHERE tenant = @tenant`];

type Params = Record<string, string | number | null>;

/** Tenant erasure over one connection, prepared on first use. */
export function createErasure(db: Database.Database) {
  const prepare = <R = unknown>(sql: string) => db.prepare<[Params], R>(sql);
  const s = Object.fromEntries(Object.entries(ERASURE_SQL).map(([name, sql]) => [name, prepare(sql)])) as {
    [K in keyof typeof ERASURE_SQL]: Database.Statement<[Params], unknown>;
  };
  const write = immediateWriter(db);
  // Prepared after migrate (on first use), so the table is there if it will ever be.
  const eraseCredentials = ERASE_CREDENTIALS_SQL.map((sql) => prepare(sql));
  const ids = (statement: Database.Statement<[Params], unknown>, params: Params) =>
    (statement.all(params) as { id: string }[]).map((r) => r.id);
  const get = (tenant: string): TenantErasure | null => {
    const row = s.get.get({ tenant }) as TenantErasureRow | undefined;
    return row === undefined ? null : toTenantErasure(row);
  };

  /** Deletes these deliveries and their attempts; adds to `erased`. */
  const deleteDeliveries = (deliveryIds: string[], erased: ErasedRows): void => {
    if (deliveryIds.length === 0) return;
    const params = { ids: JSON.stringify(deliveryIds) };
    erased.attempts += s.attemptsOfDeliveries.run(params).changes;
    erased.deliveries += s.deliveries.run(params).changes;
  };

  /** One step: a subscription's deliveries (and then itself), else events; true when nothing was left. */
  const step = (tenant: string, limit: number, now: number, erased: ErasedRows): boolean => {
    const subscription = s.subscription.get({ tenant }) as { id: string } | undefined;
    if (subscription !== undefined) {
      const { id } = subscription;
      const deliveryIds = ids(s.deliveriesOfSubscription, { id, limit });
      deleteDeliveries(deliveryIds, erased);
      if (deliveryIds.length < limit) {
        s.deleteSubscription.run({ id });
        s.deleteSubscriptionState.run({ id });
        s.recordChange.run({ id, now });
        s.blankAudit.run({ target: id });
      }
      return false;
    }
    const eventIds = ids(s.events, { tenant, limit });
    if (eventIds.length > 0) {
      deleteDeliveries(ids(s.deliveriesOfEvents, { ids: JSON.stringify(eventIds) }), erased);
      erased.events += s.deleteEvents.run({ ids: JSON.stringify(eventIds) }).changes;
    }
    return eventIds.length < limit;
  };

  return {
    start: write((tenant: string, now: number): TenantErasure => {
      s.markTenant.run({ tenant, now });
      s.start.run({ tenant, now });
      return get(tenant) as TenantErasure;
    }),
    /** One batch; `ended`: this batch finished the erasure. */
    batch: write((tenant: string, limit: number, now: number): { erasure: TenantErasure | null; ended: boolean } => {
      const before = get(tenant);
      if (before === null || before.state === 'done') return { erasure: before, ended: false };
      const erased: ErasedRows = { events: 0, deliveries: 0, attempts: 0 };
      for (const statement of eraseCredentials) statement.run({ tenant });
      const finished = step(tenant, Math.max(1, Math.floor(limit)), now, erased);
      s.progress.run({ tenant, ...erased });
      if (finished) {
        s.deleteTenant.run({ tenant });
        s.blankAudit.run({ target: tenant });
        s.finish.run({ tenant, now });
      }
      return { erasure: get(tenant), ended: finished };
    }),
    get,
    erasing: (): string[] => (s.erasing.all({}) as { tenant: string }[]).map((r) => r.tenant),
  };
}

/** Tenant erasure of one store. */
export type Erasure = ReturnType<typeof createErasure>;

/**
 * The tenants being erased, known in memory: one process owns the file and every erasure starts
 * and ends through it, so the set changes only right after the transaction that starts or ends
 * one has committed (and is read from the file at start, for an erasure a previous process left
 * running). While it is empty, claims and completions run the statements without the erasure
 * check (one probe per row saved); while it is not, they run the checked ones, which read the
 * state from the file as before.
 */
export class ErasingTenants {
  private readonly tenants: Set<string>;

  constructor(tenants: Iterable<string>) {
    this.tenants = new Set(tenants);
  }

  /** No erasure is running. */
  none(): boolean {
    return this.tenants.size === 0;
  }

  /** After the transaction that started this tenant's erasure committed. */
  started(tenant: string): void {
    this.tenants.add(tenant);
  }

  /** After the batch that finished this tenant's erasure committed. */
  ended(tenant: string): void {
    this.tenants.delete(tenant);
  }
}
