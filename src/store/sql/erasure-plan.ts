import type { TenantErasure } from '../types';

/*
 * Tenant erasure (Store.eraseTenantBatch), the part every backend shares: the row of
 * `tenant_erasures`, and the order of the work. Every batch first deletes the tenant's
 * credentials (tokens, portal links and sessions), so the first one stops them working. A batch
 * then empties the tenant's API subscriptions one at a time (their deliveries, whatever event they
 * carry, then the subscription with its run-time state), so no live set keeps sending to its
 * endpoints while its events go; then its events, oldest rows first, each with every delivery
 * (platform subscriptions' included) and attempt. A delivery's tenant is its event's, so nothing
 * of the tenant outlives its events.
 */

/** A row of `tenant_erasures` (migrations sqlite/0007, postgres/0006); counts are BIGINT strings in Postgres. */
export interface TenantErasureRow {
  tenant: string;
  state: 'erasing' | 'done';
  events: number | string;
  deliveries: number | string;
  attempts: number | string;
  started_at: number | string;
  finished_at: number | string | null;
}

/** A TenantErasure from its row. */
export function toTenantErasure(row: TenantErasureRow): TenantErasure {
  return {
    tenant: row.tenant,
    state: row.state,
    events: Number(row.events),
    deliveries: Number(row.deliveries),
    attempts: Number(row.attempts),
    startedAt: Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}

/** Rows one batch erased, added to the erasure's counts in the same transaction. */
export interface ErasedRows {
  events: number;
  deliveries: number;
  attempts: number;
}

/** Audit details left on entries about an erased tenant or its subscriptions: action, actor and target stay. */
export const BLANK_DETAILS = '{}';
