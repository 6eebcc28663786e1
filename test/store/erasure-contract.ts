import { describe, expect, it } from 'vitest';
import type { Store, TenantErasure } from '../../src/store/types';
import { claimOf, newEvent, result, T } from './fixtures';

/*
 * Tenant erasure in the Store contract (SPEC 9): start marks the tenant erasing (record or not),
 * batches delete its subscriptions, events, deliveries (platform ones included) and attempts,
 * counting them, and the last one removes the record and blanks the audit details about it.
 * Runs inside describeStoreContract, on its fresh migrated store.
 */

/** Batches until done; returns the final progress and how many batches it took. */
async function eraseAll(store: Store, tenant: string, limit: number): Promise<{ erasure: TenantErasure; batches: number }> {
  for (let batches = 1; batches < 1000; batches++) {
    const erasure = await store.eraseTenantBatch(tenant, limit, T + 100);
    if (erasure === null) throw new Error('no erasure');
    if (erasure.state === 'done') return { erasure, batches };
  }
  throw new Error('erasure never ended');
}

export function describeErasureContract(getStore: () => Store): void {
  describe('tenant erasure', () => {
    it('marks the tenant erasing (creating its record), refuses put and ingest, and keeps counts when started twice', async () => {
      const store = getStore();
      expect(await store.getTenantErasure('acct_x')).toBeNull();
      expect(await store.eraseTenantBatch('acct_x', 10, T)).toBeNull();
      const started = await store.startTenantErasure('acct_x', T);
      expect(started).toEqual({
        tenant: 'acct_x',
        state: 'erasing',
        events: 0,
        deliveries: 0,
        attempts: 0,
        startedAt: T,
        finishedAt: null,
      });
      expect((await store.getTenant('acct_x'))?.state).toBe('erasing');
      expect(await store.erasingTenants()).toEqual(['acct_x']);
      expect(
        await store.putTenant({ id: 'acct_x', name: null, metadata: null, enabled: true, maxSubscriptions: null, ingestRate: null }, T),
      ).toBe('erasing');
      expect(await store.ingest([[newEvent({ tenant: 'acct_x' })]])).toEqual([{ kind: 'tenant_erasing', tenant: 'acct_x' }]);
      expect((await store.startTenantErasure('acct_x', T + 5)).startedAt).toBe(T);
    });

    it('erases subscriptions, events, deliveries (platform ones too) and attempts in batches, and nothing of other tenants', async () => {
      const store = getStore();
      await store.putTenant(
        { id: 'acct_e', name: 'E', metadata: { secret: 'm' }, enabled: true, maxSubscriptions: null, ingestRate: null },
        T,
      );
      await store.insertApiSubscription('sub_e1', { url: 'https://e1.example' }, T, 'acct_e');
      await store.insertApiSubscription('sub_e2', { url: 'https://e2.example' }, T, 'acct_e');
      await store.insertApiSubscription('sub_o', { url: 'https://o.example' }, T, 'acct_o');
      await store.insertApiSubscription('plat', { url: 'https://p.example' }, T);
      const mine = Array.from({ length: 7 }, () =>
        newEvent({ tenant: 'acct_e', subscriptionIds: ['plat'], tenantSubscriptionIds: ['sub_e1'] }),
      );
      const other = newEvent({ tenant: 'acct_o', subscriptionIds: ['plat'], tenantSubscriptionIds: ['sub_o'] });
      const platform = newEvent({ subscriptionIds: ['plat', 'sub_e2'] });
      for (const e of [...mine, other, platform]) await store.ingest([[e]]);
      // One attempt to a tenant subscription, one to the platform subscription: both go.
      const [toTenant] = await store.claim([claimOf('sub_e1', 1)], 'w', T + 1);
      await store.complete([result(toTenant!.id, 'w', { status: 'succeeded' }, { subscriptionId: 'sub_e1' })], T + 2);
      const leased = await store.claim([claimOf('plat', 20)], 'w', T + 1);
      const platformOfMine = leased.find((d) => d.event.tenant === 'acct_e')!;
      await store.complete(
        [result(platformOfMine.id, 'w', { status: 'retrying', nextAttemptAt: T + 9 }, { subscriptionId: 'plat' })],
        T + 2,
      );
      const platformOfOther = leased.find((d) => d.event.tenant === 'acct_o')!;
      await store.complete([result(platformOfOther.id, 'w', { status: 'succeeded' }, { subscriptionId: 'plat' })], T + 2);
      await store.appendAudit({ id: 'aud_1', at: T, actor: 'ops', action: 'tenant.put', target: 'acct_e', details: { name: 'E' } });
      await store.appendAudit({ id: 'aud_2', at: T, actor: 'ops', action: 'subscription.create', target: 'sub_e1', details: { url: 'x' } });
      await store.appendAudit({ id: 'aud_3', at: T, actor: 'ops', action: 'tenant.put', target: 'acct_o', details: { name: 'O' } });
      const seqBefore = await store.latestSubscriptionChange();

      await store.startTenantErasure('acct_e', T + 50);
      const { erasure, batches } = await eraseAll(store, 'acct_e', 3);
      // 7 events x 2 deliveries, plus the platform event's delivery to sub_e2; 2 attempts.
      expect(erasure).toEqual({
        tenant: 'acct_e',
        state: 'done',
        events: 7,
        deliveries: 15,
        attempts: 2,
        startedAt: T + 50,
        finishedAt: T + 100,
      });
      expect(batches).toBeGreaterThan(3);
      expect(await store.getTenantErasure('acct_e')).toEqual(erasure);
      expect(await store.eraseTenantBatch('acct_e', 3, T + 200)).toEqual(erasure);
      expect(await store.erasingTenants()).toEqual([]);

      expect(await store.getTenant('acct_e')).toBeNull();
      expect(await store.getApiSubscription('sub_e1')).toBeNull();
      expect(await store.getApiSubscription('sub_e2')).toBeNull();
      expect(await store.getSubscriptionStates(['sub_e1'])).toEqual([]);
      for (const e of mine) expect(await store.getEvent(e.id)).toBeNull();
      expect(await store.getDelivery(platformOfMine.id)).toBeNull();
      expect(await store.listAttempts(platformOfMine.id)).toEqual([]);
      expect((await store.listDeliveries({ tenant: 'acct_e', limit: 50 })).data).toEqual([]);
      expect((await store.listEvents({ tenant: 'acct_e', limit: 50 })).data).toEqual([]);
      // Other tenants and the platform keep theirs; the platform event keeps its delivery to `plat`.
      expect(await store.getEvent(other.id)).not.toBeNull();
      expect(await store.getApiSubscription('sub_o')).not.toBeNull();
      expect((await store.listDeliveriesOfEvent(platform.id)).map((d) => d.subscriptionId)).toEqual(['plat']);
      expect(await store.listAttempts(platformOfOther.id)).toHaveLength(1);

      // Every live set hears of both subscriptions.
      const changes = await store.subscriptionChangesSince(seqBefore);
      expect([...changes.ids].sort()).toEqual(['sub_e1', 'sub_e2']);
      const audit = (await store.listAudit({ limit: 10 })).data;
      expect(audit.map((a) => [a.id, a.action, a.actor, a.target, a.details])).toEqual([
        ['aud_3', 'tenant.put', 'ops', 'acct_o', { name: 'O' }],
        ['aud_2', 'subscription.create', 'ops', 'sub_e1', {}],
        ['aud_1', 'tenant.put', 'ops', 'acct_e', {}],
      ]);

      // Free again: a new record is a new tenant; a second erasure counts from 0.
      expect(
        await store.putTenant({ id: 'acct_e', name: null, metadata: null, enabled: true, maxSubscriptions: null, ingestRate: null }, T),
      ).toBe('created');
      expect(await store.startTenantErasure('acct_e', T + 300)).toMatchObject({ state: 'erasing', events: 0, startedAt: T + 300 });
    });

    it('writes nothing back for a delivery whose tenant is being erased', async () => {
      const store = getStore();
      await store.insertApiSubscription('sub_f', { url: 'https://f.example' }, T, 'acct_f');
      const event = newEvent({ tenant: 'acct_f', subscriptionIds: [], tenantSubscriptionIds: ['sub_f'] });
      await store.ingest([[event]]);
      const [leased] = await store.claim([claimOf('sub_f', 1)], 'w', T + 1);
      await store.startTenantErasure('acct_f', T + 2);
      expect(await store.complete([result(leased!.id, 'w', { status: 'succeeded' }, { subscriptionId: 'sub_f' })], T + 3)).toEqual([false]);
      expect(await store.listAttempts(leased!.id)).toEqual([]);
      expect(await store.getSubscriptionStates(['sub_f'])).toEqual([]);
      const { erasure } = await eraseAll(store, 'acct_f', 500);
      expect(erasure).toMatchObject({ events: 1, deliveries: 1, attempts: 0 });
      expect(await store.getDelivery(leased!.id)).toBeNull();
    });
  });
}
