import { describe, expect, it } from 'vitest';
import type { NewEvent, OperationalHooks, OperationalOccurrence, Store } from '../../src/store/types';
import { claimOf, newEvent, result, T } from './fixtures';

/*
 * The operational-events part of the Store contract (SPEC 12): each occurrence is decided by a
 * guarded change in the write's own transaction and stored as an event with its deliveries.
 * Runs inside describeStoreContract, on its fresh migrated store.
 */

let counter = 0;

/** Hooks that store every occurrence as an event to subscription `ops`, and remember them. */
export function recordingHooks(opts: Partial<Omit<OperationalHooks, 'eventOf'>> = {}) {
  const occurrences: OperationalOccurrence[] = [];
  const hooks: OperationalHooks = {
    failingAfter: opts.failingAfter ?? 2,
    reportWindowMs: opts.reportWindowMs ?? 60_000,
    eventOf(occurrence): NewEvent {
      occurrences.push(occurrence);
      const id = `evt_op_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
      return { ...newEvent({ id, type: occurrence.type, data: JSON.stringify(occurrence), createdAt: T }), subscriptionIds: ['ops'] };
    },
  };
  return { hooks, occurrences };
}

export function describeOperationalContract(getStore: () => Store): void {
  /** Ingests `n` events of `type` to `a` and leases them all to owner-1; returns the delivery ids. */
  async function leased(n: number, type = 'payment.completed', createdAt = T): Promise<string[]> {
    const store = getStore();
    await store.ingest([Array.from({ length: n }, () => newEvent({ type, createdAt }))]);
    return (await store.claim([claimOf('a', n)], 'owner-1', createdAt + 1)).map((c) => c.id);
  }
  const failure = (id: string, status: 'retrying' | 'failed' = 'retrying') =>
    result(id, 'owner-1', status === 'retrying' ? { status, nextAttemptAt: T + 60_000 } : { status });

  describe('operational events', () => {
    it('emits failing in the write that reaches failingAfter, once, and recovered at the next success', async () => {
      const store = getStore();
      const { hooks, occurrences } = recordingHooks({ failingAfter: 2 });
      const [d1, d2, d3, d4] = await leased(4);
      await store.complete([failure(d1!)], T + 10, hooks);
      expect(occurrences).toEqual([]);
      await store.complete([failure(d2!)], T + 20, hooks);
      expect(occurrences).toEqual([
        { type: 'hookrelay.subscription.failing', subscriptionId: 'a', failureStreak: 2, lastStatus: 500, lastError: 'HTTP 500' },
      ]);
      await store.complete([failure(d3!)], T + 30, hooks);
      expect(occurrences).toHaveLength(1);
      await store.complete([result(d4!, 'owner-1', { status: 'succeeded' })], T + 40, hooks);
      expect(occurrences[1]).toEqual({ type: 'hookrelay.subscription.recovered', subscriptionId: 'a', failedForMs: 30 });
      // The events are stored with their deliveries, like any ingested one.
      const events = (await store.listEvents({ limit: 10, type: 'hookrelay.subscription.failing' })).data;
      expect(events).toHaveLength(1);
      expect((await store.listDeliveriesOfEvent(events[0]!.id)).map((d) => [d.subscriptionId, d.status])).toEqual([['ops', 'pending']]);
    });

    it('lets failed deliveries of hookrelay.* events count for health but emit nothing', async () => {
      const store = getStore();
      const { hooks, occurrences } = recordingHooks({ failingAfter: 1 });
      const [d1, d2] = await leased(2, 'hookrelay.subscription.failing');
      await store.complete([failure(d1!, 'failed'), failure(d2!, 'failed')], T + 10, hooks);
      expect(await store.reportFailedDeliveries(T + 120_000, hooks)).toBe(0);
      expect(occurrences).toEqual([]);
      expect((await store.getSubscriptionStates(['a']))[0]!.failureStreak).toBe(2);
    });

    it('reports deliveries failed for good at once, then holds the next ones until the window passed', async () => {
      const store = getStore();
      const { hooks, occurrences } = recordingHooks({ failingAfter: 100, reportWindowMs: 60_000 });
      const [d1, d2, d3] = await leased(3);
      await store.complete([failure(d1!, 'failed'), failure(d2!, 'failed')], T + 10, hooks);
      expect(occurrences).toHaveLength(1);
      const first = occurrences[0] as Extract<OperationalOccurrence, { type: 'hookrelay.delivery.failed' }>;
      expect(first).toMatchObject({ type: 'hookrelay.delivery.failed', subscriptionId: 'a', count: 2 });
      expect(first.deliveries.map((d) => d.id).sort()).toEqual([d1, d2].sort());
      expect(first.deliveries[0]).toMatchObject({ eventType: 'payment.completed', attempts: 1, lastStatus: 500, lastError: 'HTTP 500' });

      await store.complete([failure(d3!, 'failed')], T + 20, hooks);
      expect(occurrences).toHaveLength(1);
      expect(await store.reportFailedDeliveries(T + 30_000, hooks)).toBe(0);
      expect(await store.reportFailedDeliveries(T + 60_010, hooks)).toBe(1);
      expect(occurrences[1]).toMatchObject({ type: 'hookrelay.delivery.failed', count: 1, deliveries: [{ id: d3 }] });
      expect(await store.reportFailedDeliveries(T + 200_000, hooks)).toBe(0);
    });

    it('emits backlog.delayed once while the oldest waiting delivery is older than the age, again after it caught up', async () => {
      const store = getStore();
      const { hooks, occurrences } = recordingHooks();
      await store.ingest([[newEvent({ createdAt: T }), newEvent({ createdAt: T + 100 })]]);
      expect(await store.checkBacklog(T + 400, 500, hooks)).toBe(0);
      expect(await store.checkBacklog(T + 600, 500, hooks)).toBe(1);
      expect(occurrences).toEqual([{ type: 'hookrelay.backlog.delayed', subscriptionId: 'a', oldestWaitingAgeMs: 600, backlog: 2 }]);
      expect(await store.checkBacklog(T + 700, 500, hooks)).toBe(0);
      for (const c of await store.claim([claimOf('a', 10)], 'owner-1', T + 800)) {
        await store.complete([result(c.id, 'owner-1', { status: 'succeeded' })], T + 800);
      }
      expect(await store.checkBacklog(T + 900, 500, hooks)).toBe(0);
      await store.ingest([[newEvent({ createdAt: T + 1000 })]]);
      expect(await store.checkBacklog(T + 1600, 500, hooks)).toBe(1);
      expect(occurrences).toHaveLength(2);
    });

    it('emits disabled when a subscription becomes disabled, not when it already was, and for a 410 Gone', async () => {
      const store = getStore();
      const { hooks, occurrences } = recordingHooks();
      await store.setSubscriptionEnabled('b', false, 'by hand', T, hooks);
      await store.setSubscriptionEnabled('b', false, 'by hand again', T + 1, hooks);
      expect(occurrences).toEqual([{ type: 'hookrelay.subscription.disabled', subscriptionId: 'b', reason: 'by hand' }]);
      expect((await store.getSubscriptionStates(['b']))[0]).toMatchObject({ enabled: false, disabledReason: 'by hand again' });
      await store.setSubscriptionEnabled('b', null, null, T + 2, hooks);
      await store.setSubscriptionEnabled('b', false, 'once more', T + 3, hooks);
      expect(occurrences).toHaveLength(2);

      const [d] = await leased(1);
      await store.complete([{ ...failure(d!, 'failed'), disableSubscription: 'receiver answered 410 Gone' }], T + 10, hooks);
      expect(occurrences.filter((o) => o.type === 'hookrelay.subscription.disabled').at(-1)).toEqual({
        type: 'hookrelay.subscription.disabled',
        subscriptionId: 'a',
        reason: 'receiver answered 410 Gone',
      });
    });

    it('forgets the queued reports of a subscription deleted with its state', async () => {
      const store = getStore();
      const { hooks, occurrences } = recordingHooks({ failingAfter: 100 });
      expect(await store.insertApiSubscription('a', { id: 'a', url: 'https://a.example/' }, T)).toBe(true);
      const [d1, d2] = await leased(2);
      await store.complete([failure(d1!, 'failed')], T + 10, hooks);
      await store.complete([failure(d2!, 'failed')], T + 20, hooks);
      expect(occurrences).toHaveLength(1);
      expect(await store.deleteApiSubscription('a', T + 30)).toBe(true);
      expect(await store.reportFailedDeliveries(T + 120_000, hooks)).toBe(0);
      expect(await store.getSubscriptionStates(['a'])).toEqual([]);
    });

    it('emits nothing and takes no flag without hooks', async () => {
      const store = getStore();
      const [d1, d2] = await leased(2);
      await store.complete([failure(d1!), failure(d2!)], T + 10);
      const { hooks, occurrences } = recordingHooks({ failingAfter: 2 });
      const [d3] = await leased(1);
      await store.complete([failure(d3!)], T + 20, hooks);
      // A streak that passed the threshold in writes without hooks is announced at the next hooked failure.
      expect(occurrences.map((o) => o.type)).toEqual(['hookrelay.subscription.failing']);
    });
  });
}
