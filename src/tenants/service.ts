import { AppError, notFound } from '../lib/app-error';
import type { Clock } from '../lib/clock';
import type { Store, StoredTenant, TenantCounts, TenantErasure, TenantInput } from '../store/types';

/*
 * Tenant records (SPEC 9): create or replace, read and list, each shown with its counts. The counts
 * are asked of the store for the tenants shown only, so a page costs what it returns.
 */

/** What the tenant actions need of the running relay. */
export interface TenantDeps {
  store: Store;
  clock: Clock;
  /** Wake the erasure worker: an erasure was just started. Absent: its next look finds it. */
  eraseSoon?(): void;
}

/** How the API shows an erasure (GET /tenants/{tenant}/erasure): counts of rows erased so far. */
export interface ErasureView {
  tenant: string;
  state: TenantErasure['state'];
  events: number;
  deliveries: number;
  attempts: number;
  started_at: string;
  finished_at: string | null;
}

/** How the API shows a tenant. */
export interface TenantView {
  id: string;
  name: string | null;
  metadata: Record<string, unknown> | null;
  enabled: boolean;
  limits: { max_subscriptions: number | null; ingest_rate: string | null };
  state: StoredTenant['state'];
  subscriptions: number;
  backlog: number;
  failing: number;
  created_at: string;
  updated_at: string;
}

const NO_COUNTS: TenantCounts = { subscriptions: 0, backlog: 0, failing: 0 };

function viewOf(tenant: StoredTenant, counts: TenantCounts | undefined): TenantView {
  const { subscriptions, backlog, failing } = counts ?? NO_COUNTS;
  return {
    id: tenant.id,
    name: tenant.name,
    metadata: tenant.metadata,
    enabled: tenant.enabled,
    limits: { max_subscriptions: tenant.maxSubscriptions, ingest_rate: tenant.ingestRate },
    state: tenant.state,
    subscriptions,
    backlog,
    failing,
    created_at: new Date(tenant.createdAt).toISOString(),
    updated_at: new Date(tenant.updatedAt).toISOString(),
  };
}

/** Creates or replaces a tenant record; 409 `tenant_erasing` while it is being erased. */
export async function putTenant(deps: TenantDeps, input: TenantInput): Promise<{ created: boolean; view: TenantView }> {
  // Disabling ends its portal sessions (SPEC 10): refused with 403 while disabled (they are a
  // disabled tenant's credentials), removed when it is enabled again, so the customer needs a new link.
  const wasDisabled = input.enabled && (await deps.store.getTenant(input.id))?.enabled === false;
  const outcome = await deps.store.putTenant(input, deps.clock.now());
  if (outcome === 'erasing') {
    throw new AppError(409, 'tenant_erasing', { detail: `tenant '${input.id}' is being erased; it cannot be changed until that ends` });
  }
  if (wasDisabled) await deps.store.endPortalSessions(input.id);
  return { created: outcome === 'created', view: await getTenant(deps, input.id) };
}

/** One tenant with its counts; 404 when it has no record. */
export async function getTenant(deps: TenantDeps, id: string): Promise<TenantView> {
  const tenant = await deps.store.getTenant(id);
  if (tenant === null) throw notFound(`no tenant '${id}'`);
  return viewOf(tenant, (await deps.store.tenantCounts([id])).get(id));
}

/** One page of tenants by id, each with its counts. */
export async function listTenants(
  deps: TenantDeps,
  query: { q?: string | undefined; limit: number; cursor?: string | undefined },
): Promise<{ data: TenantView[]; nextCursor: string | null }> {
  const page = await deps.store.listTenants(query);
  const counts = await deps.store.tenantCounts(page.data.map((t) => t.id));
  return { data: page.data.map((t) => viewOf(t, counts.get(t.id))), nextCursor: page.nextCursor };
}

const erasureView = (e: TenantErasure): ErasureView => ({
  tenant: e.tenant,
  state: e.state,
  events: e.events,
  deliveries: e.deliveries,
  attempts: e.attempts,
  started_at: new Date(e.startedAt).toISOString(),
  finished_at: e.finishedAt === null ? null : new Date(e.finishedAt).toISOString(),
});

/**
 * Starts erasing every row of the tenant, record or not (SPEC 9). The store marks it erasing in
 * one transaction (ingest and PUT refuse it from then on); the worker deletes the rest in batches.
 * Again while erasing: the same erasure goes on.
 */
export async function startErasure(deps: TenantDeps, id: string): Promise<ErasureView> {
  const erasure = await deps.store.startTenantErasure(id, deps.clock.now());
  deps.eraseSoon?.();
  return erasureView(erasure);
}

/** The tenant's erasure, under way or done; 404 when it was never erased. */
export async function getErasure(deps: TenantDeps, id: string): Promise<ErasureView> {
  const erasure = await deps.store.getTenantErasure(id);
  if (erasure === null) throw notFound(`tenant '${id}' was never erased`);
  return erasureView(erasure);
}
