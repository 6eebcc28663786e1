import type { Context } from 'hono';
import { AppError } from '../problem';
import type { StoredDelivery } from '../../store/types';
import { unknownSubscription } from '../../subscriptions/definition';
import type { AdminEnv, Viewer } from './auth';
import type { AdminDeps } from './deps';
import { errorForTenant } from '../../net/guard';

/*
 * What a tenant credential may see (SPEC 9), decided here once per kind of resource: the routes
 * ask for the viewer's tenant filter, or guard their `{id}` with the middleware below. An id the
 * viewer may not see answers 404, exactly as an unknown one.
 */

/** The viewer's tenant; undefined for an operator token (it sees everything). */
export function viewerTenant(c: Context<AdminEnv>): string | undefined {
  const viewer: Viewer = c.get('viewer');
  return viewer.kind === 'tenant' ? viewer.tenant : undefined;
}

/** The `?tenant=` filter of a listing: as asked for an operator; a tenant credential's own (another one: 404). */
export function listingTenant(c: Context<AdminEnv>, asked: string | null | undefined): string | null | undefined {
  const own = viewerTenant(c);
  if (own === undefined) return asked;
  if (asked !== undefined && asked !== own) throw new AppError(404, 'not_found', { detail: `no tenant '${asked ?? ''}'` });
  return own;
}

/** true when a tenant credential of `tenant` may see the subscription `id`: its own API subscriptions only. */
export const ownsSubscription = (deps: AdminDeps, tenant: string, id: string) => deps.live.get(id)?.tenant === tenant;

/**
 * true when a tenant credential of `tenant` may see the delivery: its event is the tenant's and so
 * is its subscription (a delivery of its event to a platform subscription is the platform's). A
 * delivery whose subscription was deleted is no longer shown to the tenant.
 */
export const ownsDelivery = (deps: AdminDeps, tenant: string, d: StoredDelivery) =>
  d.tenant === tenant && ownsSubscription(deps, tenant, d.subscriptionId);

/** 404 for `/subscriptions/{id}…` of a subscription the tenant credential does not own. */
export function guardSubscription(deps: AdminDeps) {
  return async (c: Context<AdminEnv>, next: () => Promise<void>) => {
    const tenant = viewerTenant(c);
    const id = c.req.param('id');
    if (tenant !== undefined && id !== undefined && !ownsSubscription(deps, tenant, id)) throw unknownSubscription(id);
    await next();
  };
}

/** 404 for `/deliveries/{id}…` of a delivery the tenant credential does not own. */
export function guardDelivery(deps: AdminDeps) {
  return async (c: Context<AdminEnv>, next: () => Promise<void>) => {
    const tenant = viewerTenant(c);
    const id = c.req.param('id');
    if (tenant !== undefined && id !== undefined) {
      const delivery = await deps.store.getDelivery(id);
      if (delivery === null || !ownsDelivery(deps, tenant, delivery)) throw new AppError(404, 'not_found', { detail: `no delivery ${id}` });
    }
    await next();
  };
}

/** 404 for `/events/{id}…` of an event that is not the tenant credential's (a platform event included). */
export function guardEvent(deps: AdminDeps) {
  return async (c: Context<AdminEnv>, next: () => Promise<void>) => {
    const tenant = viewerTenant(c);
    const id = c.req.param('id');
    if (tenant !== undefined && id !== undefined) {
      const event = await deps.store.getEvent(id);
      if (event === null || event.tenant !== tenant) throw new AppError(404, 'not_found', { detail: `no event ${id}` });
    }
    await next();
  };
}

export { BLOCKED_FOR_TENANT } from '../../net/guard';

/** An attempt's or delivery's error as the viewer may read it: a tenant credential never sees a blocked address. */
export function shownError(c: Context<AdminEnv>, error: string | null): string | null {
  return viewerTenant(c) !== undefined ? errorForTenant(error) : error;
}
