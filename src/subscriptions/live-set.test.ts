import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema';
import { silentLogger } from '../lib/logger';
import { createSqliteStore } from '../store/sqlite/sqlite-store';
import type { Store } from '../store/types';
import { LiveSubscriptions } from './live-set';

// Fan-out by tenant (SPEC 9): the live set finds a tenant's subscriptions through its index by
// tenant, so an event costs what its tenant and the platform have, never every subscription.

const config = configSchema.parse({
  storage: { sqlite: { path: ':memory:' } },
  subscriptions: [{ id: 'cfg', url: 'https://cfg.example/', events: ['order.*'], signature: { scheme: 'none' } }],
});

let store: Store;
beforeEach(async () => {
  store = createSqliteStore({ path: ':memory:', synchronous: 'normal' });
  await store.migrate();
});
afterEach(async () => {
  await store.close();
});

const api = (id: string, tenant?: string, extra: Record<string, unknown> = {}) =>
  store.insertApiSubscription(
    id,
    { id, url: `https://${id}.example/`, events: ['order.*'], signature: { scheme: 'none' }, ...extra },
    1,
    tenant,
  );

describe('LiveSubscriptions: fan-out by tenant', () => {
  it("matches the platform's subscriptions and the event's tenant's own, apart", async () => {
    await api('plat');
    await api('a1', 'acct_a');
    await api('a2', 'acct_a', { filter: { 'data.n': 1 } });
    await api('b1', 'acct_b');
    const live = await LiveSubscriptions.load({ store, logger: silentLogger }, config);
    const envelope = () => ({ data: { n: 1 } });
    expect(live.matching('order.created', envelope)).toEqual({ platform: ['cfg', 'plat'], tenant: [] });
    expect(live.matching('order.created', envelope, 'acct_a')).toEqual({ platform: ['cfg', 'plat'], tenant: ['a1', 'a2'] });
    expect(live.matching('order.created', () => ({ data: { n: 2 } }), 'acct_a').tenant).toEqual(['a1']);
    expect(live.matching('order.created', envelope, 'acct_none')).toEqual({ platform: ['cfg', 'plat'], tenant: [] });
    expect(live.matching('user.created', envelope, 'acct_b')).toEqual({ platform: [], tenant: [] });
    expect(live.ofTenant('acct_b').map((t) => t.id)).toEqual(['b1']);
    expect(
      live
        .ofTenant(null)
        .map((t) => t.id)
        .sort(),
    ).toEqual(['cfg', 'plat']);
  });

  it("never looks at another tenant's subscriptions, and follows changes from the store", async () => {
    await api('a1', 'acct_a');
    await api('b1', 'acct_b');
    const live = await LiveSubscriptions.load({ store, logger: silentLogger }, config);
    const other = live.get('b1')!;
    let asked = 0;
    const matches = other.matches;
    other.matches = (type) => (asked++, matches(type));
    live.matching('order.created', () => ({}), 'acct_a');
    live.matching('order.paid', () => ({}));
    expect(asked).toBe(0);

    await api('a2', 'acct_a');
    await live.refresh();
    expect(live.matching('order.created', () => ({}), 'acct_a').tenant).toEqual(['a1', 'a2']);
    await store.setSubscriptionEnabled('a1', false, 'test', 2);
    await live.refresh();
    expect(live.matching('order.created', () => ({}), 'acct_a').tenant).toEqual(['a2']);
  });
});
