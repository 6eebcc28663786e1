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
    // A route is a plain object: wrap its predicate to count the calls.
    const other = live.route('b1') as { matches: (type: string) => boolean };
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

describe('LiveSubscriptions: targets compiled on demand', () => {
  it('routes without compiling, compiles a target on first use, and recompiles it after a change', async () => {
    await api('a1', 'acct_a', { filter: { 'data.n': 1 } });
    await api('a2', 'acct_a');
    const live = await LiveSubscriptions.load({ store, logger: silentLogger }, config);
    expect(live.route('a1')).toMatchObject({ id: 'a1', tenant: 'acct_a', enabled: true, hasFilter: true });
    const first = live.get('a1')!;
    expect(first.url).toBe('https://a1.example/');
    expect(first.tenant).toBe('acct_a');
    expect(live.get('a1')).toBe(first);
    // The filter is the compiled target's: routing asks it only for a1.
    expect(live.matching('order.created', () => ({ data: { n: 2 } }), 'acct_a').tenant).toEqual(['a2']);

    await store.updateApiSubscription(
      'a1',
      { id: 'a1', url: 'https://new.example/', events: ['order.*'], signature: { scheme: 'none' } },
      3,
    );
    await live.refresh();
    const second = live.get('a1')!;
    expect(second).not.toBe(first);
    expect(second.url).toBe('https://new.example/');
    expect(live.route('a1')?.hasFilter).toBe(false);
    expect(live.matching('order.created', () => ({ data: { n: 2 } }), 'acct_a').tenant.sort()).toEqual(['a1', 'a2']);

    await store.setSubscriptionEnabled('a2', false, 'paused by test', 4);
    await live.refresh();
    expect(live.get('a2')).toMatchObject({ enabled: false, disabledReason: 'paused by test' });
    expect(live.enabled().map((r) => r.id)).toEqual(['cfg', 'a1']);
  });

  it('keeps a bounded number of compiled targets, and compiles an evicted one again the same', async () => {
    for (let i = 0; i < 5000; i++) await api(`s${String(i).padStart(4, '0')}`, `t${i}`);
    const live = await LiveSubscriptions.load({ store, logger: silentLogger }, config);
    expect(live.size).toBe(5001);
    const early = live.get('s0000')!;
    for (let i = 1; i < 5000; i++) expect(live.get(`s${String(i).padStart(4, '0')}`)?.tenant).toBe(`t${i}`);
    const again = live.get('s0000')!;
    expect(again).not.toBe(early);
    expect({ ...again, matches: null, signer: null, secretsAt: null }).toEqual({ ...early, matches: null, signer: null, secretsAt: null });
  });
});
