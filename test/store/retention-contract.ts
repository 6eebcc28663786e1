import { beforeEach, describe, expect, it } from 'vitest';
import type { NewEvent, NextState, PruneRequest, Store } from '../../src/store/types';
import { claimOf, newEvent, result, T } from './fixtures';

/*
 * Retention (Store.pruneFinished), part of the shared Store contract. Times: events are created
 * at T + n minutes; the limits are chosen around them.
 */

const MIN = 60_000;

export function describeRetentionContract(getStore: () => Store): void {
  describe('retention: pruneFinished', () => {
    let store: Store;
    beforeEach(() => {
      store = getStore();
    });

    /** Stores an event created `minutes` after T, and finishes its deliveries as `outcomes` say (one per subscription). */
    let made = 0;
    async function eventWith(minutes: number, outcomes: (NextState['status'] | 'waiting' | 'delivering')[]): Promise<NewEvent> {
      // Subscriptions of their own, so claiming one event's delivery never picks another's.
      const prefix = `r${++made}`;
      const subscriptionIds = outcomes.map((_, i) => `${prefix}s${i}`);
      const event = newEvent({ createdAt: T + minutes * MIN, subscriptionIds });
      await store.ingest([[event]]);
      for (const [i, outcome] of outcomes.entries()) {
        if (outcome === 'waiting') continue;
        const now = T + minutes * MIN;
        const [claimed] = await store.claim([claimOf(subscriptionIds[i]!, 1, now + MIN)], 'owner', now);
        expect(claimed?.event.id).toBe(event.id);
        if (outcome === 'delivering') continue;
        const next: NextState =
          outcome === 'retrying' ? { status: 'retrying', nextAttemptAt: now + 10 * MIN } : ({ status: outcome } as NextState);
        expect(await store.complete([result(claimed!.id, 'owner', next, { subscriptionId: subscriptionIds[i]! })], now)).toEqual([true]);
      }
      return event;
    }

    /** A whole sweep, batch by batch, as the pruner runs it; returns events deleted and batches used. */
    async function sweep(req: Omit<PruneRequest, 'after'>): Promise<{ deleted: number; batches: number }> {
      let deleted = 0;
      let batches = 0;
      let after: string | undefined;
      for (;;) {
        const batch = await store.pruneFinished({ ...req, after });
        batches++;
        deleted += batch.deleted;
        if (batch.next === null) return { deleted, batches };
        after = batch.next;
        expect(batches).toBeLessThan(100);
      }
    }

    const exists = async (event: NewEvent) => (await store.getEvent(event.id)) !== null;

    it('deletes finished events past their limit with their deliveries and attempts, and keeps the rest', async () => {
      const succeededOld = await eventWith(0, ['succeeded', 'succeeded']);
      const noDeliveriesOld = await eventWith(1, []);
      const failedOld = await eventWith(2, ['succeeded', 'failed']);
      const cancelledOld = await eventWith(3, ['cancelled']);
      const waitingOld = await eventWith(4, ['succeeded', 'waiting']);
      const retryingOld = await eventWith(5, ['retrying']);
      const deliveringOld = await eventWith(6, ['delivering']);
      const succeededYoung = await eventWith(50, ['succeeded']);
      const succeededDelivery = (await store.listDeliveriesOfEvent(succeededOld.id))[0]!;
      expect(await store.listAttempts(succeededDelivery.id)).toHaveLength(1);

      // succeeded limit at T+20min, failed limit at T+2.5min: the failed event (T+2) goes, the cancelled one (T+3) stays.
      const swept = await sweep({ succeededBefore: T + 20 * MIN, failedBefore: T + 2.5 * MIN, limit: 500 });
      expect(swept.deleted).toBe(3);
      expect(await exists(succeededOld)).toBe(false);
      expect(await exists(noDeliveriesOld)).toBe(false);
      expect(await exists(failedOld)).toBe(false);
      expect(await store.listDeliveriesOfEvent(succeededOld.id)).toEqual([]);
      expect(await store.getDelivery(succeededDelivery.id)).toBeNull();
      expect(await store.listAttempts(succeededDelivery.id)).toEqual([]);
      for (const kept of [cancelledOld, waitingOld, retryingOld, deliveringOld, succeededYoung]) expect(await exists(kept)).toBe(true);
      // What stays still works: the waiting delivery can be claimed and delivered.
      const waitingSubscription = (await store.listDeliveriesOfEvent(waitingOld.id)).find((d) => d.status === 'pending')!.subscriptionId;
      const [claimed] = await store.claim([claimOf(waitingSubscription, 1, T + 100 * MIN)], 'owner', T + 90 * MIN);
      expect(claimed?.event.id).toBe(waitingOld.id);
    });

    it('uses the failed limit for an event with a failed delivery, even when the failed limit is the shorter one', async () => {
      const failed = await eventWith(0, ['failed']);
      const succeeded = await eventWith(0, ['succeeded']);
      expect((await sweep({ succeededBefore: T - MIN, failedBefore: T + MIN, limit: 10 })).deleted).toBe(1);
      expect(await exists(failed)).toBe(false);
      expect(await exists(succeeded)).toBe(true);
    });

    it('sweeps in batches of at most `limit` events, passing over the ones that must stay', async () => {
      const events: NewEvent[] = [];
      for (let i = 0; i < 7; i++) events.push(await eventWith(i, [i % 2 === 0 ? 'succeeded' : 'waiting']));
      const first = await store.pruneFinished({ succeededBefore: T + 60 * MIN, failedBefore: T + 60 * MIN, limit: 3 });
      expect(first.deleted).toBe(2); // events 0 and 2; 1 waits
      expect(first.next).not.toBeNull();
      const rest = await sweep({ succeededBefore: T + 60 * MIN, failedBefore: T + 60 * MIN, limit: 3 });
      expect(rest.deleted).toBe(2); // 4 and 6 (0 and 2 are gone already)
      expect(rest.batches).toBe(2); // 5 events left, 3 per batch
      const left = await Promise.all(events.map(exists));
      expect(left).toEqual([false, true, false, true, false, true, false]);
      // Nothing more to do: a new sweep deletes nothing.
      expect((await sweep({ succeededBefore: T + 60 * MIN, failedBefore: T + 60 * MIN, limit: 3 })).deleted).toBe(0);
    });

    it('does not skip events that share a creation time when a batch ends among them', async () => {
      const same: NewEvent[] = [];
      for (let i = 0; i < 5; i++) same.push(await eventWith(3, ['succeeded']));
      const swept = await sweep({ succeededBefore: T + 10 * MIN, failedBefore: T + 10 * MIN, limit: 2 });
      expect(swept.deleted).toBe(5);
      expect(await Promise.all(same.map(exists))).toEqual([false, false, false, false, false]);
    });

    it('deletes nothing younger than both limits, and answers a sweep of an empty store', async () => {
      expect(await store.pruneFinished({ succeededBefore: T, failedBefore: T, limit: 10 })).toEqual({ deleted: 0, next: null });
      const young = await eventWith(10, ['succeeded']);
      expect((await sweep({ succeededBefore: T + 10 * MIN, failedBefore: T + 10 * MIN, limit: 10 })).deleted).toBe(0);
      expect(await exists(young)).toBe(true);
    });

    it('lets an id be used again once its event is gone (idempotency lasts as long as retention)', async () => {
      const event = await eventWith(0, ['succeeded']);
      await sweep({ succeededBefore: T + MIN, failedBefore: T + MIN, limit: 10 });
      const [again] = await store.ingest([[{ ...event, createdAt: T + 2 * MIN }]]);
      expect(again).toEqual({ kind: 'ok', events: [{ id: event.id, deliveries: 1, created: true }] });
    });
  });
}
