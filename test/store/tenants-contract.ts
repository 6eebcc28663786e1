import { describe, expect, it } from 'vitest';
import type { DeliveryStatus, Store, TenantInput } from '../../src/store/types';
import { claimOf, newEvent, result, T } from './fixtures';

/*
 * Tenants in the Store contract (SPEC 9): the record (put, get, list by id with a prefix), the
 * tenant column of API subscriptions, events and deliveries, and the counts shown with a tenant.
 * Runs inside describeStoreContract, on its fresh migrated store.
 */

const input = (id: string, overrides: Partial<TenantInput> = {}): TenantInput => ({
  id,
  name: null,
  metadata: null,
  enabled: true,
  maxSubscriptions: null,
  ingestRate: null,
  ...overrides,
});

export function describeTenantsContract(getStore: () => Store): void {
  describe('tenants', () => {
    it('creates a tenant, replaces it keeping created_at, and clears omitted fields', async () => {
      const store = getStore();
      expect(await store.getTenant('acct_42')).toBeNull();
      const full = input('acct_42', {
        name: 'Acme',
        metadata: { plan: 'pro', seats: 3, nested: { ok: [true, null] } },
        enabled: false,
        maxSubscriptions: 10,
        ingestRate: '100/s',
      });
      expect(await store.putTenant(full, T)).toBe('created');
      expect(await store.getTenant('acct_42')).toEqual({ ...full, state: 'active', createdAt: T, updatedAt: T });

      expect(await store.putTenant(input('acct_42'), T + 5)).toBe('replaced');
      expect(await store.getTenant('acct_42')).toEqual({ ...input('acct_42'), state: 'active', createdAt: T, updatedAt: T + 5 });
    });

    it('lists tenants by id with a cursor, and by id prefix', async () => {
      const store = getStore();
      for (const id of ['b', 'acct_2', 'acct_10', 'acct_1', 'acct', 'ac', 'acct:x', 'z.9']) await store.putTenant(input(id), T);
      const first = await store.listTenants({ limit: 3 });
      expect(first.data.map((t) => t.id)).toEqual(['ac', 'acct', 'acct:x']);
      const second = await store.listTenants({ limit: 3, cursor: first.nextCursor! });
      expect(second.data.map((t) => t.id)).toEqual(['acct_1', 'acct_10', 'acct_2']);
      const last = await store.listTenants({ limit: 3, cursor: second.nextCursor! });
      expect(last).toEqual({ data: [expect.objectContaining({ id: 'b' }), expect.objectContaining({ id: 'z.9' })], nextCursor: null });

      const prefixed = await store.listTenants({ q: 'acct_', limit: 2 });
      expect(prefixed.data.map((t) => t.id)).toEqual(['acct_1', 'acct_10']);
      const rest = await store.listTenants({ q: 'acct_', limit: 2, cursor: prefixed.nextCursor! });
      expect(rest).toEqual({ data: [expect.objectContaining({ id: 'acct_2' })], nextCursor: null });
      expect((await store.listTenants({ q: 'acct', limit: 10 })).data.map((t) => t.id)).toEqual([
        'acct',
        'acct:x',
        'acct_1',
        'acct_10',
        'acct_2',
      ]);
      expect(await store.listTenants({ q: 'nobody', limit: 10 })).toEqual({ data: [], nextCursor: null });
    });

    it('refuses a cursor it did not make', async () => {
      const store = getStore();
      await store.putTenant(input('a'), T);
      await store.putTenant(input('b'), T);
      await expect(store.listTenants({ limit: 1, cursor: 'bm90LWEtY3Vyc29y' })).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
    });

    it('stores the tenant of API subscriptions, events and their deliveries (replays too)', async () => {
      const store = getStore();
      expect(await store.insertApiSubscription('sub_t', { url: 'https://t.example' }, T, 'acct_42')).toBe(true);
      expect(await store.insertApiSubscription('sub_p', { url: 'https://p.example' }, T)).toBe(true);
      expect(await store.getApiSubscription('sub_t')).toEqual({
        id: 'sub_t',
        spec: { url: 'https://t.example' },
        createdAt: T,
        updatedAt: T,
        tenant: 'acct_42',
      });
      expect((await store.getApiSubscription('sub_p'))?.tenant).toBeUndefined();
      expect((await store.listApiSubscriptions()).map((s) => [s.id, s.tenant ?? null])).toEqual([
        ['sub_p', null],
        ['sub_t', 'acct_42'],
      ]);

      const event = newEvent({ tenant: 'acct_42', subscriptionIds: ['sub_t', 'sub_p'] });
      await store.ingest([[event]]);
      expect((await store.getEvent(event.id))?.tenant).toBe('acct_42');
      const deliveries = await store.listDeliveriesOfEvent(event.id);
      expect(deliveries.map((d) => d.tenant)).toEqual(['acct_42', 'acct_42']);
      const [replayed] = await store.addDeliveries(event.id, ['sub_p'], T + 1);
      expect((await store.getDelivery(replayed!))?.tenant).toBe('acct_42');

      const platform = newEvent({ subscriptionIds: ['sub_p'] });
      await store.ingest([[platform]]);
      expect((await store.getEvent(platform.id))?.tenant).toBeUndefined();
      expect((await store.listDeliveriesOfEvent(platform.id))[0]?.tenant).toBeUndefined();
      expect((await store.listEvents({ limit: 10 })).data.map((e) => e.tenant ?? null)).toEqual([null, 'acct_42']);
    });

    it('shows a leased delivery as delivering in every read, whatever the store keeps in memory', async () => {
      const store = getStore();
      await store.putTenant(input('acct_1'), T);
      await store.insertApiSubscription('s1', { url: 'https://1.example' }, T, 'acct_1');
      const first = newEvent({ tenant: 'acct_1', subscriptionIds: ['s1'], createdAt: T });
      const second = newEvent({ tenant: 'acct_1', subscriptionIds: ['s1'], createdAt: T + 5 });
      await store.ingest([[first], [second]]);
      const [leased] = await store.claim([claimOf('s1', 1)], 'owner', T + 10);
      const [waiting] = await store.listDeliveriesOfEvent(second.id);
      expect(leased!.event.id).toBe(first.id);

      expect(await store.getDelivery(leased!.id)).toMatchObject({ status: 'delivering', attempts: 0 });
      expect((await store.listDeliveriesOfEvent(first.id)).map((d) => d.status)).toEqual(['delivering']);
      const listed = async (status: DeliveryStatus) =>
        (await store.listDeliveries({ status, subscriptionId: 's1', limit: 10 })).data.map((d) => [d.id, d.status]);
      expect(await listed('delivering')).toEqual([[leased!.id, 'delivering']]);
      expect(await listed('pending')).toEqual([[waiting!.id, 'pending']]);
      expect((await store.listDeliveries({ status: 'delivering', limit: 10 })).data.map((d) => d.id)).toEqual([leased!.id]);
      expect((await store.listDeliveries({ subscriptionId: 's1', limit: 10 })).data.map((d) => d.status)).toEqual([
        'pending',
        'delivering',
      ]);
      expect((await store.listDeliveries({ tenant: 'acct_1', limit: 10 })).data.map((d) => d.status)).toEqual(['pending', 'delivering']);

      expect(await store.countDeliveriesByStatus()).toMatchObject({ pending: 1, delivering: 1 });
      const [stats] = await store.deliveryStats(['s1']);
      expect(stats).toMatchObject({ backlog: 1, oldestWaitingCreatedAt: T + 5, counts: { pending: 1, delivering: 1 } });
      expect(await store.waitingTotals([])).toEqual({ backlog: 1, oldestWaitingCreatedAt: T + 5 });
      expect((await store.tenantCounts(['acct_1'])).get('acct_1')).toMatchObject({ backlog: 1 });
      // Nothing else of it is due, and neither retry nor cancel may touch it.
      expect(await store.nextDueAt(['s1'])).toBe(T + 5);
      expect(await store.retryDelivery(leased!.id, T + 20)).toEqual({ kind: 'conflict', status: 'delivering' });
      expect(await store.cancelDelivery(leased!.id, T + 20)).toEqual({ kind: 'conflict', status: 'delivering' });

      // Its subscription removed: the waiting one is cancelled, the leased one is left to its attempt.
      expect(await store.deleteApiSubscription('s1', T + 30)).toBe(true);
      expect(await store.getDelivery(waiting!.id)).toMatchObject({ status: 'cancelled' });
      expect(await store.complete([result(leased!.id, 'owner', { status: 'cancelled' }, { subscriptionId: 's1' })], T + 40)).toEqual([
        true,
      ]);
      expect(await store.getDelivery(leased!.id)).toMatchObject({ status: 'cancelled', attempts: 1 });
      expect(await store.countDeliveriesByStatus()).toMatchObject({ delivering: 0, cancelled: 2 });
    });

    it('counts subscriptions, backlog and failing subscriptions of the tenants asked only', async () => {
      const store = getStore();
      await store.putTenant(input('acct_1'), T);
      await store.insertApiSubscription('s1', { url: 'https://1.example' }, T, 'acct_1');
      await store.insertApiSubscription('s2', { url: 'https://2.example' }, T, 'acct_1');
      await store.insertApiSubscription('s3', { url: 'https://3.example' }, T, 'acct_2');
      await store.insertApiSubscription('platform', { url: 'https://p.example' }, T);
      // acct_1: two events to s1 and platform (4 deliveries); one s1 delivery fails and retries.
      await store.ingest([[newEvent({ tenant: 'acct_1', subscriptionIds: ['s1', 'platform'] })]]);
      await store.ingest([[newEvent({ tenant: 'acct_1', subscriptionIds: ['s1', 'platform'] })]]);
      await store.ingest([[newEvent({ tenant: 'acct_2', subscriptionIds: ['s3'] })]]);
      await store.ingest([[newEvent({ subscriptionIds: ['platform'] })]]);
      const [leased] = await store.claim([claimOf('s1', 1)], 'owner', T + 1);
      await store.complete(
        [result(leased!.id, 'owner', { status: 'retrying', nextAttemptAt: T + 60_000 }, { subscriptionId: 's1' })],
        T + 2,
      );
      const [done] = await store.claim([claimOf('s3', 1)], 'owner', T + 1);
      await store.complete([result(done!.id, 'owner', { status: 'succeeded' }, { subscriptionId: 's3' })], T + 2);

      const counts = await store.tenantCounts(['acct_1', 'acct_2', 'acct_none']);
      expect(Object.fromEntries(counts)).toEqual({
        acct_1: { subscriptions: 2, backlog: 4, failing: 1 },
        acct_2: { subscriptions: 1, backlog: 0, failing: 0 },
        acct_none: { subscriptions: 0, backlog: 0, failing: 0 },
      });
      expect([...(await store.tenantCounts(['acct_2'])).keys()]).toEqual(['acct_2']);
      expect((await store.tenantCounts([])).size).toBe(0);
    });

    it('decides tenant deliveries in the ingest transaction: kept without a record or enabled, dropped when disabled', async () => {
      const store = getStore();
      const unknown = newEvent({ tenant: 'acct_none', subscriptionIds: ['p'], tenantSubscriptionIds: ['t1', 't2'] });
      expect(await store.ingest([[unknown]])).toEqual([{ kind: 'ok', events: [{ id: unknown.id, deliveries: 3, created: true }] }]);
      expect((await store.listDeliveriesOfEvent(unknown.id)).map((d) => d.subscriptionId).sort()).toEqual(['p', 't1', 't2']);

      await store.putTenant(input('acct_on'), T);
      await store.putTenant(input('acct_off', { enabled: false }), T);
      const on = newEvent({ tenant: 'acct_on', subscriptionIds: ['p'], tenantSubscriptionIds: ['t1'] });
      const off = newEvent({ tenant: 'acct_off', subscriptionIds: ['p'], tenantSubscriptionIds: ['t3'] });
      expect(await store.ingest([[on], [off]])).toEqual([
        { kind: 'ok', events: [{ id: on.id, deliveries: 2, created: true }] },
        { kind: 'ok', events: [{ id: off.id, deliveries: 1, created: true }] },
      ]);
      expect((await store.listDeliveriesOfEvent(off.id)).map((d) => d.subscriptionId)).toEqual(['p']);
      expect((await store.getEvent(off.id))?.tenant).toBe('acct_off');

      // Enabled again: the next event of the tenant gets its own deliveries.
      await store.putTenant(input('acct_off'), T + 1);
      const later = newEvent({ tenant: 'acct_off', subscriptionIds: [], tenantSubscriptionIds: ['t3'] });
      expect((await store.ingest([[later]]))[0]).toEqual({ kind: 'ok', events: [{ id: later.id, deliveries: 1, created: true }] });
    });

    it('lists events and deliveries of one tenant, or of none (platform), newest first', async () => {
      const store = getStore();
      const a1 = newEvent({ tenant: 'acct_a', createdAt: T, subscriptionIds: ['p', 'x'] });
      const b1 = newEvent({ tenant: 'acct_b', createdAt: T + 1, subscriptionIds: ['p'] });
      const p1 = newEvent({ createdAt: T + 2, subscriptionIds: ['p'] });
      const a2 = newEvent({ tenant: 'acct_a', createdAt: T + 3, subscriptionIds: ['p'] });
      for (const e of [a1, b1, p1, a2]) await store.ingest([[e]]);

      const events = async (tenant: string | null) => (await store.listEvents({ tenant, limit: 10 })).data.map((e) => e.id);
      expect(await events('acct_a')).toEqual([a2.id, a1.id]);
      expect(await events('acct_b')).toEqual([b1.id]);
      expect(await events(null)).toEqual([p1.id]);
      const first = await store.listEvents({ tenant: 'acct_a', limit: 1 });
      expect((await store.listEvents({ tenant: 'acct_a', limit: 1, cursor: first.nextCursor! })).data.map((e) => e.id)).toEqual([a1.id]);

      const deliveries = async (query: { tenant: string | null; status?: 'pending'; subscriptionId?: string }) =>
        (await store.listDeliveries({ ...query, limit: 10 })).data.map((d) => [d.eventId, d.subscriptionId, d.tenant ?? null]);
      expect(await deliveries({ tenant: 'acct_a' })).toEqual([
        [a2.id, 'p', 'acct_a'],
        [a1.id, 'x', 'acct_a'],
        [a1.id, 'p', 'acct_a'],
      ]);
      expect((await deliveries({ tenant: 'acct_a', status: 'pending' })).length).toBe(3);
      expect(await deliveries({ tenant: 'acct_a', subscriptionId: 'x', status: 'pending' })).toEqual([[a1.id, 'x', 'acct_a']]);
      expect(await deliveries({ tenant: null })).toEqual([[p1.id, 'p', null]]);
    });

    it("lists a tenant's deliveries to its own subscriptions only (subscriptionIn), in full pages", async () => {
      const store = getStore();
      const events = [0, 1, 2].map((i) => newEvent({ tenant: 'acct_a', createdAt: T + i, subscriptionIds: ['p', 'own1', 'own2'] }));
      for (const e of events) await store.ingest([[e]]);
      await store.ingest([[newEvent({ tenant: 'acct_b', subscriptionIds: ['own1'] })]]);

      const query = { tenant: 'acct_a', subscriptionIn: ['own1', 'own2'] };
      const all = (await store.listDeliveries({ ...query, limit: 10 })).data;
      expect(all.map((d) => d.subscriptionId).sort()).toEqual(['own1', 'own1', 'own1', 'own2', 'own2', 'own2']);
      const first = await store.listDeliveries({ ...query, limit: 4 });
      expect(first.data.map((d) => d.subscriptionId).every((s) => s !== 'p')).toBe(true);
      expect(first.data).toHaveLength(4);
      const rest = await store.listDeliveries({ ...query, limit: 4, cursor: first.nextCursor! });
      expect(rest.data).toHaveLength(2);
      expect(rest.nextCursor).toBeNull();
      expect((await store.listDeliveries({ tenant: 'acct_a', subscriptionIn: [], limit: 10 })).data).toEqual([]);
      expect((await store.listDeliveries({ ...query, status: 'pending', limit: 10 })).data).toHaveLength(6);
    });
  });
}
